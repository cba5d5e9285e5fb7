"""Writing VICS 2.0 documents.

Writing streams (`write_media_set`, `write_case`): one Media object is serialised at a time
and written as one line, never the whole document.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from cairn import __version__
from cairn.core.types import Category, CategoryScheme
from cairn.hashsets.base import KnownHashRecord
from cairn.hashsets.vics.document import CONTEXT_URL, EXTRA_FLAGS, EXTRA_TEXT, CaseMedia, MediaFile

# The profile Cairn writes: US is the profile named for the `vics` numbering Cairn writes.
WRITE_PROFILE: Final = "US"

# Category codes as vics numbers. The legacy DHS numbering names the same meanings as vics with
# other digits (docs/formats.md), so a dhs category is written as its vics equivalent.
_AS_VICS_NUMBER: Final[dict[CategoryScheme, dict[str, int | None]]] = {
    CategoryScheme.VICS: {"0": 0, "1": 1, "2": 2, "3": 3, "4": 4},
    CategoryScheme.DHS: {"0": None, "1": 1, "2": 2, "3": 3, "4": 4, "5": 0},
}


@dataclass(frozen=True)
class CaseInfo:
    """The Case properties `write_case` writes. Totals are counted while writing."""

    case_id: uuid.UUID
    case_number: str | None = None
    contact_organization: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    contact_title: str | None = None
    seizure_date: datetime | None = None
    source_application_name: str = "Cairn"
    source_application_version: str = __version__


@dataclass(frozen=True)
class WriteSummary:
    """What a writer wrote. VICS can hold neither a record without MD5 (Media's key) nor a
    caid/custom category in the vics numbering, so such records are skipped and counted."""

    written: int
    skipped_without_md5: int = 0
    skipped_category: int = 0
    media_files: int = 0


def _vics_code(category: Category | None) -> tuple[bool, int | None]:
    """(writable, Category number) in the vics numbering."""
    if category is None or category.code is None:
        return True, None
    numbers = _AS_VICS_NUMBER.get(category.scheme, {})
    if category.code not in numbers:
        return False, None
    return True, numbers[category.code]


def _iso(value: datetime | None) -> str | None:
    """DateTimeOffset text; Cairn's times are UTC, so a naive time is taken as UTC."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _media_json(
    record: KnownHashRecord, media_id: int, code: int | None, precategorized_by: str | None
) -> dict[str, Any]:
    assert record.md5 is not None
    md5 = record.md5.upper()  # distributed sets use upper-case hex
    extra = dict(record.extra)
    obj: dict[str, Any] = {
        "MD5": md5,
        "MediaID": media_id,
        "Category": code,
        "SHA1": record.sha1.upper() if record.sha1 else None,
        "VictimIdentified": record.victim_identified,
        "OffenderIdentified": record.offender_identified,
        "IsDistributed": record.distributed,
        "Comments": record.comments,
        "Tags": record.tags,
        "Series": ",".join(record.series) or None,
        "MediaSize": record.size,
        "IsPrecategorized": precategorized_by is not None,
        "PrecategorizationSource": precategorized_by,
        "MimeType": record.mime_type,
        "PhotoDNA": record.photodna,
    }
    for name in EXTRA_FLAGS:
        if name in extra:
            obj[name] = extra[name] == "true"
    for name in EXTRA_TEXT:
        obj[name] = extra.get(name)
    alternatives = [
        {"MD5": md5, "HashName": hash_name, "HashValue": value.upper()}
        for hash_name, value in (("SHA256", record.sha256), ("PDQ", record.pdq))
        if value is not None
    ]
    if alternatives:
        obj["AlternativeHashes"] = alternatives
    # Null properties are left out (OData allows it), except Category: null says uncategorised.
    return {k: v for k, v in obj.items() if v is not None or k == "Category"}


def _media_file_json(md5: str, media_file_id: int, item: MediaFile) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "MD5": md5,
        "MediaFileID": media_file_id,
        "FileName": item.file_name,
        "FilePath": item.file_path,
        "Created": _iso(item.created),
        "Written": _iso(item.written),
        "Accessed": _iso(item.accessed),
        "Unallocated": item.unallocated,
        "Deleted": item.deleted,
        "SourceID": item.source_id,
        "PhysicalLocation": item.physical_location,
        "ParentMD5": item.parent_md5.upper() if item.parent_md5 else None,
        "ParentFileName": item.parent_file_name,
        "ParentFilePath": item.parent_file_path,
    }
    return {k: v for k, v in obj.items() if v is not None}


def _dump(obj: object) -> str:
    # ASCII escapes keep the output valid whatever the encoding of `out`.
    return json.dumps(obj, separators=(",", ":"))


class _MediaWriter:
    """Writes the Media array's elements one per line, numbering MediaID and counting skips."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self.written = self.no_md5 = self.bad_category = self.files = 0

    def write(
        self, record: KnownHashRecord, files: Iterable[MediaFile], precategorized_by: str | None
    ) -> None:
        writable, code = _vics_code(record.category)
        if record.md5 is None:
            self.no_md5 += 1
            return
        if not writable:
            self.bad_category += 1
            return
        self.written += 1
        # MediaID only has to be unique in the file (docs/formats.md): an export-local row number.
        obj = _media_json(record, self.written, code, precategorized_by)
        media_files = [
            _media_file_json(obj["MD5"], self.files + n, item) for n, item in enumerate(files, 1)
        ]
        if media_files:
            obj["MediaFiles"] = media_files
            self.files += len(media_files)
        self._out.write(("\n" if self.written == 1 else ",\n") + _dump(obj))

    def summary(self) -> WriteSummary:
        return WriteSummary(self.written, self.no_md5, self.bad_category, self.files)


def write_media_set(records: Iterable[KnownHashRecord], out: TextIO) -> WriteSummary:
    """Write a VICS 2.0 `#Media` hash set: hashes and labels only, no paths, for sharing."""
    out.write('{"@odata.context":' + _dump(CONTEXT_URL.format(WRITE_PROFILE, "Media")))
    out.write(',"value":[')
    writer = _MediaWriter(out)
    for record in records:
        writer.write(record, (), None)
    out.write("\n]}\n")
    return writer.summary()


def write_case(case: CaseInfo, media: Iterable[CaseMedia], out: TextIO) -> WriteSummary:
    """Write a VICS 2.0 `#Cases` document: one case, its Media with their MediaFiles.

    The totals are only known at the end, so they follow the Media array (JSON member order is
    free)."""
    head = {
        "CaseID": str(case.case_id),
        "CaseNumber": case.case_number,
        "ContactOrganization": case.contact_organization,
        "ContactName": case.contact_name,
        "ContactPhone": case.contact_phone,
        "ContactEmail": case.contact_email,
        "ContactTitle": case.contact_title,
        "SeizureDate": _iso(case.seizure_date),
        "SourceApplicationName": case.source_application_name,
        "SourceApplicationVersion": case.source_application_version,
    }
    out.write('{"@odata.context":' + _dump(CONTEXT_URL.format(WRITE_PROFILE, "Cases")))
    out.write(',"value":[' + _dump({k: v for k, v in head.items() if v is not None})[:-1])
    out.write(',"Media":[')
    writer = _MediaWriter(out)
    precategorized = 0
    for item in media:
        before = writer.written
        writer.write(item.record, item.files, item.precategorized_by)
        if writer.written > before and item.precategorized_by is not None:
            precategorized += 1
    totals = {"TotalMediaFiles": writer.files, "TotalPrecategorized": precategorized}
    out.write("\n]," + _dump(totals)[1:] + "]}\n")
    return writer.summary()
