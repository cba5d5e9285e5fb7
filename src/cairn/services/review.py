"""Protection by default for the people who look at the material.

- Thumbnails leave the server blurred and in greyscale (`protected_image`); the clear picture
  is sent only for one item at a time, when its reviewer asks (`reveal`), and every reveal is
  in the reviewer's exposure log and the audit trail.
- An item another reviewer flagged as violent is not revealed without an explicit opt-in for
  that item (`ViolentGate`).
- The exposure log (items revealed, seconds looked at, violent items) is the reviewer's own;
  past `break_after_seconds` of exposure since their last break, the workspace asks them to
  take one (`exposure_summary`).

Only roles allowed "thumbnail.read" receive any image, protected or not. Items are addressed
within a case: an item the case does not hold is not found, like a case of another agency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.core.errors import CairnError, NotFoundError
from cairn.media.thumbnail import protected
from cairn.media.video_strip import video_strip
from cairn.services import media
from cairn.services.access import case_for, is_row_id, require
from cairn.services.context import Context
from cairn.services.identity import Principal
from cairn.store import audit
from cairn.store.models import Case, Evidence, Occurrence
from cairn.store.review_models import Exposure, ReviewFlag
from cairn.store.video_models import Video

VIOLENT = "violent"
REVEAL = "reveal"
BREAK = "break"
MAX_EXPOSURE_SECONDS = 600.0  # one reveal counts at most this long (a tab left open)
EXPOSURE_WINDOW = timedelta(hours=24)  # the log a reviewer sees


class ViolentGate(CairnError):
    """The item was flagged violent by another reviewer: reveal it only with an opt-in."""


@dataclass(frozen=True)
class Revealed:
    jpeg: bytes
    exposure_id: int


@dataclass(frozen=True)
class Reveal:
    at: str  # ISO 8601, UTC
    case_ref: str
    sha256: str
    seconds: float | None  # None while the item is still shown
    violent: bool


@dataclass(frozen=True)
class ExposureSummary:
    items: int  # reveals in the last 24 hours
    seconds: float
    violent: int  # of them, items flagged violent
    since_break_seconds: float
    since_break_items: int
    take_break: bool
    break_after_seconds: float
    recent: tuple[Reveal, ...] = ()  # the last reveals, newest first (the log page)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite returns naive UTC


def case_item(session: Session, principal: Principal | None, ref: str, sha256: str) -> Case:
    """The case, if the principal may see it and it holds the item; else NotFoundError."""
    case = case_for(session, principal, ref)
    held = session.scalar(
        select(Occurrence.id)
        .join(Evidence, Evidence.id == Occurrence.evidence_id)
        .where(Evidence.case_id == case.id, Occurrence.media_sha256 == sha256.lower())
        .limit(1)
    )
    if held is None:
        raise NotFoundError("no such item in this case")
    return case


def _picture(ctx: Context, principal: Principal, sha256: str, action: str) -> bytes:
    """The item's thumbnail; a video's as a strip of three frames of its contact sheet."""
    jpeg = media.thumbnail_jpeg(ctx, principal, sha256, action)
    with ctx.db.session() as session:
        times = session.scalar(select(Video.sheet_times).where(Video.sha256 == sha256))
    return video_strip(jpeg, len(times)) if times else jpeg


def protected_image(ctx: Context, principal: Principal, ref: str, sha256: str) -> bytes:
    """The item's thumbnail blurred and in greyscale: what the queue shows."""
    require(principal, "thumbnail.read")
    with ctx.db.session() as session:
        case_item(session, principal, ref, sha256)
    return protected(_picture(ctx, principal, sha256.lower(), "thumbnail.protected"))


def flagged_violent(session: Session, case_id: int, shas: list[str], user_id: int) -> set[str]:
    """The items of `shas` that someone other than `user_id` flagged violent in the case."""
    if not shas:
        return set()
    return set(
        session.scalars(
            select(ReviewFlag.sha256).where(
                ReviewFlag.case_id == case_id,
                ReviewFlag.sha256.in_(shas),
                ReviewFlag.flag == VIOLENT,
                ReviewFlag.user_id != user_id,
            )
        )
    )


def reveal(
    ctx: Context, principal: Principal, ref: str, sha256: str, *, violent_ok: bool = False
) -> Revealed:
    """The clear thumbnail of one item, logged as an exposure of its reviewer; ViolentGate
    when another reviewer flagged it violent and `violent_ok` was not given."""
    require(principal, "thumbnail.read")
    sha256 = sha256.lower()
    with ctx.db.session() as session:
        case = case_item(session, principal, ref, sha256)
        case_id, case_ref = case.id, case.ref
        violent = bool(flagged_violent(session, case_id, [sha256], principal.user_id))
    if violent and not violent_ok:
        raise ViolentGate("another reviewer flagged this item as violent")
    jpeg = _picture(ctx, principal, sha256, "thumbnail.reveal")
    with ctx.db.session() as session:
        row = Exposure(
            user_id=principal.user_id,
            kind=REVEAL,
            case_id=case_id,
            sha256=sha256,
            at=_now(),
            violent=violent,
        )
        session.add(row)
        session.flush()
        exposure_id = row.id
        if violent:
            audit.record(session, ctx.actor, "review.violent-opt-in", case_ref, sha256=sha256)
        session.commit()
    return Revealed(jpeg, exposure_id)


def conceal(ctx: Context, principal: Principal, exposure_id: int) -> float:
    """End a reveal of the principal's: its seconds are counted by the server's clock."""
    if not is_row_id(exposure_id):
        raise NotFoundError("no such reveal")
    with ctx.db.session() as session:
        row = session.scalar(
            select(Exposure).where(
                Exposure.id == exposure_id,
                Exposure.user_id == principal.user_id,
                Exposure.kind == REVEAL,
            )
        )
        if row is None:
            raise NotFoundError("no such reveal")
        if not row.ended:
            seconds = (_now() - _aware(row.at)).total_seconds()
            row.seconds = min(MAX_EXPOSURE_SECONDS, max(0.0, seconds))
            row.ended = True
            session.commit()
        return row.seconds


def flag_violent(ctx: Context, principal: Principal, ref: str, sha256: str) -> bool:
    """Flag the item violent for the other reviewers of the case; False if already flagged
    by this reviewer."""
    require(principal, "thumbnail.read")
    sha256 = sha256.lower()
    with ctx.db.session() as session:
        case = case_item(session, principal, ref, sha256)
        already = session.scalar(
            select(ReviewFlag.id).where(
                ReviewFlag.case_id == case.id,
                ReviewFlag.sha256 == sha256,
                ReviewFlag.flag == VIOLENT,
                ReviewFlag.user_id == principal.user_id,
            )
        )
        if already is not None:
            return False
        session.add(
            ReviewFlag(
                case_id=case.id, sha256=sha256, flag=VIOLENT, user_id=principal.user_id, at=_now()
            )
        )
        audit.record(session, ctx.actor, "review.flag", case.ref, sha256=sha256, flag=VIOLENT)
        session.commit()
        return True


def take_break(ctx: Context, principal: Principal) -> None:
    with ctx.db.session() as session:
        session.add(Exposure(user_id=principal.user_id, kind=BREAK, at=_now()))
        session.commit()


def exposure_summary(
    ctx: Context, principal: Principal, break_after_seconds: float, recent: int = 0
) -> ExposureSummary:
    """The reviewer's exposure in the last 24 hours and since their last break, with the
    `recent` last reveals."""
    since = _now() - EXPOSURE_WINDOW
    with ctx.db.session() as session:
        last = (
            []
            if not recent
            else session.execute(
                select(Exposure.at, Case.ref, Exposure.sha256, Exposure.seconds, Exposure.ended)
                .add_columns(Exposure.violent)
                .join(Case, Case.id == Exposure.case_id)
                .where(Exposure.user_id == principal.user_id, Exposure.kind == REVEAL)
                .order_by(Exposure.at.desc(), Exposure.id.desc())
                .limit(recent)
            ).all()
        )
        rows = session.execute(
            select(Exposure.kind, Exposure.at, Exposure.seconds, Exposure.ended, Exposure.violent)
            .where(Exposure.user_id == principal.user_id, Exposure.at >= since)
            .order_by(Exposure.at, Exposure.id)
        ).all()
    now = _now()
    items = seconds = violent = 0.0
    since_items = since_seconds = 0.0
    for kind, at, spent, ended, was_violent in rows:
        if kind == BREAK:
            since_items = since_seconds = 0.0
            continue
        # A reveal still open counts until now (up to the cap): the prompt must not wait.
        spent = spent if ended else min(MAX_EXPOSURE_SECONDS, (now - _aware(at)).total_seconds())
        items += 1
        seconds += spent
        violent += bool(was_violent)
        since_items += 1
        since_seconds += spent
    return ExposureSummary(
        int(items),
        seconds,
        int(violent),
        since_seconds,
        int(since_items),
        since_items > 0 and since_seconds >= break_after_seconds,
        break_after_seconds,
        tuple(
            Reveal(_aware(at).isoformat(), ref, sha or "", spent if ended else None, violent)
            for at, ref, sha, spent, ended, violent in last
        ),
    )
