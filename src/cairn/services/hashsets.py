"""Hash sets: import in any format investigators exchange, list, remove, export for sharing.

Records go to the store in large batches inside one transaction (a failed import leaves
nothing behind); their digests and PDQs go to the workspace's known-material indexes, which
is what matching searches. Each set keeps the SHA-256 of the file it came from.

NSRL sets (tens of millions of known files) store no row per entry: their entries go to a
known-file set folder (`cairn.matching.known_files`) and become `known_hashes` rows one by one
when a case's file first matches them (`materialize_known_files`), so matches, triage and
exports treat them like any set's.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from cairn.core.errors import NotFoundError, UsageError
from cairn.core.hash_kinds import DIGEST_NAMES, KNOWN_HASH_NAMES
from cairn.core.thresholds import PDQ_MATCH_DISTANCE
from cairn.hashsets.base import KnownHashRecord, ReadOptions, RecordError
from cairn.hashsets.nsrl import Extra, KnownFiles, NsrlFormat
from cairn.hashsets.registry import by_name, detect
from cairn.matching.known import KnownIndexes
from cairn.matching.known_files import (
    KnownFileSet,
    KnownFileWriter,
    known_file_sets,
    remove_known_file_set,
)
from cairn.services.access import owned_hashset, usable_by_agency, usable_hashset_ids
from cairn.services.context import Context
from cairn.store import audit
from cairn.store.bulk import bulk_insert
from cairn.store.identity_models import Agency
from cairn.store.models import HashSet, KnownHash

if TYPE_CHECKING:
    from cairn.services.identity import Principal

KINDS = ("illegal", "ignorable", "alert")
INSERT_BATCH = 20_000
T = TypeVar("T")
MAX_ERRORS_KEPT = 100
MAX_CONFLICTS_KEPT = 20


@dataclass
class ImportSummary:
    name: str
    format: str
    kind: str
    source_sha256: str
    records: int = 0
    bad_records: int = 0
    errors: list[str] = field(default_factory=list)  # the first MAX_ERRORS_KEPT
    conflicts: int = 0  # hashes another set gives a different category
    conflict_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class HashSetInfo:
    name: str
    kind: str
    format: str
    entries: int
    bad_records: int
    pdq_threshold: int
    source_file: str
    source_sha256: str
    source_date: str | None
    imported_at: str
    imported_by: str
    removed_at: str | None
    id: int = 0
    agency_id: int | None = None  # None: the local operator's workspace
    shared: bool = False  # usable by every agency
    agency_code: str | None = None  # the owning agency's code
    owner: str | None = None  # the partner instance it came from (docs/federation.md)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class _KeyBuffer:
    """Compact growing arrays of (binary key, id) per hash kind: 10M MD5s cost 240 MB, not 5 GB
    of Python strings."""

    def __init__(self) -> None:
        self.keys = {kind: bytearray() for kind in KNOWN_HASH_NAMES}
        self.ids = {kind: array("q") for kind in KNOWN_HASH_NAMES}

    def extend(self, kind: str, pairs: list[tuple[Any, int]]) -> None:
        """Add (hex key, id) pairs; the hex is converted in one call."""
        if pairs:
            self.keys[kind] += bytes.fromhex("".join([key for key, _ in pairs]))
            self.ids[kind].extend([known_id for _, known_id in pairs])


_COLUMNS = (
    "id",
    "hashset_id",
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "photodna",
    "category_scheme",
    "category_code",
    "series",
    "victim_identified",
    "offender_identified",
    "distributed",
    "media_id",
    "file_name",
    "size",
    "details",
)


@functools.lru_cache(maxsize=65536)
def _extra_json(extra: tuple[tuple[str, str], ...]) -> str:
    # NSRL rows carry only a package id, shared by thousands of files: encode each once.
    return json.dumps({"extra": dict(extra)}, separators=(",", ":"))


def _details(record: KnownHashRecord) -> str | None:
    if (
        record.extra
        and not (record.comments or record.tags or record.mime_type)
        and (record.pdq_quality is None)
    ):
        return _extra_json(record.extra)
    details: dict[str, Any] = {}
    if record.comments:
        details["comments"] = record.comments
    if record.tags:
        details["tags"] = record.tags
    if record.mime_type:
        details["mime_type"] = record.mime_type
    if record.pdq_quality is not None:
        details["pdq_quality"] = record.pdq_quality
    if record.extra:
        details["extra"] = dict(record.extra)
    return json.dumps(details, separators=(",", ":")) if details else None


def _row(record: KnownHashRecord, known_id: int, hashset_id: int) -> tuple[Any, ...]:
    category = record.category
    return (
        known_id,
        hashset_id,
        record.md5,
        record.sha1,
        record.sha256,
        record.pdq,
        record.photodna,
        category.scheme.value if category else None,
        category.code if category else None,
        ",".join(record.series) or None,
        record.victim_identified,
        record.offender_identified,
        record.distributed,
        record.media_id,
        record.file_name,
        record.size,
        _details(record),
    )


def import_hashset(
    ctx: Context,
    path: Path,
    name: str,
    *,
    fmt: str = "auto",
    kind: str = "illegal",
    options: ReadOptions | None = None,
    pdq_threshold: int = PDQ_MATCH_DISTANCE,
    agency_id: int | None = None,
    shared: bool = False,
    between_batches: Callable[[], None] | None = None,
    append: bool = False,
) -> ImportSummary:
    """Import a set owned by `agency_id` (None: local); a shared set serves every agency.
    With `append`, the file's records are added to the existing set `name` (a set grows; a
    share export's delta is what was appended since).

    `between_batches` is called before each batch is read (a job's cancellation check):
    whatever it raises abandons the import, which is one transaction, so nothing is stored."""
    if kind not in KINDS:
        raise UsageError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not 0 <= pdq_threshold <= 128:
        raise UsageError("--pdq-threshold must be between 0 and 128")
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    reader = detect(path) if fmt == "auto" else by_name(fmt)
    options = options or ReadOptions()
    started = time.monotonic()
    summary = ImportSummary(name, reader.name, kind, "")
    indexes_folder = ctx.workspace.root / "indexes"
    known_files: KnownFileWriter | None = None
    try:
        # The file is hashed while it is read (hashlib releases the GIL): a whole pass saved.
        with ThreadPoolExecutor(1) as pool, ctx.db.engine.begin() as connection:
            source_sha256 = pool.submit(file_sha256, path)
            existing = connection.execute(
                select(HashSet.id, HashSet.format, HashSet.agency_id).where(HashSet.name == name)
            ).first()
            if existing is not None and not append:
                raise UsageError(
                    f"a hash set named {name!r} exists; remove it or choose another --name"
                )
            if existing is not None:
                hashset_id = _appendable(existing, reader, agency_id)
            elif append:
                raise NotFoundError(f"no hash set {name!r} to append to")
            else:
                hashset_id = connection.execute(
                    insert(HashSet).returning(HashSet.id),
                    {
                        "name": name,
                        "kind": kind,
                        "format": reader.name,
                        "source_file": str(path.resolve()),
                        "source_sha256": "",  # set below, when hashed
                        "source_date": datetime.fromtimestamp(path.stat().st_mtime, UTC),
                        "pdq_threshold": pdq_threshold,
                        "imported_at": datetime.now(UTC),
                        "imported_by": ctx.actor.user,
                        "agency_id": agency_id,
                        "shared": shared,
                    },
                ).scalar_one()
            if issubclass(reader, NsrlFormat):
                first_id = (connection.scalar(select(func.max(KnownHash.id))) or 0) + 1
                known_files = KnownFileWriter(indexes_folder, first_id)
                columns = _calling(between_batches, reader.read_columns(path), 1)
                extras = _store_known_files(columns, known_files, summary)
                summary.source_sha256 = source_sha256.result()
                known_files.finish(hashset_id, summary.source_sha256, extras)
                if summary.records:  # its last entry as a row reserves the set's id range
                    last = first_id + summary.records - 1
                    rows = _known_rows(KnownFileSet(known_files.staging, extras), [last])
                    connection.execute(insert(KnownHash), rows)
            else:
                records = _calling(between_batches, reader.read(path, options), _CHECK_RECORDS)
                add_records(ctx, connection, hashset_id, agency_id, records, summary)
                summary.source_sha256 = source_sha256.result()
            connection.execute(
                update(HashSet)
                .where(HashSet.id == hashset_id)
                .values(
                    entries=HashSet.entries + summary.records,
                    bad_records=HashSet.bad_records + summary.bad_records,
                    source_sha256=summary.source_sha256,
                )
            )
            with Session(bind=connection) as session:  # the import's own transaction
                audit.record(
                    session,
                    ctx.actor,
                    "hashset.import",
                    None,
                    name=name,
                    kind=kind,
                    format=reader.name,
                    file=str(path.resolve()),
                    sha256=summary.source_sha256,
                    records=summary.records,
                    bad_records=summary.bad_records,
                    shared=shared,
                    **({"append": True} if append else {}),
                )
    except BaseException:
        if known_files is not None:
            known_files.discard()
        raise
    if known_files is not None:  # committed: now matching may see the set
        known_files.publish(indexes_folder, hashset_id)
    summary.seconds = time.monotonic() - started
    return summary


def _appendable(existing: Any, reader: Any, agency_id: int | None) -> int:
    hashset_id, fmt, owner = existing
    if owner != agency_id:
        raise NotFoundError("no such hash set to append to")
    if fmt in ("nsrl", "filter") or issubclass(reader, NsrlFormat):
        raise UsageError("known-file (NSRL) sets and match filters cannot be appended to")
    return int(hashset_id)


def add_records(
    ctx: Context,
    connection: Connection,
    hashset_id: int,
    agency_id: int | None,
    records: Iterator[KnownHashRecord | RecordError],
    summary: ImportSummary,
) -> None:
    """Store records as entries of the set `hashset_id`, in the caller's transaction, and add
    them to the known-material indexes (a new segment), reporting category conflicts."""
    keys = _KeyBuffer()
    first_id = (connection.scalar(select(func.max(KnownHash.id))) or 0) + 1
    _store_records(connection, records, hashset_id, first_id, keys, summary)
    indexes = KnownIndexes(ctx.workspace.root / "indexes")
    _find_conflicts(connection, indexes, keys, agency_id, summary)
    indexes.add(keys.keys, keys.ids)


# Records read between two `between_batches` calls: a cancel is seen within a few ms of work.
_CHECK_RECORDS = 10_000


def _calling(call: Callable[[], None] | None, items: Iterator[T], every: int) -> Iterator[T]:
    """`items`, with `call` called before the first and then every `every` items."""
    for number, item in enumerate(items):
        if call is not None and number % every == 0:
            call()
        yield item


def _store_records(
    connection: Connection,
    records: Iterator[KnownHashRecord | RecordError],
    hashset_id: int,
    next_id: int,
    keys: _KeyBuffer,
    summary: ImportSummary,
) -> None:
    """Store records in batches; per batch, columns are built by comprehensions and hex keys
    converted in one call per kind, so the per-record Python work stays small (NSRL sets have
    tens of millions of records)."""
    batch: list[KnownHashRecord] = []

    def flush() -> None:
        nonlocal next_id
        ids = range(next_id, next_id + len(batch))
        rows = [
            _row(record, known_id, hashset_id) for record, known_id in zip(batch, ids, strict=True)
        ]
        bulk_insert(connection, KnownHash.__tablename__, _COLUMNS, rows)
        for position, kind in enumerate(KNOWN_HASH_NAMES):  # the hashes lead the record
            keys.extend(
                kind, [(r[position], i) for r, i in zip(batch, ids, strict=True) if r[position]]
            )
        next_id += len(batch)
        summary.records += len(batch)
        batch.clear()

    for record in records:
        if isinstance(record, RecordError):
            _bad_record(summary, record)
            continue
        batch.append(record)
        if len(batch) >= INSERT_BATCH:
            flush()
    flush()


def _bad_record(summary: ImportSummary, error: RecordError) -> None:
    summary.bad_records += 1
    if len(summary.errors) < MAX_ERRORS_KEPT:
        summary.errors.append(str(error))


def _store_known_files(
    batches: Iterator[KnownFiles | RecordError], writer: KnownFileWriter, summary: ImportSummary
) -> Sequence[Extra]:
    """Write a known-file set's entries (module docstring); returns its distinct extras."""
    extras: Sequence[Extra] = ()
    for batch in batches:
        if isinstance(batch, RecordError):
            _bad_record(summary, batch)
            continue
        digests = {kind: getattr(batch, kind) for kind in DIGEST_NAMES}
        writer.add(digests, batch.names, batch.sizes, batch.extras)
        extras = batch.extra_table
    summary.records = writer.count
    return extras


def materialize_known_files(connection: Connection, indexes: Path, known_ids: list[int]) -> int:
    """Give the known-file entries (NSRL) among `known_ids` their `known_hashes` rows, on their
    first match, so that matches, triage and exports see them like any set's entries. Entries
    of removed sets are left alone. Returns the number of rows created."""
    sets = known_file_sets(indexes)
    if not sets or not known_ids:
        return 0
    active = set(
        connection.scalars(
            select(HashSet.id).where(
                HashSet.id.in_([s.hashset_id for s in sets]), HashSet.removed_at.is_(None)
            )
        )
    )
    return sum(_materialize(connection, s, known_ids) for s in sets if s.hashset_id in active)


def _materialize(connection: Connection, known_set: KnownFileSet, known_ids: list[int]) -> int:
    from cairn.store.writer import insert_ignoring_duplicates  # not on the import's path

    wanted = sorted({known_id for known_id in known_ids if known_set.contains(known_id)})
    existing: set[int] = set()
    for start in range(0, len(wanted), 10_000):
        chunk = wanted[start : start + 10_000]
        existing.update(connection.scalars(select(KnownHash.id).where(KnownHash.id.in_(chunk))))
    missing = [known_id for known_id in wanted if known_id not in existing]
    if not missing:
        return 0
    # A concurrent `cairn match` may create the same rows: the first one stays.
    connection.execute(
        insert_ignoring_duplicates(connection.engine, KnownHash, "id"),
        _known_rows(known_set, missing),
    )
    return len(missing)


def _known_rows(known_set: KnownFileSet, known_ids: list[int]) -> list[dict[str, Any]]:
    """`known_hashes` rows of a known-file set's entries, as an NSRL import once stored them."""
    entries = known_set.entries([known_id - known_set.first_id for known_id in known_ids])
    rows = []
    for known_id, entry in zip(known_ids, entries, strict=True):
        record = KnownHashRecord(
            md5=entry.md5,
            sha1=entry.sha1,
            sha256=entry.sha256,
            file_name=entry.file_name,
            size=entry.size,
            extra=entry.extra,
        )
        row = dict(zip(_COLUMNS, _row(record, known_id, known_set.hashset_id), strict=True))
        details = row["details"]  # JSON text for the bulk path; the ORM column wants the value
        row["details"] = json.loads(details) if details else None
        rows.append(row)
    return rows


def _find_conflicts(
    connection: Connection,
    indexes: KnownIndexes,
    keys: _KeyBuffer,
    agency_id: int | None,
    summary: ImportSummary,
) -> None:
    """Hashes this set and an earlier one categorise differently: both kept, reported.
    Only sets the importing agency may use are compared: others' names must not leak."""
    pairs: set[tuple[int, int]] = set()
    for kind in DIGEST_NAMES:
        pairs.update(indexes.exact_pairs(kind, bytes(keys.keys[kind]), keys.ids[kind]))
    if not pairs:
        return
    new_ids = sorted({new for new, _ in pairs})
    categories: dict[int, tuple[str | None, str | None, str]] = {}
    for start in range(0, len(new_ids), 10_000):
        wanted = new_ids[start : start + 10_000] + sorted({old for _, old in pairs})
        for known_id, scheme, code, set_name in connection.execute(
            select(KnownHash.id, KnownHash.category_scheme, KnownHash.category_code, HashSet.name)
            .join(HashSet, HashSet.id == KnownHash.hashset_id)
            .where(KnownHash.id.in_(wanted), usable_by_agency(agency_id))
        ):
            categories[known_id] = (scheme, code, set_name)
    for new, old in sorted(pairs):
        a, b = categories.get(new), categories.get(old)
        if a is None or b is None or a[0] is None or b[0] is None or a[:2] == b[:2]:
            continue
        summary.conflicts += 1
        if len(summary.conflict_examples) < MAX_CONFLICTS_KEPT:
            summary.conflict_examples.append(
                f"known hash {new} is {a[0]}:{a[1] or ''} here but {b[0]}:{b[1] or ''} in {b[2]!r}"
            )


def _info(session: Session, h: HashSet) -> HashSetInfo:
    agency = None if h.agency_id is None else session.get(Agency, h.agency_id)
    return HashSetInfo(
        h.name,
        h.kind,
        h.format,
        h.entries,
        h.bad_records,
        h.pdq_threshold,
        h.source_file,
        h.source_sha256,
        h.source_date.isoformat() if h.source_date else None,
        h.imported_at.isoformat(),
        h.imported_by,
        h.removed_at.isoformat() if h.removed_at else None,
        h.id,
        h.agency_id,
        h.shared,
        None if agency is None else agency.code,
        h.owner,
    )


def list_hashsets(
    ctx: Context, include_removed: bool = False, principal: Principal | None = None
) -> list[HashSetInfo]:
    """The sets `principal` may use (its agency's and the shared ones); all for None."""
    with ctx.db.session() as session:
        query = select(HashSet).order_by(HashSet.id)
        if not include_removed:
            query = query.where(HashSet.removed_at.is_(None))
        if principal is not None:
            query = query.where(HashSet.id.in_(usable_hashset_ids(session, principal)))
        return [_info(session, h) for h in session.scalars(query)]


def set_shared(
    ctx: Context, principal: Principal | None, hashset: int | str, shared: bool
) -> HashSetInfo:
    """Share a set with every agency, or stop sharing it. Only the owning agency may; the
    matches other agencies already made with it stay on their record."""
    with ctx.db.session() as session:
        hashset_id = hashset if isinstance(hashset, int) else get_hashset(session, hashset).id
        row = owned_hashset(session, principal, hashset_id)
        if row.shared != shared:
            row.shared = shared
            audit.record(
                session,
                ctx.actor,
                "hashset.share" if shared else "hashset.unshare",
                None,
                name=row.name,
                id=row.id,
            )
        return _info(session, row)


def get_hashset(session: Session, name: str) -> HashSet:
    hashset = session.scalar(
        select(HashSet).where(HashSet.name == name, HashSet.removed_at.is_(None))
    )
    if hashset is None:
        raise NotFoundError(f"no hash set {name!r}")
    return hashset


def remove_hashset(ctx: Context, name: str) -> None:
    """Retire a set: it stops matching; the matches it already produced stay on record (with
    the `known_hashes` rows they point to, also for a known-file set, whose folder goes)."""
    with ctx.db.session() as session:
        hashset = get_hashset(session, name)
        hashset_id = hashset.id
        now = datetime.now(UTC)
        hashset.removed_at = now
        hashset.name = f"{name} (removed {now:%Y-%m-%dT%H:%M:%SZ})"  # frees the name
        audit.record(session, ctx.actor, "hashset.remove", None, name=name, id=hashset.id)
    if not remove_known_file_set(ctx.workspace.root / "indexes", hashset_id):
        rebuild_indexes(ctx)


def rebuild_indexes(ctx: Context) -> None:
    """Rebuild the known-material indexes from the active sets (after a removal). Known-file
    sets keep indexes of their own: their rows (entries matched so far) are left out."""
    keys = _KeyBuffer()
    own_indexes = [s.hashset_id for s in known_file_sets(ctx.workspace.root / "indexes")]
    with ctx.db.engine.connect() as connection:
        rows = connection.execute(
            select(*(getattr(KnownHash, kind) for kind in KNOWN_HASH_NAMES), KnownHash.id)
            .join(HashSet, HashSet.id == KnownHash.hashset_id)
            .where(HashSet.removed_at.is_(None), HashSet.id.not_in(own_indexes))
            .order_by(KnownHash.id)
            .execution_options(yield_per=50_000)
        )
        for chunk in rows.partitions():
            for position, kind in enumerate(KNOWN_HASH_NAMES):
                keys.extend(kind, [(row[position], row[-1]) for row in chunk if row[position]])
    KnownIndexes(ctx.workspace.root / "indexes").rebuild(keys.keys, keys.ids)


def export_hashset(ctx: Context, name: str, out: TextIO) -> int:
    """A VICS 2.0 #Media set of one hash set: hashes and labels only, never paths."""
    from cairn.hashsets.vics.writer import write_media_set

    with ctx.db.session() as session:
        hashset = get_hashset(session, name)
        known_set = _known_file_set(ctx, hashset.id)
        if known_set is not None:  # its entries are in files, not rows (module docstring)
            records = (
                KnownHashRecord(md5=e.md5, sha1=e.sha1, sha256=e.sha256, size=e.size)
                for e in known_set
            )
            written = write_media_set(records, out)
        else:
            rows = session.scalars(
                select(KnownHash)
                .where(KnownHash.hashset_id == hashset.id)
                .order_by(KnownHash.id)
                .execution_options(yield_per=10_000)
            )
            written = write_media_set((_record(row) for row in rows), out)
        audit.record(session, ctx.actor, "export.hashset", None, name=name, records=written.written)
    return written.written


def _known_file_set(ctx: Context, hashset_id: int) -> KnownFileSet | None:
    folder = ctx.workspace.root / "indexes"
    return next((s for s in known_file_sets(folder) if s.hashset_id == hashset_id), None)


def _record(row: KnownHash) -> KnownHashRecord:
    from cairn.core.types import Category, CategoryScheme

    details = row.details or {}
    category = (
        Category(CategoryScheme(row.category_scheme), row.category_code)
        if row.category_scheme
        else None
    )
    return KnownHashRecord(
        md5=row.md5,
        sha1=row.sha1,
        sha256=row.sha256,
        pdq=row.pdq,
        pdq_quality=details.get("pdq_quality"),
        photodna=row.photodna,
        size=row.size,
        category=category,
        series=tuple(s for s in (row.series or "").split(",") if s),
        victim_identified=row.victim_identified,
        offender_identified=row.offender_identified,
        distributed=row.distributed,
        media_id=row.media_id,
        file_name=None,
        mime_type=details.get("mime_type"),
        comments=details.get("comments"),
        tags=details.get("tags"),
    )
