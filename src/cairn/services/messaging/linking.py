"""Linking WhatsApp media to the rest of the case, by SHA-256: the files ingested from any
phone of the case, hash-set entries and matches, thumbnails, type and size. A message's item
is linked also when its file is gone from every phone.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, func, select

from cairn.core.hash_kinds import SHA256
from cairn.messaging.analysis import CameraCopy
from cairn.services.context import Context
from cairn.services.messaging.sql import chunks
from cairn.store.messaging_models import MsgMessage, MsgThumbnail
from cairn.store.models import Evidence, HashSet, KnownHash, Match, Media, Occurrence
from cairn.store.models import Thumbnail as ReviewThumbnail


def known_hash_sets(ctx: Context, connection: Connection, shas: list[str]) -> dict[str, list[str]]:
    """Hash-set entries per item from active sets: exact SHA-256 entries, found even when the
    file is gone, and the matches of ingested copies (MD5, SHA-1, PDQ)."""
    import numpy as np

    from cairn.matching.known import KnownIndexes
    from cairn.services.hashsets import materialize_known_files

    if not shas:
        return {}
    found: dict[str, set[str]] = defaultdict(set)

    def describe(name: str, kind: str, scheme: str | None, code: str | None, how: str) -> str:
        category = f", {scheme}:{code or ''}" if scheme else ""
        return f"{name} ({kind}{category}; {how})"

    queries = np.frombuffer(b"".join(bytes.fromhex(s) for s in shas), np.uint8)
    queries = queries.reshape(-1, SHA256.key_bytes)
    rows, known_ids = KnownIndexes(ctx.workspace.root / "indexes").lookup("sha256", queries)
    by_known: dict[int, list[str]] = defaultdict(list)
    for row, known_id in zip(rows.tolist(), known_ids.tolist(), strict=True):
        by_known[int(known_id)].append(shas[row])
    # Known-file (NSRL) entries get their row on first sight, as when matching.
    materialize_known_files(connection, ctx.workspace.root / "indexes", sorted(by_known))
    for ids in chunks(sorted(by_known)):
        for known_id, name, kind, scheme, code in connection.execute(
            select(
                KnownHash.id,
                HashSet.name,
                HashSet.kind,
                KnownHash.category_scheme,
                KnownHash.category_code,
            )
            .join(HashSet, HashSet.id == KnownHash.hashset_id)
            .where(KnownHash.id.in_(ids), HashSet.removed_at.is_(None))
        ):
            for sha in by_known[known_id]:
                found[sha].add(describe(name, kind, scheme, code, "sha256"))
    for chunk in chunks(shas):
        for sha, name, kind, scheme, code, method, distance in connection.execute(
            select(
                Match.media_sha256,
                HashSet.name,
                HashSet.kind,
                KnownHash.category_scheme,
                KnownHash.category_code,
                Match.method,
                Match.distance,
            )
            .join(HashSet, HashSet.id == Match.hashset_id)
            .join(KnownHash, KnownHash.id == Match.known_hash_id)
            .where(
                Match.media_sha256.in_(chunk), Match.band == "match", HashSet.removed_at.is_(None)
            )
        ):
            how = f"pdq distance {distance}" if method == "pdq" else method
            found[sha].add(describe(name, kind, scheme, code, how))
    return {sha: sorted(names) for sha, names in found.items()}


def ingested_copies(
    connection: Connection, case_id: int, shas: list[str]
) -> tuple[dict[str, list[CameraCopy]], dict[str, list[str]]]:
    """Ingested copies of the items on the case's phones, and those carrying camera EXIF."""
    cameras: dict[str, list[CameraCopy]] = defaultdict(list)
    files: dict[str, list[str]] = defaultdict(list)
    for chunk in chunks(shas):
        for sha, label, path, make, model in connection.execute(
            select(
                Occurrence.media_sha256,
                Evidence.label,
                Occurrence.path,
                Media.exif_make,
                Media.exif_model,
            )
            .join(Evidence, Evidence.id == Occurrence.evidence_id)
            .join(Media, Media.sha256 == Occurrence.media_sha256)
            .where(Evidence.case_id == case_id, Occurrence.media_sha256.in_(chunk))
            .order_by(Evidence.label, Occurrence.path)
        ):
            assert sha is not None  # selected by it
            shown = path.decode("utf-8", "backslashreplace")
            files[sha].append(f"{label}:{shown}")
            if make or model:
                cameras[sha].append(CameraCopy(label, shown, make, model))
    return cameras, files


def thumbnailed(connection: Connection, shas: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(shas):
        for table in (MsgThumbnail, ReviewThumbnail):
            found.update(connection.scalars(select(table.sha256).where(table.sha256.in_(chunk))))
    return found


def media_facts(
    connection: Connection, shas: list[str]
) -> dict[str, tuple[str | None, int | None]]:
    """MIME type and size per item: of the ingested file, else as the messages state them."""
    facts: dict[str, tuple[str | None, int | None]] = {}
    for chunk in chunks(shas):
        for sha, mime, size in connection.execute(
            select(
                MsgMessage.media_sha256,
                func.max(MsgMessage.media_mime),
                func.max(MsgMessage.media_size),
            )
            .where(MsgMessage.media_sha256.in_(chunk))
            .group_by(MsgMessage.media_sha256)
        ):
            assert sha is not None  # selected by it
            facts[sha] = (mime, size)
        for sha, mime, size in connection.execute(
            select(Media.sha256, Media.mime, Media.size).where(Media.sha256.in_(chunk))
        ):
            facts[sha] = (mime or facts.get(sha, (None, None))[0], size)
    return facts
