"""Naming a case's media items on the command line and in the API: by SHA-256, or by a path
as the exports write it, qualified by its evidence item (`evidence:path`, as the review queue
shows it)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.core.errors import NotFoundError, UsageError
from cairn.store.case_media import case_media
from cairn.store.models import Case, Evidence, Occurrence

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def resolve_items(session: Session, case: Case, items: Iterable[str]) -> list[str]:
    """The SHA-256 of each item, in the order given, duplicates dropped. An item the case
    does not hold is NotFoundError (a SHA-256 of another case's media is as missing as any)."""
    found: list[str] = []
    for item in items:
        sha = _resolve(session, case, item)
        if sha not in found:
            found.append(sha)
    if not found:
        raise UsageError("name at least one item (a SHA-256 or evidence:path)")
    return found


def _resolve(session: Session, case: Case, item: str) -> str:
    if _SHA256.fullmatch(item):
        sha = item.lower()
        held = session.scalar(case_media(case.id).where(Occurrence.media_sha256 == sha).limit(1))
        if held is None:
            raise NotFoundError(f"no item {sha} in case {case.ref!r}")
        return sha
    # Evidence labels may hold ':' themselves: try every split, the shortest label first.
    for at in (i for i, char in enumerate(item) if char == ":"):
        label, path = item[:at], item[at + 1 :]
        found: str | None = session.scalar(
            select(Occurrence.media_sha256)
            .join(Evidence, Evidence.id == Occurrence.evidence_id)
            .where(
                Evidence.case_id == case.id,
                Evidence.label == label,
                Occurrence.path == path.encode("utf-8", "surrogateescape"),
                Occurrence.media_sha256.is_not(None),
            )
            .limit(1)
        )
        if found is not None:
            return found
    raise NotFoundError(f"no item {item!r} in case {case.ref!r} (give a SHA-256 or evidence:path)")
