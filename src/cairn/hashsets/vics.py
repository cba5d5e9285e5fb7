"""Project VIC VICS JSON (OData): read 1.1-1.3 and 2.0, `#Media` and `#Cases`; write 2.0.

Reading streams. National sets hold hundreds of thousands of records, so the document is never
loaded whole: `_JsonStream` walks the outer structure itself and hands each Media object to the
C decoder (`json.JSONDecoder.raw_decode`) over a sliding buffer, so memory is one buffer chunk
plus one record whatever the file size.

Category numbers are read in the scheme the file declares, and never guessed (DESIGN.md):
- 2.0 Default and US profiles number in `vics` (0 non-pertinent ... 4 comparison, null
  uncategorised).
- 1.x files do not say: tools of that era also used the legacy DHS numbering, where 0 means
  uncategorised, so a misread 0 would hide material as non-pertinent. The reader refuses them
  unless `ReadOptions.category_scheme` (vics, dhs or custom) or a category map is given.
- 2.0 UK profile: the 2.0 CSDL (`ProjectVicDataModel.2.0.xml`) types Category as `Edm.Byte` in
  every profile and defines no UK numbering; the profile exists only in the context URL. How the
  UK numbers map to CAID A/B/C is local configuration, so a UK file needs
  `ReadOptions.category_map` (code -> caid:A/B/C), or `category_scheme=custom` to keep the
  numbers as custom codes.
- 2.0 CUSTOM profile: custom codes, unless the user names a scheme or gives a map.

Writing streams too (`write_media_set`, `write_case`): one Media object is serialised at a time
and written as one line, never the whole document.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Generic, Literal, TextIO, TypeVar

from cairn import __version__
from cairn.core.errors import UsageError
from cairn.core.types import Category, CategoryScheme
from cairn.hashsets.base import (
    BadRecord,
    HashKind,
    HashSetFormat,
    KnownHashRecord,
    ReadOptions,
    RecordError,
    example_hashes,
    flag_text,
    hex_hash,
    make_category,
    parse_count,
    parse_flag,
    require_hash,
    show,
    split_series,
    strip_bom,
    text_value,
)

_T = TypeVar("_T")
_CONTEXT_KEYS: Final = ("@odata.context", "odata.metadata")
_V2_CONTEXT = re.compile(r"/DataModels/2\.0\.xml/(\w+)/\$metadata#(\w+)", re.IGNORECASE)
_V1_CONTEXT = re.compile(r"/DataModels/(1\.[1-3])\.xml#(\w+)", re.IGNORECASE)
_PROFILES: Final = {"default": "Default", "us": "US", "uk": "UK", "custom": "CUSTOM"}
_SHAPES: Final[dict[str, Literal["Media", "Cases"]]] = {"media": "Media", "cases": "Cases"}
CONTEXT_URL: Final = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/{}/$metadata#{}"
# The profile Cairn writes: US is the profile named for the `vics` numbering Cairn writes.
WRITE_PROFILE: Final = "US"

# Media properties kept in KnownHashRecord.extra, and written back from it, with their types.
# IsPrecategorized is neither: FORMATS.md calls it unreliable, and Cairn writes its own.
_EXTRA_FLAGS: Final = ("IsSuspected", "SelfGenerated")
_EXTRA_TEXT: Final = ("DateUpdated",)
_EXTRA_NAMES: Final = frozenset(_EXTRA_FLAGS + _EXTRA_TEXT)
# AlternativeHashes names, upper-cased without '-' or '_'. Others (EDK, ...) are dropped: Cairn
# cannot compute them, so they could never match.
_ALT_HASHES: Final[dict[str, HashKind]] = {
    "MD5": "md5",
    "SHA1": "sha1",
    "SHA256": "sha256",
    "PDQ": "pdq",
}

# Category codes as vics numbers. The legacy DHS numbering names the same meanings as vics with
# other digits (FORMATS.md), so a dhs category is written as its vics equivalent.
_AS_VICS_NUMBER: Final[dict[CategoryScheme, dict[str, int | None]]] = {
    CategoryScheme.VICS: {"0": 0, "1": 1, "2": 2, "3": 3, "4": 4},
    CategoryScheme.DHS: {"0": None, "1": 1, "2": 2, "3": 3, "4": 4, "5": 0},
}

CHUNK_CHARS: Final = 1 << 20
# Longer than any JSON token but a string (a literal, a \uXXXX escape, a number in practice).
_LONGEST_TOKEN: Final = 64
# A Media object larger than this is treated as damage, which bounds memory on a file whose
# quotes or brackets are broken (real records are a few KiB).
MAX_RECORD_CHARS: Final = 16 << 20


@dataclass(frozen=True)
class VicsContext:
    """What the `@odata.context` / `odata.metadata` URL says about the document."""

    version: str  # "1.1" ... "1.3", "2.0"
    profile: str | None  # 2.0: Default, US, UK or CUSTOM
    shape: Literal["Media", "Cases"]

    @classmethod
    def parse(cls, url: object) -> VicsContext:
        if isinstance(url, str):
            if match := _V2_CONTEXT.search(url):
                profile = _PROFILES.get(match[1].lower())
                shape = _SHAPES.get(match[2].lower())
                if profile is not None and shape is not None:
                    return cls("2.0", profile, shape)
            elif match := _V1_CONTEXT.search(url):
                shape = _SHAPES.get(match[2].lower())
                if shape is not None:
                    return cls(match[1], None, shape)
        raise UsageError(
            f"unsupported VICS context {show(url)}: expected a 1.1-1.3 or 2.0 "
            "(Default, US, UK or CUSTOM) data model with #Media or #Cases"
        )


@dataclass(frozen=True)
class MediaFile:
    """One place a media item was found (VICS MediaFile). Paths are text: decode file-name bytes
    that are not UTF-8 reversibly (e.g. backslashreplace) before writing."""

    file_name: str | None = None
    file_path: str | None = None
    created: datetime | None = None
    written: datetime | None = None
    accessed: datetime | None = None
    unallocated: bool | None = None
    deleted: bool | None = None
    source_id: str | None = None  # the evidence item it was found on
    physical_location: int | None = None  # byte offset in the evidence image
    parent_md5: str | None = None  # the container (archive) it was a member of
    parent_file_name: str | None = None
    parent_file_path: str | None = None


@dataclass(frozen=True)
class CaseMedia:
    """A Media item of a `#Cases` document: the hash record plus where it was found."""

    record: KnownHashRecord
    files: tuple[MediaFile, ...] = ()
    # The hash set whose match categorised the item, if its category came from one.
    precategorized_by: str | None = None


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


class _Damaged(Exception):
    """The document's structure is broken past recovery here (truncated, unbalanced quotes)."""


_WS = re.compile(r"[ \t\r\n]*")
_STRUCTURE = re.compile(r'["{}\[\],]')
_STRING_STOP = re.compile(r'["\\]')


class _JsonStream:
    """A pull parser for the outer levels of a large JSON document.

    It walks objects and arrays itself and decodes leaf values (a whole Media object) with the
    C decoder over a sliding buffer. A value the decoder rejects is retried with more data, in
    case it only ran past the buffer's end; rejected again, it is malformed, and `skip_value`
    finds its end by bracket and string structure alone, so that the next record can be read.
    """

    def __init__(self, file: TextIO) -> None:
        self._file = file
        self._decode = json.JSONDecoder().raw_decode
        self.buf = ""
        self.pos = 0
        self._eof = False
        self._line = 1  # line number at buf[_line_pos]
        self._line_pos = 0

    def line(self) -> int:
        """The line of the current position (counted incrementally: positions only advance)."""
        self._line += self.buf.count("\n", self._line_pos, self.pos)
        self._line_pos = self.pos
        return self._line

    def _fill(self) -> bool:
        chunk = self._file.read(CHUNK_CHARS)
        if not chunk:
            self._eof = True
            return False
        if self.pos:
            self.line()
            self.buf = self.buf[self.pos :]
            self.pos = self._line_pos = 0
        self.buf += chunk
        return True

    def peek(self) -> str:
        """The next character that is not white space, without consuming it; "" at the end."""
        if self.pos < len(self.buf) and self.buf[self.pos] not in " \t\r\n":
            return self.buf[self.pos]  # the common case, without the regex
        while True:
            match = _WS.match(self.buf, self.pos)
            assert match is not None  # the pattern matches the empty string
            self.pos = match.end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def take(self, char: str) -> None:
        found = self.peek()
        if found != char:
            what = repr(found) if found else "the end of the file"
            raise _Damaged(f"expected {char!r} at line {self.line()}, found {what}")
        self.pos += 1

    def value(self) -> Any:
        """Decode one JSON value. JSONDecodeError: it is malformed, and pos stays at its start."""
        if not self.peek():
            raise _Damaged(f"the file ends at line {self.line()} where a value was expected")
        while True:
            try:
                obj, end = self._decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # An error near the buffer's end may be a token cut by it (`tr|ue`, `\u20|28`),
                # and an unterminated string may end in the next chunk: read on and retry.
                # An error well inside the buffer is the record's own.
                cut = len(self.buf) - exc.pos < _LONGEST_TOKEN
                unterminated = exc.msg.startswith("Unterminated string")
                too_big = len(self.buf) - self.pos > MAX_RECORD_CHARS
                if self._eof or too_big or not (cut or unterminated):
                    raise
                self._fill()
                continue
            # A number that ends the buffer may go on in the next chunk.
            if end == len(self.buf) and not self._eof and self._fill():
                continue
            self.pos = end
            return obj

    def skip_value(self) -> None:
        """Move past one (possibly malformed) value by structure alone, in bounded memory."""
        depth = 0
        in_string = False
        while True:
            if self.pos >= len(self.buf) and not self._fill():
                raise _Damaged("the file ends inside this record (truncated?)")
            buf = self.buf
            if in_string:
                match = _STRING_STOP.search(buf, self.pos)
                if match is None:
                    self.pos = len(buf)
                    continue
                i = match.start()
                if buf[i] == '"':
                    in_string = False
                    self.pos = i + 1
                    if depth == 0:
                        return
                elif i + 1 < len(buf):
                    self.pos = i + 2  # an escape: skip the escaped character
                else:
                    self.pos = i  # the escape is split across chunks: keep it for the next one
                    if not self._fill():
                        raise _Damaged("the file ends inside this record (truncated?)")
                continue
            match = _STRUCTURE.search(buf, self.pos)
            if match is None:
                self.pos = len(buf)
                continue
            i = match.start()
            char = buf[i]
            if char == '"':
                in_string = True
                self.pos = i + 1
            elif char in "{[":
                depth += 1
                self.pos = i + 1
            elif depth == 0:  # a ',' or the close of the enclosing container: the value ended
                self.pos = i
                return
            elif char == ",":
                self.pos = i + 1
            else:
                depth -= 1
                self.pos = i + 1
                if depth == 0:
                    return

    def members(self) -> Iterator[str]:
        """Iterate an object's keys; the caller consumes each member's value before resuming."""
        self.take("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            try:
                key = self.value()
            except json.JSONDecodeError as exc:
                raise _Damaged(f"malformed object key at line {self.line()}: {exc.msg}") from None
            if not isinstance(key, str):
                raise _Damaged(f"expected an object key at line {self.line()}")
            self.take(":")
            yield key
            found = self.peek()
            if found == "}":
                self.pos += 1
                return
            self.take(",")

    def items(self) -> Iterator[None]:
        """Iterate an array; the caller consumes each element before resuming."""
        self.take("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield  # positioned on the element's first character
            found = self.peek()
            if found == "]":
                self.pos += 1
                return
            self.take(",")
            self.peek()


_CategoryReader = Callable[[object], Category | None]


def _category_reader(context: VicsContext, options: ReadOptions) -> _CategoryReader:
    """How this document's Category numbers read, decided once (module docstring)."""
    if options.category_map is not None:
        mapping = dict(options.category_map)

        def mapped(raw: object) -> Category | None:
            code = _category_number(raw)
            if code is None:
                return None
            if code not in mapping:
                raise BadRecord(f"category {code} is not in the category map")
            return mapping[code]

        return mapped
    scheme = options.category_scheme
    where = f"VICS {context.version}" + (f" {context.profile} profile" if context.profile else "")
    if context.version != "2.0":
        if scheme is None:
            raise UsageError(
                "VICS 1.x category numbers are ambiguous: pass --category-scheme vics|dhs"
            )
    elif context.profile in ("Default", "US"):
        if scheme not in (None, CategoryScheme.VICS):
            raise UsageError(f"a {where} file numbers categories in the vics scheme, not {scheme}")
        scheme = CategoryScheme.VICS
    elif context.profile == "UK":
        if scheme is not CategoryScheme.CUSTOM:
            raise UsageError(
                f"{where}: how its category numbers map to CAID A/B/C is local configuration: "
                "give a category map, or --category-scheme custom to keep the numbers"
            )
    elif scheme is None:
        scheme = CategoryScheme.CUSTOM
    if scheme is CategoryScheme.CAID:
        raise UsageError(f"{where}: CAID categories are letters; give a category map for numbers")
    return _scheme_reader(scheme)


def _scheme_reader(scheme: CategoryScheme) -> _CategoryReader:
    cache: dict[int, Category] = {}
    uncategorised = Category(scheme, None)

    def read(raw: object) -> Category | None:
        code = _category_number(raw)
        if code is None:
            return uncategorised
        category = cache.get(code)
        if category is None:
            category = cache[code] = make_category(scheme, str(code))
        return category

    return read


def _category_number(raw: object) -> int | None:
    """Category is an Edm.Byte; some tools write it as decimal text."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        raw = int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 255:
        return raw
    raise BadRecord(f"Category: expected a number 0-255, found {show(raw)}")


def _merge(current: str | None, new: str | None, label: str) -> str | None:
    if current is not None and new is not None and current != new:
        raise BadRecord(f"conflicting {label} values {current} and {new}")
    return current if new is None else new


def _media_record(obj: object, category: _CategoryReader) -> KnownHashRecord:
    if not isinstance(obj, dict):
        raise BadRecord(f"a Media record must be a JSON object, found {show(obj)}")
    hashes: dict[str, str | None] = {
        "md5": hex_hash(obj.get("MD5"), "md5"),
        "sha1": hex_hash(obj.get("SHA1"), "sha1"),
        "sha256": None,
        "pdq": None,
        "photodna": text_value(obj.get("PhotoDNA"), "PhotoDNA"),
    }
    if alternatives := obj.get("AlternativeHashes"):
        _merge_alternatives(hashes, alternatives)
    # Most records have none of the extras: one C-level check skips their loops.
    extra = () if _EXTRA_NAMES.isdisjoint(obj) else _extra(obj)
    return require_hash(
        KnownHashRecord(
            md5=hashes["md5"],
            sha1=hashes["sha1"],
            sha256=hashes["sha256"],
            pdq=hashes["pdq"],
            photodna=hashes["photodna"],
            size=parse_count(obj.get("MediaSize"), "MediaSize"),
            category=category(obj.get("Category")),
            series=split_series(obj.get("Series")),
            victim_identified=parse_flag(obj.get("VictimIdentified"), "VictimIdentified"),
            offender_identified=parse_flag(obj.get("OffenderIdentified"), "OffenderIdentified"),
            distributed=parse_flag(obj.get("IsDistributed"), "IsDistributed"),
            mime_type=text_value(obj.get("MimeType"), "MimeType"),
            comments=text_value(obj.get("Comments"), "Comments"),
            tags=text_value(obj.get("Tags"), "Tags"),
            extra=extra,
        )
    )


def _merge_alternatives(hashes: dict[str, str | None], alternatives: object) -> None:
    if not isinstance(alternatives, list):
        raise BadRecord(f"AlternativeHashes: expected a list, found {show(alternatives)}")
    for alternative in alternatives:
        if not isinstance(alternative, dict):
            raise BadRecord(f"AlternativeHashes: expected objects, found {show(alternative)}")
        name = str(alternative.get("HashName") or "").upper().replace("-", "").replace("_", "")
        value = alternative.get("HashValue")
        if name == "PHOTODNA":  # 1.x keeps PhotoDNA here; 2.0 has a property as well
            new = text_value(value, "PhotoDNA")
            hashes["photodna"] = _merge(hashes["photodna"], new, "PhotoDNA")
        elif (kind := _ALT_HASHES.get(name)) is not None:
            hashes[kind] = _merge(hashes[kind], hex_hash(value, kind), name)


def _extra(obj: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    extra: list[tuple[str, str]] = []
    for name in _EXTRA_FLAGS:
        if (flag := parse_flag(obj.get(name), name)) is not None:
            extra.append((name, flag_text(flag)))
    for name in _EXTRA_TEXT:
        if (text := text_value(obj.get(name), name)) is not None:
            extra.append((name, text))
    return tuple(extra)


def _datetime(value: object, field_name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise BadRecord(f"{field_name}: expected an ISO 8601 date and time, found {show(value)}")


def _media_file(obj: object) -> MediaFile:
    if not isinstance(obj, dict):
        raise BadRecord(f"MediaFiles: expected objects, found {show(obj)}")
    return MediaFile(
        file_name=text_value(obj.get("FileName"), "FileName"),
        file_path=text_value(obj.get("FilePath"), "FilePath"),
        created=_datetime(obj.get("Created"), "Created"),
        written=_datetime(obj.get("Written"), "Written"),
        accessed=_datetime(obj.get("Accessed"), "Accessed"),
        unallocated=parse_flag(obj.get("Unallocated"), "Unallocated"),
        deleted=parse_flag(obj.get("Deleted"), "Deleted"),
        source_id=text_value(obj.get("SourceID"), "SourceID"),
        physical_location=parse_count(obj.get("PhysicalLocation"), "PhysicalLocation"),
        parent_md5=hex_hash(obj.get("ParentMD5"), "md5"),
        parent_file_name=text_value(obj.get("ParentFileName"), "ParentFileName"),
        parent_file_path=text_value(obj.get("ParentFilePath"), "ParentFilePath"),
    )


def _case_media(obj: object, category: _CategoryReader) -> CaseMedia:
    record = _media_record(obj, category)
    assert isinstance(obj, dict)  # _media_record checked it
    files = obj.get("MediaFiles") or []
    if not isinstance(files, list):
        raise BadRecord(f"MediaFiles: expected a list, found {show(files)}")
    precategorized = parse_flag(obj.get("IsPrecategorized"), "IsPrecategorized")
    source = text_value(obj.get("PrecategorizationSource"), "PrecategorizationSource")
    return CaseMedia(
        record=record,
        files=tuple(_media_file(item) for item in files),
        precategorized_by=source if precategorized else None,
    )


class _Walker(Generic[_T]):
    """Walks a VICS document and yields each Media object converted, or a RecordError."""

    def __init__(
        self, options: ReadOptions, convert: Callable[[object, _CategoryReader], _T]
    ) -> None:
        self._options = options
        self._convert = convert
        self._category: _CategoryReader | None = None
        self.record = 0  # records finished
        self._record_line: int | None = None  # where the record being read starts

    def walk(self, path: Path) -> Iterator[_T | RecordError]:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as file:
            stream = _JsonStream(file)
            if stream.peek() != "{":
                raise UsageError(f"{path.name} is not a VICS document: it is not a JSON object")
            context: VicsContext | None = None
            try:
                for key in stream.members():
                    if key in _CONTEXT_KEYS:
                        context = VicsContext.parse(self._scalar(stream))
                        self._category = _category_reader(context, self._options)
                    elif key == "value":
                        if context is None:
                            raise UsageError(
                                f"{path.name}: the odata context must come before the records"
                            )
                        if context.shape == "Media":
                            yield from self._media_array(stream)
                        else:
                            yield from self._cases(stream)
                    else:
                        stream.skip_value()
            except _Damaged as exc:
                line = stream.line() if self._record_line is None else self._record_line
                yield RecordError(self.record + 1, f"{exc}; reading stopped", line)
            if context is None:
                raise UsageError(f"{path.name} is not a VICS document: it has no odata context")

    @staticmethod
    def _scalar(stream: _JsonStream) -> object:
        try:
            return stream.value()
        except json.JSONDecodeError as exc:
            raise _Damaged(f"malformed JSON at line {stream.line()}: {exc.msg}") from None

    def _cases(self, stream: _JsonStream) -> Iterator[_T | RecordError]:
        for _ in stream.items():
            for key in stream.members():
                if key == "Media":
                    yield from self._media_array(stream)
                else:
                    stream.skip_value()

    def _media_array(self, stream: _JsonStream) -> Iterator[_T | RecordError]:
        assert self._category is not None
        for _ in stream.items():
            number = self.record + 1  # self.record counts finished records, for _Damaged
            line = self._record_line = stream.line()
            try:
                obj = stream.value()
            except json.JSONDecodeError as exc:
                offset = exc.pos - stream.pos
                stream.skip_value()
                self.record, self._record_line = number, None
                yield RecordError(
                    number, f"malformed JSON {offset} characters into the record: {exc.msg}", line
                )
                continue
            self.record, self._record_line = number, None
            try:
                yield self._convert(obj, self._category)
            except BadRecord as exc:
                yield RecordError(number, str(exc), line)


def read_case_media(path: Path, options: ReadOptions) -> Iterator[CaseMedia | RecordError]:
    """Stream a VICS document's Media with their MediaFiles (a `#Media` set has none)."""
    return _Walker(options, _case_media).walk(path)


class VicsFormat(HashSetFormat):
    name = "vics"
    title = "Project VIC VICS JSON 1.1-1.3 and 2.0 (#Media hash sets, #Cases exports)"

    @classmethod
    def probe(cls, head: bytes, file_name: str) -> bool:
        text = strip_bom(head).lstrip()
        return text.startswith(b"{") and any(f'"{key}"'.encode() in text for key in _CONTEXT_KEYS)

    @classmethod
    def read(cls, path: Path, options: ReadOptions) -> Iterator[KnownHashRecord | RecordError]:
        return _Walker(options, _media_record).walk(path)

    @classmethod
    def example(cls, tmp_path: Path) -> Path:
        # Written by hand rather than by write_media_set, to exercise what other tools write:
        # a BOM, upper-case hex, string booleans, PhotoDNA in AlternativeHashes (1.x style).
        (md5_1, sha1_1, sha256_1), (md5_2, _, _) = example_hashes(1), example_hashes(2)
        document = {
            "@odata.context": CONTEXT_URL.format("US", "Media"),
            "value": [
                {
                    "MD5": md5_1.upper(),
                    "MediaID": 1,
                    "Category": 1,
                    "SHA1": sha1_1.upper(),
                    "VictimIdentified": "true",
                    "OffenderIdentified": False,
                    "IsDistributed": True,
                    "Series": "Bridge, Desk",
                    "MediaSize": 1234,
                    "IsPrecategorized": False,
                    "AlternativeHashes": [
                        {"MD5": md5_1.upper(), "HashName": "SHA256", "HashValue": sha256_1},
                        {"MD5": md5_1.upper(), "HashName": "PhotoDNA", "HashValue": "AAEC"},
                        {"MD5": md5_1.upper(), "HashName": "EDK", "HashValue": "ignored"},
                    ],
                },
                {"MD5": md5_2, "MediaID": 2, "Category": None, "IsPrecategorized": "false"},
            ],
        }
        path = tmp_path / "example-vics.json"
        path.write_text("\ufeff" + json.dumps(document, indent=1), encoding="utf-8")
        return path

    @classmethod
    def example_records(cls) -> tuple[KnownHashRecord, ...]:
        (md5_1, sha1_1, sha256_1), (md5_2, _, _) = example_hashes(1), example_hashes(2)
        return (
            KnownHashRecord(
                md5=md5_1,
                sha1=sha1_1,
                sha256=sha256_1,
                photodna="AAEC",
                size=1234,
                category=Category(CategoryScheme.VICS, "1"),
                series=("Bridge", "Desk"),
                victim_identified=True,
                offender_identified=False,
                distributed=True,
            ),
            KnownHashRecord(md5=md5_2, category=Category(CategoryScheme.VICS, None)),
        )


# Writing.


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
    for name in _EXTRA_FLAGS:
        if name in extra:
            obj[name] = extra[name] == "true"
    for name in _EXTRA_TEXT:
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
        # MediaID only has to be unique in the file (FORMATS.md): an export-local row number.
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
