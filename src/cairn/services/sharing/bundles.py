"""Signed hash-set bundles between instances: export (whole, or a delta since a version) and
import of every share file kind, verified against the trusted keys (docs/federation.md).

A bundle carries hashes and labels only: digests, PDQ, category, series names, identified
flags and provenance. Its entries have no field for a path or a file name, and a label that
looks like a path, names a case of this workspace or is too long to be a label refuses the
export: a set whose labels carry such things must be cleaned before it leaves.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from cairn.core.errors import UsageError
from cairn.core.hash_kinds import KNOWN_HASH_NAMES
from cairn.core.types import Category
from cairn.hashsets.base import BadRecord, KnownHashRecord, hex_hash
from cairn.hashsets.share_file import ShareFile, ShareFileError, ShareWriter, open_share_file
from cairn.services.context import Context
from cairn.services.hashsets import KINDS, ImportSummary, add_records, file_sha256, get_hashset
from cairn.services.sharing.trust import instance_key, trusted_signer
from cairn.store import audit
from cairn.store.models import Case, HashSet, KnownHash
from cairn.store.share_models import ShareExport, ShareImport

# What an entry may carry, and nothing else (an importer refuses any other field).
ENTRY_FIELDS = (
    *KNOWN_HASH_NAMES,
    "category",
    "series",
    "victim_identified",
    "offender_identified",
    "first_seen",
    "submissions",
)
BUNDLE_FORMAT = "share-bundle"
MAX_LABEL = 200
MAX_LINE = 4096  # an entry with every field is under 600 bytes
_PATH_LIKE = re.compile(r"[/\\]|^[A-Za-z]:|^~|[\x00-\x1f\x7f]")
_UID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class ExportSummary:
    name: str
    kind: str  # hashset, filter
    set_uid: str
    version: int
    since: int | None
    entries: int
    file: str
    stated_fpr: float | None = None  # a filter's, per digest looked up


@dataclass(frozen=True)
class ShareImportSummary:
    name: str  # the hash set it became
    kind: str
    owner: str  # the trusted name of the signer
    set_uid: str
    version: int
    since: int | None
    entries: int


def _check_label(value: str, case_refs: set[str], what: str) -> None:
    if len(value) > MAX_LABEL or _PATH_LIKE.search(value) or value in case_refs:
        raise UsageError(
            f"{what} {value[:40]!r} looks like a path, a case name or data, not a label: "
            "refusing to export (clean the set's labels first)"
        )


def _entry(row: KnownHash, imported_at: datetime, case_refs: set[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {k: getattr(row, k) for k in KNOWN_HASH_NAMES if getattr(row, k)}
    if row.category_scheme:
        entry["category"] = f"{row.category_scheme}:{row.category_code or ''}"
    series = [s for s in (row.series or "").split(",") if s]
    for name in series:
        _check_label(name, case_refs, "series name")
    if series:
        entry["series"] = series
    for flag in ("victim_identified", "offender_identified"):
        if getattr(row, flag) is not None:
            entry[flag] = getattr(row, flag)
    carried = dict((row.details or {}).get("extra") or {})  # provenance a partner gave
    if imported_at.tzinfo is None:  # SQLite returns naive UTC
        imported_at = imported_at.replace(tzinfo=UTC)
    entry["first_seen"] = carried.get("first_seen") or imported_at.isoformat()
    # ICSE files count submissions under their own name.
    submissions = str(carried.get("submissions") or carried.get("Number of submissions") or "")
    entry["submissions"] = int(submissions) if submissions.isdigit() and int(submissions) else 1
    return entry


def next_version(session: Session, hashset_id: int) -> tuple[str, int]:
    """The set's share uid (made at its first export) and the next version."""
    last = session.execute(
        select(ShareExport.set_uid, ShareExport.version)
        .where(ShareExport.hashset_id == hashset_id)
        .order_by(ShareExport.version.desc())
        .limit(1)
    ).first()
    return (uuid.uuid4().hex, 1) if last is None else (last[0], last[1] + 1)


def _since_watermark(session: Session, set_uid: str, since: int | None) -> int:
    if since is None:
        return 0
    base = session.scalar(
        select(ShareExport.last_known_id).where(
            ShareExport.set_uid == set_uid, ShareExport.version == since
        )
    )
    if base is None:
        raise UsageError(f"--since {since}: this set was never exported at version {since}")
    return int(base)


def exportable_set(session: Session, name: str) -> HashSet:
    hashset = get_hashset(session, name)
    if hashset.owner is not None:
        raise UsageError(f"{name!r} came from {hashset.owner}: only its owner shares it")
    if hashset.format in ("nsrl", "filter"):
        raise UsageError(f"{name!r} is a {hashset.format} set: it cannot be shared from here")
    return hashset


def record_export(
    session: Session,
    ctx: Context,
    hashset: HashSet,
    summary: ExportSummary,
    last_known_id: int,
) -> None:
    session.add(
        ShareExport(
            hashset_id=hashset.id,
            set_uid=summary.set_uid,
            version=summary.version,
            since=summary.since,
            kind=summary.kind,
            last_known_id=last_known_id,
            entries=summary.entries,
            exported_at=datetime.now(UTC),
            exported_by=ctx.actor.user,
        )
    )
    audit.record(
        session,
        ctx.actor,
        f"share.export.{summary.kind}",
        None,
        name=hashset.name,
        version=summary.version,
        since=summary.since,
        entries=summary.entries,
        file=summary.file,
    )


def set_manifest(hashset: HashSet, set_uid: str, version: int) -> dict[str, Any]:
    return {
        "set": {
            "uid": set_uid,
            "name": hashset.name,
            "kind": hashset.kind,
            "pdq_threshold": hashset.pdq_threshold,
        },
        "version": version,
        "created_at": datetime.now(UTC).isoformat(),
    }


def export_bundle(ctx: Context, name: str, out: Path, *, since: int | None = None) -> ExportSummary:
    """Write a signed bundle of the set `name` (with `since`: only what was added after that
    version's export). Refused, with nothing written, when a label is not a label."""
    key = instance_key(ctx)
    with ctx.db.session() as session:
        hashset = exportable_set(session, name)
        set_uid, version = next_version(session, hashset.id)
        watermark = _since_watermark(session, set_uid, since)
        case_refs = set(session.scalars(select(Case.ref)))
        rows = session.scalars(
            select(KnownHash)
            .where(KnownHash.hashset_id == hashset.id, KnownHash.id > watermark)
            .order_by(KnownHash.id)
            .execution_options(yield_per=10_000)
        )
        writer = ShareWriter(out)
        entries, last_id = 0, watermark
        try:
            for row in rows:
                line = json.dumps(_entry(row, hashset.imported_at, case_refs), sort_keys=True)
                writer.write(line.encode() + b"\n")
                entries, last_id = entries + 1, row.id
            manifest = set_manifest(hashset, set_uid, version)
            writer.finish(
                {
                    **manifest,
                    "kind": "hashset",
                    "since": since,
                    "entries": entries,
                    "fields": list(ENTRY_FIELDS),
                },
                key,
            )
        except BaseException:
            writer.discard()
            raise
        summary = ExportSummary(name, "hashset", set_uid, version, since, entries, str(out))
        record_export(session, ctx, hashset, summary, last_id)
    return summary


def _record(line: bytes, number: int) -> KnownHashRecord:
    """One bundle entry; ShareFileError when it is not what a bundle may hold."""
    try:
        if len(line) > MAX_LINE:
            raise BadRecord("entry too long")
        data = json.loads(line)
        if not isinstance(data, dict):
            raise BadRecord("not an object")
        unknown = set(data) - set(ENTRY_FIELDS)
        if unknown:
            raise BadRecord(f"fields a bundle may not carry: {', '.join(sorted(unknown))}")
        hashes = {kind: hex_hash(data.get(kind), kind) for kind in KNOWN_HASH_NAMES}  # type: ignore[arg-type]
        if not any(hashes.values()):
            raise BadRecord("no hash")
        category = Category.parse(data["category"]) if data.get("category") else None
        series = data.get("series", [])
        if not isinstance(series, list) or not all(
            isinstance(s, str) and 0 < len(s) <= MAX_LABEL and "," not in s for s in series
        ):
            raise BadRecord("series must be a list of names")
        flags = {f: data.get(f) for f in ("victim_identified", "offender_identified")}
        if any(v is not None and not isinstance(v, bool) for v in flags.values()):
            raise BadRecord("identified flags are true, false or absent")
        first_seen = datetime.fromisoformat(data["first_seen"])
        if first_seen.tzinfo is None:
            raise BadRecord("first_seen needs a UTC offset")
        submissions = data["submissions"]
        if not isinstance(submissions, int) or submissions < 1:
            raise BadRecord("submissions must be a positive number")
    except (BadRecord, ValueError, KeyError, TypeError) as exc:
        raise ShareFileError(f"entry {number} is not a bundle entry ({exc})") from None
    return KnownHashRecord(
        md5=hashes["md5"],
        sha1=hashes["sha1"],
        sha256=hashes["sha256"],
        pdq=hashes["pdq"],
        category=category,
        series=tuple(series),
        victim_identified=flags["victim_identified"],
        offender_identified=flags["offender_identified"],
        extra=(("first_seen", first_seen.isoformat()), ("submissions", str(submissions))),
    )


def _records(share: ShareFile) -> Iterator[KnownHashRecord]:
    declared = int(share.manifest["entries"])
    count = 0
    for count, line in enumerate(share.lines(), 1):
        if count > declared:
            break
        yield _record(line, count)
    if count != declared:
        raise ShareFileError(f"holds {count} entries where its manifest declares {declared}")


def _set_fields(share: ShareFile) -> tuple[str, str, int, int, int | None]:
    """The manifest's set: uid, kind, PDQ threshold, version, since."""
    manifest = share.manifest
    try:
        described = manifest["set"]
        uid, kind, threshold = described["uid"], described["kind"], described["pdq_threshold"]
        version, since = manifest["version"], manifest.get("since")
        valid = (
            isinstance(uid, str)
            and _UID.fullmatch(uid) is not None
            and kind in KINDS
            and isinstance(threshold, int)
            and 0 <= threshold <= 128
            and isinstance(version, int)
            and version >= 1
            and (since is None or (isinstance(since, int) and 1 <= since < version))
            and isinstance(described["name"], str)
        )
    except (KeyError, TypeError):
        valid = False
    if not valid:
        raise ShareFileError(f"{share.path}: its manifest does not describe a set")
    return uid, kind, threshold, version, since


def _checkpoint(
    connection: Connection, share: ShareFile, uid: str
) -> tuple[int, int | None] | None:
    """The newest version imported of this signer's set in this form (bundle or filter), and
    the active hash set it became."""
    row = connection.execute(
        select(ShareImport.version, ShareImport.hashset_id)
        .where(
            ShareImport.signer == share.signer,
            ShareImport.set_uid == uid,
            ShareImport.kind == share.kind,
        )
        .order_by(ShareImport.version.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    version, hashset_id = row
    active = connection.scalar(
        select(func.count(HashSet.id)).where(HashSet.id == hashset_id, HashSet.removed_at.is_(None))
    )
    return int(version), hashset_id if active else None


def import_share(
    ctx: Context, path: Path, name: str | None = None, *, agency_id: int | None = None
) -> ShareImportSummary:
    """Verify a share file against the trusted keys and import it in one transaction;
    ShareFileError (nothing imported) on any refusal."""
    share = open_share_file(path)
    with ctx.db.session() as session:
        owner = trusted_signer(session, share.signer)
    share.verify_body()
    if share.kind == "series":
        from cairn.services.sharing.series_status import import_series

        version, entries = import_series(ctx, share, owner)
        return ShareImportSummary("series", "series", owner, "", version, None, entries)
    if share.kind in ("notices", "notice-hits"):
        from cairn.services.sharing.notices import import_notice_file

        kind, version, entries = import_notice_file(ctx, share, owner, agency_id)
        return ShareImportSummary(kind, kind, owner, "", version, None, entries)
    if share.kind not in ("hashset", "filter"):
        raise ShareFileError(f"{path}: a {share.kind} file is not imported here")
    _set_fields(share)
    name = name or str(share.manifest["set"]["name"])
    written: list[Path] = []  # a filter's file, removed again if the transaction fails
    try:
        return _import(ctx, share, name, agency_id, owner, written)
    except BaseException:
        for file in written:
            file.unlink(missing_ok=True)
        raise


def _import(
    ctx: Context,
    share: ShareFile,
    name: str,
    agency_id: int | None,
    owner: str,
    written: list[Path],
) -> ShareImportSummary:
    path = share.path
    uid, kind, threshold, version, since = _set_fields(share)
    with ctx.db.engine.begin() as connection:
        checkpoint = _checkpoint(connection, share, uid)
        if checkpoint is not None and version <= checkpoint[0]:
            raise ShareFileError(
                f"{path}: version {version} of this set is not newer than the version "
                f"already imported ({checkpoint[0]}): a replay"
            )
        append_to: int | None = None
        if since is not None:
            if checkpoint is None or checkpoint[0] != since or checkpoint[1] is None:
                have = "none" if checkpoint is None else str(checkpoint[0])
                raise ShareFileError(
                    f"{path}: a delta since version {since}, but the version imported is {have}: "
                    "import the deltas in order"
                )
            append_to = checkpoint[1]
        elif checkpoint is not None and checkpoint[1] is not None:
            raise ShareFileError(
                f"{path}: this set is imported already (version {checkpoint[0]}): import a delta "
                "since that version, or remove the set first"
            )
        summary = ImportSummary(name, BUNDLE_FORMAT, kind, share.manifest["body_sha256"])
        if append_to is None:
            taken = connection.scalar(select(HashSet.id).where(HashSet.name == name))
            if taken is not None:
                raise UsageError(f"a hash set named {name!r} exists; choose another --name")
            append_to = connection.execute(
                insert(HashSet).returning(HashSet.id),
                {
                    "name": name,
                    "kind": kind,
                    "format": BUNDLE_FORMAT if share.kind == "hashset" else "filter",
                    "source_file": str(path.resolve()),
                    "source_sha256": file_sha256(path),
                    "source_date": datetime.now(UTC),
                    "pdq_threshold": threshold,
                    "imported_at": datetime.now(UTC),
                    "imported_by": ctx.actor.user,
                    "agency_id": agency_id,
                    "shared": False,
                    "owner": owner,
                },
            ).scalar_one()
        if share.kind == "hashset":
            add_records(ctx, connection, append_to, agency_id, _records(share), summary)
            entries = summary.records
            connection.execute(
                update(HashSet)
                .where(HashSet.id == append_to)
                .values(entries=HashSet.entries + entries)
            )
        else:
            from cairn.services.sharing.filters import store_filter

            entries = store_filter(ctx, share, append_to, written)
        connection.execute(
            insert(ShareImport),
            {
                "signer": share.signer,
                "trust_name": owner,
                "set_uid": uid,
                "version": version,
                "since": since,
                "kind": share.kind,
                "hashset_id": append_to,
                "entries": entries,
                "manifest_sha256": share.file_sha256_prefix,
                "imported_at": datetime.now(UTC),
                "imported_by": ctx.actor.user,
            },
        )
        with Session(bind=connection) as session:
            audit.record(
                session,
                ctx.actor,
                "share.import",
                None,
                name=name,
                kind=share.kind,
                owner=owner,
                version=version,
                since=since,
                entries=entries,
            )
    return ShareImportSummary(name, share.kind, owner, uid, version, since, entries)
