"""Reading VICS documents: the `vics` hash-set format and the Media of `#Cases` documents.

Category numbers are read in the scheme the file declares, and never guessed (docs/formats.md):
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
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Generic, Literal, TypeVar

from cairn.core.errors import UsageError
from cairn.core.hash_kinds import KNOWN_HASHES, HashName
from cairn.core.json_stream import Damaged, JsonStream
from cairn.core.types import Category, CategoryScheme
from cairn.hashsets.base import (
    BadRecord,
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
from cairn.hashsets.vics.document import CONTEXT_URL, EXTRA_FLAGS, EXTRA_TEXT, CaseMedia, MediaFile

_T = TypeVar("_T")
_CONTEXT_KEYS: Final = ("@odata.context", "odata.metadata")
_V2_CONTEXT = re.compile(r"/DataModels/2\.0\.xml/(\w+)/\$metadata#(\w+)", re.IGNORECASE)
_V1_CONTEXT = re.compile(r"/DataModels/(1\.[1-3])\.xml#(\w+)", re.IGNORECASE)
_PROFILES: Final = {"default": "Default", "us": "US", "uk": "UK", "custom": "CUSTOM"}
_SHAPES: Final[dict[str, Literal["Media", "Cases"]]] = {"media": "Media", "cases": "Cases"}
_EXTRA_NAMES: Final = frozenset(EXTRA_FLAGS + EXTRA_TEXT)
# AlternativeHashes names, upper-cased without '-' or '_'. Others (EDK, ...) are dropped: Cairn
# cannot compute them, so they could never match.
_ALT_HASHES: Final[dict[str, HashName]] = {
    kind.label.replace("-", "").upper(): kind.name for kind in KNOWN_HASHES
}


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
    for name in EXTRA_FLAGS:
        if (flag := parse_flag(obj.get(name), name)) is not None:
            extra.append((name, flag_text(flag)))
    for name in EXTRA_TEXT:
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
            stream = JsonStream(file)
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
            except Damaged as exc:
                line = stream.line() if self._record_line is None else self._record_line
                yield RecordError(self.record + 1, f"{exc}; reading stopped", line)
            if context is None:
                raise UsageError(f"{path.name} is not a VICS document: it has no odata context")

    @staticmethod
    def _scalar(stream: JsonStream) -> object:
        try:
            return stream.value()
        except json.JSONDecodeError as exc:
            raise Damaged(f"malformed JSON at line {stream.line()}: {exc.msg}") from None

    def _cases(self, stream: JsonStream) -> Iterator[_T | RecordError]:
        for _ in stream.items():
            for key in stream.members():
                if key == "Media":
                    yield from self._media_array(stream)
                else:
                    stream.skip_value()

    def _media_array(self, stream: JsonStream) -> Iterator[_T | RecordError]:
        assert self._category is not None
        for _ in stream.items():
            number = self.record + 1  # self.record counts finished records, for Damaged
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
