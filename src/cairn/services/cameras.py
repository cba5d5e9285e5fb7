"""Cameras of a case: fingerprint one from images known to come from it, test the case's
images against the fingerprints (PCE), and record the matches as `prnu` links. Results are
leads, not verdicts (docs/camera.md)."""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.camera.compact import pack, unpack
from cairn.camera.fingerprint import FingerprintBuilder, TooFewImages
from cairn.camera.pce import THRESHOLD, FingerprintMatcher, NoTransform
from cairn.camera.residual import Untestable, read_plane
from cairn.core.errors import NotFoundError, UsageError
from cairn.evidence.analysis import open_readonly
from cairn.services.access import case_for, require
from cairn.services.camera_media import Unreadable, read_item, residuals
from cairn.services.context import Context
from cairn.store import audit
from cairn.store.camera_models import Camera, CameraReference, CameraTest
from cairn.store.case_media import case_media
from cairn.store.models import Case, Media, Occurrence

if TYPE_CHECKING:
    from cairn.services.identity import Principal

_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_REFERENCES = 500  # a fingerprint gains little past 50; this bounds a folder's work


@dataclass(frozen=True)
class LeftOut:
    source: str
    reason: str


@dataclass(frozen=True)
class CameraInfo:
    name: str
    width: int
    height: int
    references: int
    left_out: list[LeftOut]
    groups: int  # groups of related references found; more than one: mixed cameras
    created_at: str
    created_by: str


@dataclass(frozen=True)
class CameraMatch:
    """One image tested against one camera (the `cairn camera match --json` row)."""

    sha256: str
    camera: str
    pce: float
    transform: str
    matched: bool


@dataclass(frozen=True)
class Untested:
    sha256: str
    camera: str
    reason: str


@dataclass(frozen=True)
class MatchReport:
    matches: list[CameraMatch]  # per camera by name, highest PCE first
    untested: list[Untested]
    threshold: float = THRESHOLD


@dataclass
class _Reference:
    sha256: str
    source: str
    load: Callable[[], bytes]
    size: tuple[int, int] | None = field(default=None)


def fingerprint_camera(
    ctx: Context,
    principal: Principal | None,
    case_ref: str,
    name: str,
    *,
    items: Sequence[str] = (),
    folder: Path | None = None,
) -> CameraInfo:
    """Fingerprint a camera from items of the case (SHA-256 or path) or from the images of a
    folder (read-only, ingested or not). Refused (UsageError) below MIN_IMAGES usable,
    consistent references."""
    require(principal, "camera.write")
    with ctx.db.session() as session:
        case = case_for(session, principal, case_ref)  # first: another agency's case is a 404
        if bool(items) == (folder is not None):
            raise UsageError("give the reference images as ITEMs or as --folder (one of the two)")
        name = name.strip()
        if not name:
            raise UsageError("a camera needs a name")
        if session.scalar(select(Camera.id).where(Camera.case_id == case.id, Camera.name == name)):
            raise UsageError(f"case {case.ref} already has a camera named {name!r}")
        references = _item_references(session, case, items) if items else _folder_references(folder)
        left_out: list[LeftOut] = []
        added: set[str] = set()
        shape = _frame(references, left_out)
        builder: FingerprintBuilder[str] = FingerprintBuilder(shape)
        by_sha = {ref.sha256: ref for ref in references}
        for ref in references:
            if ref.sha256 in added or ref.size != shape:
                continue  # a copy of a reference, or left out for its size or header
            try:
                plane = read_plane(ref.load())
            except Untestable as exc:
                left_out.append(LeftOut(ref.source, str(exc)))
                continue
            except Exception as exc:
                left_out.append(LeftOut(ref.source, f"not decodable: {exc}"))
                continue
            builder.add(ref.sha256, plane)
            added.add(ref.sha256)
        try:
            result = builder.finish(lambda sha: read_plane(by_sha[sha].load()))
        except TooFewImages as exc:
            detail = "; ".join(f"{out.source}: {out.reason}" for out in left_out[:10])
            suffix = f" ({detail})" if detail else ""
            raise UsageError(f"camera {name!r} refused: {exc}{suffix}") from None
        left_out += [
            LeftOut(by_sha[sha].source, "not tied to the other references (another camera?)")
            for sha in result.inconsistent
        ]
        now = datetime.now(UTC)
        camera = Camera(
            case_id=case.id,
            name=name,
            width=shape[1],
            height=shape[0],
            fingerprint=pack(result.values),
            details={
                "references": len(result.used),
                "groups": result.groups,
                "left_out": [{"source": out.source, "reason": out.reason} for out in left_out],
            },
            created_at=now,
            created_by=ctx.actor.user,
        )
        session.add(camera)
        session.flush()
        session.add_all(
            CameraReference(camera_id=camera.id, sha256=sha, source=by_sha[sha].source)
            for sha in result.used
        )
        audit.record(
            session,
            ctx.actor,
            "camera.fingerprint",
            case.ref,
            camera=name,
            references=len(result.used),
            left_out=len(left_out),
            groups=result.groups,
        )
        session.commit()
        return _info(camera)


def _item_references(session: Session, case: Case, items: Sequence[str]) -> list[_Reference]:
    found: list[_Reference] = []
    for item in items:
        sha = _resolve_item(session, case, item)

        def load(sha: str = sha) -> bytes:
            try:
                return read_item(session, case.id, sha)[1]
            except Unreadable as exc:
                raise Untestable(str(exc)) from None

        found.append(_Reference(sha, item, load))
    return found


def _resolve_item(session: Session, case: Case, item: str) -> str:
    """An ITEM is an item's SHA-256 or its path as the CSV export writes it."""
    in_case = Media.sha256.in_(case_media(case.id))
    if _SHA256.fullmatch(item.lower()):
        sha = session.scalar(select(Media.sha256).where(Media.sha256 == item.lower(), in_case))
    else:
        shas = set(
            session.scalars(
                select(Occurrence.media_sha256).where(
                    Occurrence.path == item.encode(),
                    Occurrence.media_sha256.in_(case_media(case.id)),
                )
            )
        )
        if len(shas) > 1:
            raise UsageError(f"{item!r} names {len(shas)} different items: give the SHA-256")
        sha = shas.pop() if shas else None
    if sha is None:
        raise NotFoundError(f"no item {item!r} in case {case.ref}")
    return sha


def _folder_references(folder: Path | None) -> list[_Reference]:
    """Every regular file beneath the folder, in path order, read-only (not ingested)."""
    assert folder is not None
    root = folder.expanduser().resolve()
    if not root.is_dir():
        raise UsageError(f"{folder} is not a folder")
    found: list[_Reference] = []
    for path in _files(root):
        relative = path.relative_to(root)

        def load(path: Path = path) -> bytes:
            fd = open_readonly(os.fsencode(path))
            with os.fdopen(fd, "rb") as handle:
                return handle.read()

        try:
            data = load()
        except OSError as exc:
            found.append(_Reference("-", str(relative), _failing(exc)))
            continue
        found.append(_Reference(hashlib.sha256(data).hexdigest(), str(relative), load))
        if len(found) >= MAX_REFERENCES:
            break
    return found


def _failing(exc: OSError) -> Callable[[], bytes]:
    def load() -> bytes:
        raise Untestable(f"not readable: {exc.strerror or exc}")

    return load


def _files(root: Path) -> Iterator[Path]:
    for folder, subfolders, names in os.walk(root, followlinks=False):
        subfolders.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _frame(references: list[_Reference], left_out: list[LeftOut]) -> tuple[int, int]:
    """The sensor frame (height, width): the most common size among the readable references
    (ties: the first seen); references of another size are left out."""
    from PIL import Image, UnidentifiedImageError

    sizes: Counter[tuple[int, int]] = Counter()
    for ref in references:
        try:
            with Image.open(io.BytesIO(ref.load())) as img:
                ref.size = (img.height, img.width)
        except (Untestable, UnidentifiedImageError, OSError) as exc:
            left_out.append(LeftOut(ref.source, str(exc) or "not an image"))
            continue
        sizes[ref.size] += 1
    if not sizes:
        raise UsageError(f"no readable image among {len(references)} references")
    shape = sizes.most_common(1)[0][0]
    for ref in references:
        if ref.size is not None and ref.size != shape:
            height, width = ref.size
            left_out.append(
                LeftOut(ref.source, f"{width}x{height} is not the set's {shape[1]}x{shape[0]}")
            )
    return shape


def _info(camera: Camera) -> CameraInfo:
    details = camera.details
    return CameraInfo(
        camera.name,
        camera.width,
        camera.height,
        int(details.get("references", 0)),
        [LeftOut(out["source"], out["reason"]) for out in details.get("left_out", [])],
        int(details.get("groups", 1)),
        camera.created_at.isoformat(),
        camera.created_by,
    )


def list_cameras(ctx: Context, principal: Principal | None, case_ref: str) -> list[CameraInfo]:
    require(principal, "camera.read")
    with ctx.db.session() as session:
        case = case_for(session, principal, case_ref)
        cameras = session.scalars(
            select(Camera).where(Camera.case_id == case.id).order_by(Camera.name)
        ).all()
        audit.record(session, ctx.actor, "camera.list", case.ref, cameras=len(cameras))
        session.commit()
        return [_info(camera) for camera in cameras]


def camera_matches(
    ctx: Context, principal: Principal | None, case_ref: str, camera: str | None = None
) -> MatchReport:
    """The tests already run, without running any (for readers who may not run them)."""
    require(principal, "camera.read")
    with ctx.db.session() as session:
        case = case_for(session, principal, case_ref)
        cameras, images = _cameras_and_images(session, case, camera)
        report = _report(session, cameras, images)
        audit.record(session, ctx.actor, "camera.read", case.ref, tests=len(report.matches))
        session.commit()
        return report


def _cameras_and_images(
    session: Session, case: Case, camera: str | None
) -> tuple[Sequence[Camera], list[str]]:
    query = select(Camera).where(Camera.case_id == case.id).order_by(Camera.name)
    if camera is not None:
        query = query.where(Camera.name == camera)
    cameras = session.scalars(query).all()
    if camera is not None and not cameras:
        raise NotFoundError(f"no camera {camera!r} in case {case.ref}")
    images = sorted(
        session.scalars(
            select(Media.sha256).where(
                Media.sha256.in_(case_media(case.id)), Media.mime.like("image/%")
            )
        )
    )
    return cameras, images


def match_cameras(
    ctx: Context, principal: Principal | None, case_ref: str, camera: str | None = None
) -> MatchReport:
    """Test every image of the case against each camera (or the one named), computing the
    residuals not stored yet and the tests not run yet; record `prnu` links for matches."""
    require(principal, "camera.match")
    with ctx.db.session() as session:
        case = case_for(session, principal, case_ref)
        cameras, images = _cameras_and_images(session, case, camera)
        for cam in cameras:
            _test(session, case.id, cam, images)
        report = _report(session, cameras, images)
        links = _record_links(session, ctx, cameras, report)
        audit.record(
            session,
            ctx.actor,
            "camera.match",
            case.ref,
            cameras=[cam.name for cam in cameras],
            tested=len(report.matches),
            matched=sum(m.matched for m in report.matches),
            untested=len(report.untested),
            links=links,
        )
        session.commit()
        return report


def _test(session: Session, case_id: int, camera: Camera, images: list[str]) -> None:
    done = set(
        session.scalars(select(CameraTest.media_sha256).where(CameraTest.camera_id == camera.id))
    )
    references = _references(session, camera)
    todo = [sha for sha in images if sha not in done and sha not in references]
    if not todo:
        return
    matcher = FingerprintMatcher(unpack(camera.fingerprint))
    stored = residuals(session, case_id, todo)
    rows: list[dict[str, Any]] = []
    for sha in todo:
        residual = stored[sha]
        row: dict[str, Any] = {"camera_id": camera.id, "media_sha256": sha}
        if residual.data is None:
            rows.append(row | {"pce": None, "transform": None, "reason": residual.reason})
            continue
        try:
            result = matcher.test(unpack(residual.data))
        except NoTransform as exc:
            rows.append(row | {"pce": None, "transform": None, "reason": str(exc)})
            continue
        except ValueError as exc:  # a damaged stored residual
            rows.append(row | {"pce": None, "transform": None, "reason": f"residual: {exc}"})
            continue
        rows.append(row | {"pce": result.pce, "transform": str(result.transform), "reason": None})
    session.execute(CameraTest.__table__.insert(), rows)  # type: ignore[attr-defined]


def _references(session: Session, camera: Camera) -> set[str]:
    return set(
        session.scalars(
            select(CameraReference.sha256).where(CameraReference.camera_id == camera.id)
        )
    )


def _report(session: Session, cameras: Sequence[Camera], images: list[str]) -> MatchReport:
    matches: list[CameraMatch] = []
    untested: list[Untested] = []
    wanted = set(images)
    for camera in cameras:
        rows = session.execute(
            select(CameraTest.media_sha256, CameraTest.pce, CameraTest.transform, CameraTest.reason)
            .where(CameraTest.camera_id == camera.id)
            .order_by(CameraTest.media_sha256)
        ).all()
        tested = []
        for sha, pce, transform, reason in rows:
            if sha not in wanted:
                continue
            if pce is None:
                untested.append(Untested(sha, camera.name, reason or "not tested"))
            else:
                tested.append(CameraMatch(sha, camera.name, pce, transform or "", pce > THRESHOLD))
        matches += sorted(tested, key=lambda m: (-m.pce, m.sha256))
    return MatchReport(matches, untested)


def _record_links(
    session: Session, ctx: Context, cameras: Sequence[Camera], report: MatchReport
) -> int:
    """`prnu` links: each image matched to a camera is linked to the camera's anchor — its
    first reference found among the workspace's media, else its best-matching image."""
    from cairn.services.links import Link, record_links

    links: list[Link] = []
    for camera in cameras:
        matched = [m for m in report.matches if m.camera == camera.name and m.matched]
        ingested = sorted(
            session.scalars(
                select(Media.sha256).where(Media.sha256.in_(_references(session, camera)))
            )
        )
        if not matched or (not ingested and len(matched) < 2):
            continue
        anchor = ingested[0] if ingested else matched[0].sha256
        links += [
            Link(
                m.sha256,
                anchor,
                "prnu",
                m.pce / (m.pce + THRESHOLD),
                details={"camera": camera.name, "pce": round(m.pce, 1), "transform": m.transform},
            )
            for m in matched
            if m.sha256 != anchor
        ]
    if not links:
        return 0
    return record_links(session.connection(), session.get_bind(), links, by=ctx.actor.user)  # type: ignore[arg-type]
