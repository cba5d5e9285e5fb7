"""The hash-set format plugin interface, the record every reader yields, and the field parsers.

Readers describe, the import service stores (plaso's parser/mediator split): a reader never opens
the database; it streams `KnownHashRecord`s and `RecordError`s in file order, in memory that
does not grow with the file. A bad record becomes a `RecordError` and reading goes on; only a
wrong configuration (an unknown category scheme, a file of another format) raises `UsageError`,
which the import service treats as "nothing imported" even when raised after the first records.
"""

from __future__ import annotations

import csv
import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal, NamedTuple

from cairn.core.errors import UsageError
from cairn.core.hash_kinds import DIGESTS, HASH_KINDS, HashName
from cairn.core.types import Category, CategoryScheme

_HEX_LENGTHS: dict[str, int] = {kind.name: kind.hex_length for kind in HASH_KINDS}
_LABELS: dict[str, str] = {kind.name: kind.label for kind in HASH_KINDS}
# A bare hash is typed by its length; 64 hex digits are SHA-256 unless the file or the user says
# PDQ (docs/formats.md), because the two cannot be told apart by looking.
_KIND_BY_LENGTH: dict[int, HashName] = {kind.hex_length: kind.name for kind in DIGESTS}

_HEX = re.compile(r"[0-9A-Fa-f]+")
_TRUE = frozenset({"y", "yes", "t", "true", "1"})
_FALSE = frozenset({"n", "no", "f", "false", "0"})
_CATEGORY_CODES: dict[CategoryScheme, frozenset[str]] = {
    CategoryScheme.VICS: frozenset({"0", "1", "2", "3", "4"}),
    CategoryScheme.DHS: frozenset({"0", "1", "2", "3", "4", "5"}),
    CategoryScheme.CAID: frozenset({"A", "B", "C"}),
}


class KnownHashRecord(NamedTuple):
    """One entry of a hash set, as its file describes it. Every field is optional, but a reader
    yields a record only when it carries at least one of MD5, SHA-1, SHA-256 or PDQ.

    Hex hashes are validated and lower-case. Why a NamedTuple and not a frozen dataclass: NSRL
    sets have tens of millions of rows and must import at 200k rows/s; building this record
    measured 0.8 µs as a NamedTuple against 2.2 µs as a frozen dataclass, most of the budget left
    after SQLite's own row fetch (about 2 µs).
    """

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None  # 0-100 when the file gives it
    # PhotoDNA is proprietary: Cairn can neither compute nor compare it, so it is carried verbatim
    # (base64, hex or comma-separated bytes, as the file has it) only to be shared onwards.
    photodna: str | None = None
    size: int | None = None
    # None: the file says nothing about categories. Category(scheme, None): uncategorised.
    category: Category | None = None
    series: tuple[str, ...] = ()
    victim_identified: bool | None = None
    offender_identified: bool | None = None
    distributed: bool | None = None
    media_id: str | None = None  # the source's stable id for the item (ICSE "Image ID")
    file_name: str | None = None  # a name the item is known under (NSRL, md5sum lists)
    mime_type: str | None = None
    comments: str | None = None
    tags: str | None = None
    # Format-specific facts Cairn does not query, under the format's own names, kept for
    # provenance: ("Baseline", "true"), ("package_id", "1234"), ("SelfGenerated", "false").
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RecordError:
    """A record that could not be read. `record` counts data records from 1 (header excluded);
    `line` is where the record starts in a text file, None for a database row."""

    record: int
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"record {self.record}" + ("" if self.line is None else f" (line {self.line})")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ReadOptions:
    """What the user tells a reader that the file cannot say for itself."""

    # The numbering of bare category codes (VICS 1.x, bare codes in CSV): never guessed.
    category_scheme: CategoryScheme | None = None
    # Numeric code -> category, for numberings only configuration knows (the VICS UK profile's
    # CAID A/B/C). When given it takes precedence over every scheme a VICS file implies.
    category_map: Mapping[int, Category] | None = None
    # "pdq": bare 64-hex hashes in plain lists are PDQ, not SHA-256.
    hash_type: Literal["pdq"] | None = None


class BadRecord(ValueError):
    """Raised by the field parsers below; readers turn it into a RecordError and go on."""


class HashSetFormat(ABC):
    """One hash-set file format. Subclasses are listed in `cairn.hashsets.registry.FORMATS`.

    Methods are class methods (python-threatexchange's SignalType pattern): a format has no
    state, and each carries its own tiny benign example so that the shared tests exercise every
    registered format.
    """

    name: ClassVar[str]  # the `--format` value
    title: ClassVar[str]
    # A generic format (plain lists) claims a file only when no specific format does: the
    # header of an ICSE CSV also names MD5 and SHA1 columns.
    generic: ClassVar[bool] = False

    @classmethod
    @abstractmethod
    def probe(cls, head: bytes, file_name: str) -> bool:
        """Whether a file starting with `head` (the first 64 KiB at most) is in this format."""

    @classmethod
    @abstractmethod
    def read(cls, path: Path, options: ReadOptions) -> Iterator[KnownHashRecord | RecordError]:
        """Stream the file's records in order, in constant memory.

        Raises UsageError (possibly after some records) when the file is not in this format or
        needs an option the user did not give.
        """

    @classmethod
    @abstractmethod
    def example(cls, tmp_path: Path) -> Path:
        """Write a tiny benign sample file into `tmp_path`; it reads back as example_records()."""

    @classmethod
    @abstractmethod
    def example_records(cls) -> tuple[KnownHashRecord, ...]:
        """The records `example()`'s file holds, in file order."""


def example_hashes(n: int) -> tuple[str, str, str]:
    """MD5, SHA-1 and SHA-256 of a benign byte string: the hashes format examples carry."""
    data = f"cairn example {n}".encode()
    return (
        hashlib.md5(data, usedforsecurity=False).hexdigest(),
        hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        hashlib.sha256(data).hexdigest(),
    )


def show(value: object) -> str:
    """A value for an error message: quoted, and cut short so that one message stays one line."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."  # 80: room for a whole SHA-256


def hex_hash(value: object, kind: HashName) -> str | None:
    """A validated lower-case hex hash; None when absent (null or empty)."""
    # The common case first, in as few calls as possible: a hash set has millions of them.
    if type(value) is str and len(value) == _HEX_LENGTHS[kind] and _HEX.fullmatch(value):
        return value.lower()
    if value is None:
        return None
    label = _LABELS[kind]
    if not isinstance(value, str):
        raise BadRecord(f"{label}: expected hexadecimal text, found {show(value)}")
    text = value.strip()
    if not text:
        return None
    if not _HEX.fullmatch(text):
        raise BadRecord(f"{label} {show(text)} has characters that are not hexadecimal")
    expected = _HEX_LENGTHS[kind]
    if len(text) != expected:
        raise BadRecord(f"{label} {show(text)} has {len(text)} hex digits, expected {expected}")
    return text.lower()


def classify_hex(value: str, hash_type: Literal["pdq"] | None) -> tuple[HashName, str]:
    """Type a bare hash by its length: 32 MD5, 40 SHA-1, 64 SHA-256 (or PDQ when told)."""
    text = value.strip()
    if not _HEX.fullmatch(text):
        raise BadRecord(f"hash {show(text)} has characters that are not hexadecimal")
    kind = _KIND_BY_LENGTH.get(len(text))
    if kind is None:
        raise BadRecord(
            f"hash {show(text)} has {len(text)} hex digits: "
            "not MD5 (32), SHA-1 (40) or SHA-256/PDQ (64)"
        )
    if kind == "sha256" and hash_type == "pdq":
        kind = "pdq"
    return kind, text.lower()


def text_value(value: object, field: str) -> str | None:
    """A free-text field; numbers are kept as their text, empty text is absent."""
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise BadRecord(f"{field}: expected text, found {show(value)}")


def parse_flag(value: object, field: str) -> bool | None:
    """A yes/no field: JSON booleans, or y/yes/t/true/1 and n/no/f/false/0 in any case."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise BadRecord(f"{field}: expected true or false, found {show(value)}")


def flag_text(value: bool) -> str:
    """How a flag is spelled inside `KnownHashRecord.extra`."""
    return "true" if value else "false"


def parse_count(value: object, field: str) -> int | None:
    """A non-negative integer (a size, a count) given as a JSON number or decimal text."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value)
    else:
        raise BadRecord(f"{field}: expected a whole number, found {show(value)}")
    if number < 0:
        raise BadRecord(f"{field}: expected a whole number, found {number}")
    return number


def parse_quality(value: object) -> int | None:
    """PDQ quality, 0-100."""
    quality = parse_count(value, "PDQ quality")
    if quality is not None and quality > 100:
        raise BadRecord(f"PDQ quality {quality} is outside 0-100")
    return quality


def split_series(value: object) -> tuple[str, ...]:
    """Series names: comma-delimited text (VICS) or a JSON list of names."""
    if value is None:
        return ()
    if isinstance(value, str):
        parts: list[object] = list(value.split(","))
    elif isinstance(value, list):
        parts = value
    else:
        raise BadRecord(f"Series: expected comma-separated names, found {show(value)}")
    names: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise BadRecord(f"Series: expected a name, found {show(part)}")
        if part.strip():
            names.append(part.strip())
    return tuple(names)


def make_category(scheme: CategoryScheme, code: str | None) -> Category:
    """A validated category. Uncategorised has one spelling, code None: DHS's 0 becomes None."""
    if code is None or not code.strip():
        return Category(scheme, None)
    code = code.strip()
    if scheme is CategoryScheme.CAID:
        code = code.upper()
    allowed = _CATEGORY_CODES.get(scheme)
    if allowed is not None and code not in allowed:
        raise BadRecord(
            f"category {show(code)} is not a {scheme.value} code ({', '.join(sorted(allowed))})"
        )
    if scheme is CategoryScheme.DHS and code == "0":
        return Category(scheme, None)
    return Category(scheme, code)


def parse_category(text: str, default_scheme: CategoryScheme | None) -> Category | None:
    """`scheme:code` as Category prints it, or a bare code in the scheme the user named."""
    text = text.strip()
    if not text:
        return None
    scheme_text, colon, code = text.partition(":")
    if not colon:
        if default_scheme is None:
            raise UsageError(
                f"category {text!r} has no scheme: write it as scheme:code "
                "or pass --category-scheme vics|dhs|caid|custom"
            )
        return make_category(default_scheme, text)
    try:
        scheme = CategoryScheme(scheme_text.strip().lower())
    except ValueError:
        raise BadRecord(f"unknown category scheme {show(scheme_text)}") from None
    return make_category(scheme, code)


def require_hash(record: KnownHashRecord) -> KnownHashRecord:
    """The record itself, if it has a hash Cairn can match on."""
    if record.md5 is None and record.sha1 is None and record.sha256 is None and record.pdq is None:
        raise BadRecord("no MD5, SHA-1, SHA-256 or PDQ hash")
    return record


def strip_bom(head: bytes) -> bytes:
    return head[3:] if head.startswith(b"\xef\xbb\xbf") else head


def first_line(head: bytes) -> str:
    """The first line of a text file's head, BOM and line end removed."""
    # errors="replace": the head may end inside a multi-byte character, or not be text at all.
    return strip_bom(head).decode("utf-8", errors="replace").split("\n", 1)[0].rstrip("\r")


def csv_rows(
    lines: Iterable[str], delimiter: str, first_line_number: int = 1
) -> Iterator[tuple[int, list[str] | str]]:
    """CSV rows as (line where the row starts, fields), or (line, error message) for a row the
    csv module rejects. Blank rows are dropped; an error never ends the iteration."""
    reader = csv.reader(lines, delimiter=delimiter)
    while True:
        line = first_line_number + reader.line_num
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield line, f"malformed CSV: {exc}"
            continue
        if "".join(fields).strip():  # one C call, where any() over fields costs per field
            yield line, fields
