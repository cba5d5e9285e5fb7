"""Exports of a case's hashes: CSV (one row per occurrence) and DFXML. Streamed, never built
in memory; every export is an audit event, because exports are as sensitive as the evidence.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import select
from sqlalchemy.orm import Session

import cairn
from cairn.core.errors import UsageError
from cairn.core.hash_kinds import DIGEST_NAMES
from cairn.core.types import Triage
from cairn.services.cases import get_case
from cairn.services.context import Context
from cairn.services.graded import as_category, case_standing
from cairn.services.matching import GRADES, best_matches
from cairn.services.records.filed import NOT_FILED, filed_in_series
from cairn.store import audit
from cairn.store.models import Evidence, IngestError, Media, Occurrence

CSV_COLUMNS = (
    "evidence",
    "path",
    "kind",
    "deleted",
    "unallocated",
    "offset",
    "size",
    "md5",
    "sha1",
    "sha256",
    "mime",
    "pdq",
    "pdq_quality",
    "pdq_method",
    "mtime",
    "ctime",
    "atime",
    "crtime",
    "inode",
    "triage",
    "hashset",
    "category",
    "distance",
    "match_variant",
    "error",
    "flags",
)
FORMATS = ("csv", "dfxml")


@dataclass(frozen=True)
class ExportedRow:
    label: str
    occurrence: Occurrence
    media: Media | None
    errors: list[str]


def iso_utc(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:  # SQLite hands back naive values; Cairn stores UTC only
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rows(session: Session, case_id: int) -> Iterator[ExportedRow]:
    """Occurrences in id order, each with its errors (a streamed merge of two queries)."""
    occurrences = session.execute(
        select(Evidence.label, Occurrence, Media)
        .join(Evidence, Evidence.id == Occurrence.evidence_id)
        .outerjoin(Media, Media.sha256 == Occurrence.media_sha256)
        .where(Evidence.case_id == case_id)
        .order_by(Occurrence.id)
        .execution_options(yield_per=2000)
    )
    errors = session.execute(
        select(IngestError.occurrence_id, IngestError.stage, IngestError.message)
        .join(Evidence, Evidence.id == IngestError.evidence_id)
        .where(Evidence.case_id == case_id)
        .order_by(IngestError.occurrence_id, IngestError.id)
        .execution_options(yield_per=2000)
    )
    error_iter = iter(errors)
    next_error = next(error_iter, None)
    for label, occurrence, media in occurrences:
        messages = []
        occurrence_id = occurrence.id
        while next_error is not None and next_error[0] <= occurrence_id:
            if next_error[0] == occurrence_id:
                messages.append(f"{next_error[1]}: {next_error[2]}")
            next_error = next(error_iter, None)
        yield ExportedRow(label, occurrence, media, messages)


def _text(path: bytes) -> str:
    # surrogateescape + a surrogateescape writer: bytes that are not UTF-8 pass through as-is
    return path.decode("utf-8", "surrogateescape")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def write_csv(session: Session, case_id: int, out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    best = best_matches(session.connection(), case_id)
    for exported in _rows(session, case_id):
        label, occ, media = exported.label, exported.occurrence, exported.media
        found = best.get(media.sha256) if media else None
        match_columns: tuple[object, ...] = ("", "", "", "", "")
        if media is not None:
            match_columns = (Triage.NEW.value, "", "", "", "")
        if found is not None:
            match_columns = (
                found.triage.value,
                found.hashset,
                found.category,
                "" if found.distance is None else found.distance,
                found.variant or ("pdq" if found.method == "pdq" else found.method),
            )
        writer.writerow(
            (
                label,
                _text(occ.path),
                occ.kind,
                _bool(occ.deleted),
                _bool(occ.unallocated),
                "" if occ.offset is None else occ.offset,
                "" if occ.size is None else occ.size,
                media.md5 if media else "",
                media.sha1 if media else "",
                media.sha256 if media else "",
                (media.mime or "") if media else "",
                (media.pdq or "") if media else "",
                "" if media is None or media.pdq_quality is None else media.pdq_quality,
                (media.pdq_method or "") if media else "",
                iso_utc(occ.mtime),
                iso_utc(occ.ctime),
                iso_utc(occ.atime),
                iso_utc(occ.crtime),
                occ.inode or "",
                *match_columns,
                "; ".join(exported.errors),
                occ.flags,
            )
        )
        count += 1
    return count


def _dfxml_name(path: bytes) -> str:
    """Reversible text for a byte path: invalid UTF-8 bytes become \\xNN, a backslash \\\\."""
    text = path.decode("utf-8", "surrogateescape").replace("\\", "\\\\")
    return "".join(
        f"\\x{ord(ch) - 0xDC00:02x}" if 0xDC80 <= ord(ch) <= 0xDCFF else ch for ch in text
    )


def write_dfxml(session: Session, case_id: int, case_ref: str, out: TextIO) -> int:
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(
        '<dfxml xmlns="http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML" '
        'xmlns:cairn="https://cairn.invalid/dfxml" version="1.2.0">\n'
    )
    out.write(
        f"  <creator><program>cairn</program><version>{cairn.__version__}</version>"
        f"<execution_environment><start_time>{iso_utc(datetime.now(UTC))}</start_time>"
        f"</execution_environment></creator>\n"
    )
    out.write(f"  <source><image_filename>{escape(case_ref)}</image_filename></source>\n")
    count = 0
    for exported in _rows(session, case_id):
        label, occ, media = exported.label, exported.occurrence, exported.media
        parts = [f"    <filename>{escape(_dfxml_name(occ.path))}</filename>"]
        parts.append(f"    <cairn:evidence>{escape(label)}</cairn:evidence>")
        parts.append(f"    <cairn:kind>{occ.kind}</cairn:kind>")
        if occ.inode:
            parts.append(f"    <inode>{escape(occ.inode)}</inode>")
        if occ.size is not None:
            parts.append(f"    <filesize>{occ.size}</filesize>")
        parts.append(f"    <alloc>{0 if occ.deleted or occ.unallocated else 1}</alloc>")
        for name in ("mtime", "ctime", "atime", "crtime"):
            value = getattr(occ, name)
            if value is not None:
                parts.append(f"    <{name}>{iso_utc(value)}</{name}>")
        if media is not None:
            if media.mime:
                parts.append(f"    <libmagic>{escape(media.mime)}</libmagic>")
            if occ.offset is not None:
                parts.append(
                    f'    <byte_runs><byte_run img_offset="{occ.offset}" '
                    f'len="{media.size}"/></byte_runs>'
                )
            for algorithm in DIGEST_NAMES:
                parts.append(
                    f'    <hashdigest type="{algorithm}">{getattr(media, algorithm)}</hashdigest>'
                )
            if media.pdq:
                parts.append(
                    f"    <cairn:pdq quality={quoteattr(str(media.pdq_quality))}>"
                    f"{media.pdq}</cairn:pdq>"
                )
        for flag in filter(None, occ.flags.split(",")):
            parts.append(f"    <cairn:flag>{escape(flag)}</cairn:flag>")
        for message in exported.errors:
            parts.append(f"    <cairn:error>{escape(message)}</cairn:error>")
        out.write("  <fileobject>\n" + "\n".join(parts) + "\n  </fileobject>\n")
        count += 1
    out.write("</dfxml>\n")
    return count


def export_hashes(ctx: Context, case_ref: str, fmt: str, out: TextIO, destination: str) -> int:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose {' or '.join(FORMATS)}")
    with ctx.db.session() as session:
        case = get_case(session, case_ref)
        if fmt == "csv":
            count = write_csv(session, case.id, out)
        else:
            count = write_dfxml(session, case.id, case_ref, out)
        audit.record(
            session,
            ctx.actor,
            "export.hashes",
            case_ref,
            format=fmt,
            destination=destination,
            rows=count,
        )
    return count


def _vics_media(session: Session, case_id: int) -> Iterator[Any]:
    """Each media item of the case once, with every place it was found (VICS MediaFiles)."""
    from cairn.core.types import Category
    from cairn.hashsets.base import KnownHashRecord
    from cairn.hashsets.vics.document import CaseMedia, MediaFile

    best = best_matches(session.connection(), case_id)
    graded = case_standing(session.connection(), case_id)
    filed = filed_in_series(session.connection(), case_id)
    rows = session.execute(
        select(Media, Evidence.label, Occurrence)
        .join(Occurrence, Occurrence.media_sha256 == Media.sha256)
        .join(Evidence, Evidence.id == Occurrence.evidence_id)
        .where(Evidence.case_id == case_id)
        .order_by(Media.sha256, Occurrence.id)
        .execution_options(yield_per=2000)
    )
    current: Media | None = None
    files: list[MediaFile] = []

    def item(media: Media) -> CaseMedia:
        found = best.get(media.sha256)
        in_series = filed.get(media.sha256, NOT_FILED)
        listed = tuple(s for s in (found.series if found else "").split(",") if s)
        category = Category.parse(found.category) if found and found.category else None
        source = found.hashset if found and category else None
        if category is None and media.sha256 in graded:  # the case's own reviewers' grade
            category, source = as_category(graded[media.sha256]), GRADES
        record = KnownHashRecord(
            md5=media.md5,
            sha1=media.sha1,
            sha256=media.sha256,
            pdq=media.pdq,
            pdq_quality=media.pdq_quality,
            size=media.size,
            category=category,
            series=tuple(dict.fromkeys((*listed, *in_series.series))),
            victim_identified=in_series.victim_identified,
            offender_identified=in_series.offender_identified,
            mime_type=media.mime,
        )
        return CaseMedia(record, tuple(files), source)

    for media, label, occ in rows:
        if current is not None and media.sha256 != current.sha256:
            yield item(current)
            files = []
        current = media
        text = occ.path.decode("utf-8", "backslashreplace")
        folder, _, name = text.rpartition("/")
        files.append(
            MediaFile(
                file_name=name,
                file_path=folder,
                created=occ.crtime,
                written=occ.mtime,
                accessed=occ.atime,
                unallocated=occ.unallocated,
                deleted=occ.deleted,
                source_id=label,
                physical_location=occ.offset,
            )
        )
    if current is not None:
        yield item(current)


def export_vics(ctx: Context, case_ref: str, out: TextIO, destination: str) -> int:
    """The case as a VICS 2.0 `#Cases` document: Media with MediaFiles, categories (from the
    hash sets, else from the grades that stand), series (the hash sets' and the Cairn series
    the media are filed in) and the victim and offender identified flags of those series."""
    import uuid

    from cairn.hashsets.vics.writer import CaseInfo, write_case

    with ctx.db.session() as session:
        case = get_case(session, case_ref)
        info = CaseInfo(
            case_id=uuid.uuid5(uuid.NAMESPACE_URL, f"cairn:case:{case.ref}"), case_number=case.ref
        )
        written = write_case(info, _vics_media(session, case.id), out)
        audit.record(
            session,
            ctx.actor,
            "export.vics",
            case_ref,
            destination=destination,
            media=written.written,
        )
    return written.written
