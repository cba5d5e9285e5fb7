"""Plain hash lists: one hash per line, md5sum/sha256sum output, or CSV with a header.

The first line that is not blank or a `#` comment decides the layout. If it names columns
(`md5`, `sha1`, `sha256`, `pdq`, `hash`, `category`, `series`, ...) the file is CSV with that
header, split on `,`, `;` or tab; a single-column file headed `pdq` is how a list says its 64-hex
hashes are PDQ. Otherwise each line is a hash, typed by its length, optionally followed by a
file name as md5sum and its siblings write it (`<hash>  <name>`, `<hash> *<name>`, a leading
backslash for escaped names, or the BSD `--tag` form `SHA256 (<name>) = <hash>`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any, Final

from cairn.core.hash_kinds import DIGESTS, KNOWN_HASHES, HashName
from cairn.hashsets.base import (
    BadRecord,
    HashSetFormat,
    KnownHashRecord,
    ReadOptions,
    RecordError,
    classify_hex,
    csv_rows,
    example_hashes,
    hex_hash,
    parse_category,
    parse_count,
    parse_flag,
    parse_quality,
    require_hash,
    show,
    split_series,
    strip_bom,
    text_value,
)

# Header names, lower-cased without ' ', '-' and '_', and the record field each fills.
# "hash" is a column of bare hashes typed by length, as in a one-hash-per-line file.
_COLUMNS: Final = {
    "md5": "md5",
    "sha1": "sha1",
    "sha256": "sha256",
    "pdq": "pdq",
    "pdqhash": "pdq",
    "hash": "hash",
    "pdqquality": "pdq_quality",
    "quality": "pdq_quality",
    "photodna": "photodna",
    "category": "category",
    "series": "series",
    "victimidentified": "victim_identified",
    "offenderidentified": "offender_identified",
    "distributed": "distributed",
    "isdistributed": "distributed",
    "size": "size",
    "filesize": "size",
    "filename": "file_name",
    "name": "file_name",
    "mediaid": "media_id",
    "id": "media_id",
    "mimetype": "mime_type",
    "mime": "mime_type",
    "comments": "comments",
    "comment": "comments",
    "tags": "tags",
}
_HEX_FIELDS: Final[dict[str, HashName]] = {kind.name: kind.name for kind in KNOWN_HASHES}
_HASH_COLUMNS: Final[frozenset[str]] = frozenset({*_HEX_FIELDS, "hash"})
_DELIMITERS: Final = (",", ";", "\t")
_NORMALISE: Final = str.maketrans("", "", " -_")

# md5sum: the hash, a space, ' ' (text) or '*' (binary), the name; other tools: white space.
_SUM_LINE: Final = re.compile(r"(?P<hash>[^\s*]+)(?:(?: [ *]|\s+)(?P<name>.*))?", re.DOTALL)
_TAG_LINE: Final = re.compile(r"(?P<algo>MD5|SHA-?1|SHA-?256) \((?P<name>.*)\) = (?P<hash>\S+)")
# BSD tags write the label with or without its hyphen: "SHA-256 (name) = ...", "SHA256 (...".
_TAG_KINDS: Final[dict[str, HashName]] = {
    spelling: kind.name
    for kind in DIGESTS
    for spelling in (kind.label, kind.label.replace("-", ""))
}
_ESCAPE: Final = re.compile(r"\\(.)")
_UNESCAPE: Final = {"n": "\n", "r": "\r", "\\": "\\"}


def _header(line: str) -> tuple[str, list[str]] | None:
    """(delimiter, cells) if the line names at least one hash column; the delimiter is the one
    under which most cells are known names."""
    best: tuple[int, str, list[str]] | None = None
    for delimiter in _DELIMITERS:
        cells = next(csv.reader([line], delimiter=delimiter), [])
        names = [_COLUMNS.get(cell.translate(_NORMALISE).lower()) for cell in cells]
        if _HASH_COLUMNS.isdisjoint(names):
            continue
        known = sum(name is not None for name in names)
        if best is None or known > best[0]:
            best = (known, delimiter, cells)
    return None if best is None else (best[1], best[2])


def _is_hash_line(line: str) -> bool:
    if _TAG_LINE.fullmatch(line):
        return True
    match = _SUM_LINE.fullmatch(line.removeprefix("\\"))
    if match is None:
        return False
    try:
        classify_hex(match["hash"], None)
    except BadRecord:
        return False
    return True


def _line_record(line: str, options: ReadOptions) -> KnownHashRecord:
    if tag := _TAG_LINE.fullmatch(line):
        kind = _TAG_KINDS[tag["algo"]]
        fields: dict[str, Any] = {kind: hex_hash(tag["hash"], kind), "file_name": tag["name"]}
        return require_hash(KnownHashRecord(**fields))
    # md5sum starts a line with a backslash when it escaped '\\' or a newline in the name.
    escaped = line.startswith("\\")
    match = _SUM_LINE.fullmatch(line[1:] if escaped else line)
    if match is None:
        raise BadRecord(f"not a hash: {show(line)}")
    kind, value = classify_hex(match["hash"], options.hash_type)
    name = match["name"] or None
    if name is not None and escaped:
        name = _ESCAPE.sub(lambda m: _UNESCAPE.get(m[1], m[0]), name)
    fields = {kind: value, "file_name": name}
    return KnownHashRecord(**fields)


def _cell(field: str, text: str, options: ReadOptions) -> Any:
    """One CSV cell as the value of the record field it fills."""
    if (kind := _HEX_FIELDS.get(field)) is not None:
        return hex_hash(text, kind)
    if field == "pdq_quality":
        return parse_quality(text.strip())
    if field == "category":
        return parse_category(text, options.category_scheme)
    if field == "series":
        return split_series(text)
    if field in ("victim_identified", "offender_identified", "distributed"):
        return parse_flag(text, field)
    if field == "size":
        return parse_count(text.strip(), field)
    return text_value(text.strip(), field)


def _csv_record(
    cells: list[str], columns: list[tuple[str | None, str]], options: ReadOptions
) -> KnownHashRecord:
    values: dict[str, Any] = {}
    extra: list[tuple[str, str]] = []
    value: Any
    for (field, name), text in zip(columns, cells, strict=True):
        if field is None:  # a column Cairn has no field for: kept under its own name
            if text.strip():
                extra.append((name, text.strip()))
            continue
        if field == "hash":
            if not text.strip():
                continue
            field, value = classify_hex(text, options.hash_type)
        else:
            value = _cell(field, text, options)
        if value is None or value == ():
            continue
        if values.get(field, value) != value:
            raise BadRecord(f"conflicting {field} values {values[field]} and {value}")
        values[field] = value
    return require_hash(KnownHashRecord(**values, extra=tuple(extra)))


def _read_csv(
    lines: Iterable[str], delimiter: str, header: list[str], first: int, options: ReadOptions
) -> Iterator[KnownHashRecord | RecordError]:
    columns = [(_COLUMNS.get(cell.translate(_NORMALISE).lower()), cell.strip()) for cell in header]
    for number, (line, cells) in enumerate(csv_rows(lines, delimiter, first), 1):
        if isinstance(cells, str):
            yield RecordError(number, cells, line)
        elif len(cells) != len(columns):
            yield RecordError(number, f"expected {len(columns)} fields, found {len(cells)}", line)
        else:
            try:
                yield _csv_record(cells, columns, options)
            except BadRecord as exc:
                yield RecordError(number, str(exc), line)


def _read_lines(
    lines: Iterable[str], first: int, options: ReadOptions
) -> Iterator[KnownHashRecord | RecordError]:
    number = 0
    for line_number, raw in enumerate(lines, first):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        number += 1
        try:
            yield _line_record(line, options)
        except BadRecord as exc:
            yield RecordError(number, str(exc), line_number)


def _first_content(lines: Iterable[str]) -> tuple[int, str] | None:
    for number, raw in enumerate(lines, 1):
        if raw.strip() and not raw.startswith("#"):
            return number, raw
    return None


class PlainFormat(HashSetFormat):
    name = "plain"
    title = "Plain hash lists: one hash per line, md5sum/sha256sum output, CSV with a header"
    generic = True

    @classmethod
    def probe(cls, head: bytes, file_name: str) -> bool:
        text = strip_bom(head).decode("utf-8", errors="replace")
        found = _first_content(text.splitlines())
        if found is None:
            return False
        line = found[1].rstrip("\r\n")
        return _header(line) is not None or _is_hash_line(line)

    @classmethod
    def read(cls, path: Path, options: ReadOptions) -> Iterator[KnownHashRecord | RecordError]:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as file:
            found = _first_content(file)
            if found is None:
                return
            number, raw = found
            header = _header(raw.rstrip("\r\n"))
            if header is None:
                yield from _read_lines(chain([raw], file), number, options)
            else:
                yield from _read_csv(file, header[0], header[1], number + 1, options)

    @classmethod
    def example(cls, tmp_path: Path) -> Path:
        (md5_1, _, _), (_, sha1_2, _), (_, _, sha256_3) = map(example_hashes, (1, 2, 3))
        path = tmp_path / "example-plain.txt"
        lines = (
            "# benign example hashes",
            md5_1,
            f"{sha1_2}  bridge.jpg",
            f"{sha256_3.upper()} *desk.png",
        )
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    @classmethod
    def example_records(cls) -> tuple[KnownHashRecord, ...]:
        (md5_1, _, _), (_, sha1_2, _), (_, _, sha256_3) = map(example_hashes, (1, 2, 3))
        return (
            KnownHashRecord(md5=md5_1),
            KnownHashRecord(sha1=sha1_2, file_name="bridge.jpg"),
            KnownHashRecord(sha256=sha256_3, file_name="desk.png"),
        )
