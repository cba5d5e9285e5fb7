"""ICSE-style hash export: `;`-delimited CSV with the header docs/formats.md gives.

The export carries no category column: what it lists is known material by the nature of the
database it came from, so the import service gives the set its kind and the records carry no
category. Columns beyond the twelve are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

from cairn.core.errors import UsageError
from cairn.hashsets.base import (
    BadRecord,
    HashSetFormat,
    KnownHashRecord,
    ReadOptions,
    RecordError,
    csv_rows,
    example_hashes,
    first_line,
    flag_text,
    hex_hash,
    parse_count,
    parse_flag,
    require_hash,
    text_value,
)

COLUMNS: Final = (
    "MD5",
    "SHA1",
    "PhotoDNA",
    "Image ID",
    "Is distributed",
    "Victim identified",
    "Offender identified",
    "Series name",
    "Number of submissions",
    "File Available",
    "Media Type",
    "Baseline",
)
_DELIMITER: Final = ";"


def _column_index(header: list[str]) -> dict[str, int] | None:
    """Where each ICSE column is, or None if one is missing (names compared case-blind)."""
    found = {name.strip().lower(): i for i, name in enumerate(header)}
    index = {name: found.get(name.lower(), -1) for name in COLUMNS}
    return None if -1 in index.values() else index


def _record(fields: list[str], at: dict[str, int]) -> KnownHashRecord:
    extra: list[tuple[str, str]] = []
    submissions = parse_count(fields[at["Number of submissions"]], "Number of submissions")
    if submissions is not None:
        extra.append(("Number of submissions", str(submissions)))
    if (available := parse_flag(fields[at["File Available"]], "File Available")) is not None:
        extra.append(("File Available", flag_text(available)))
    if media_type := fields[at["Media Type"]].strip():
        extra.append(("Media Type", media_type))
    if (baseline := parse_flag(fields[at["Baseline"]], "Baseline")) is not None:
        extra.append(("Baseline", flag_text(baseline)))
    series = fields[at["Series name"]].strip()
    return require_hash(
        KnownHashRecord(
            md5=hex_hash(fields[at["MD5"]], "md5"),
            sha1=hex_hash(fields[at["SHA1"]], "sha1"),
            photodna=text_value(fields[at["PhotoDNA"]].strip(), "PhotoDNA"),
            media_id=text_value(fields[at["Image ID"]].strip(), "Image ID"),
            distributed=parse_flag(fields[at["Is distributed"]], "Is distributed"),
            victim_identified=parse_flag(fields[at["Victim identified"]], "Victim identified"),
            offender_identified=parse_flag(
                fields[at["Offender identified"]], "Offender identified"
            ),
            series=(series,) if series else (),  # one series name per row
            extra=tuple(extra),
        )
    )


class IcseCsvFormat(HashSetFormat):
    name = "icse-csv"
    title = "ICSE-style hash export (;-delimited CSV)"

    @classmethod
    def probe(cls, head: bytes, file_name: str) -> bool:
        return _column_index(first_line(head).split(_DELIMITER)) is not None

    @classmethod
    def read(cls, path: Path, options: ReadOptions) -> Iterator[KnownHashRecord | RecordError]:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as file:
            rows = csv_rows(file, _DELIMITER)
            _, header = next(rows, (0, ""))
            if isinstance(header, str) or (at := _column_index(header)) is None:
                raise UsageError(
                    f"{path.name} is not an ICSE-style export: its header must name the columns "
                    + _DELIMITER.join(COLUMNS)
                )
            width = len(header)
            for number, (line, fields) in enumerate(rows, 1):
                if isinstance(fields, str):
                    yield RecordError(number, fields, line)
                elif len(fields) != width:
                    yield RecordError(number, f"expected {width} fields, found {len(fields)}", line)
                else:
                    try:
                        yield _record(fields, at)
                    except BadRecord as exc:
                        yield RecordError(number, str(exc), line)

    @classmethod
    def example(cls, tmp_path: Path) -> Path:
        (md5_1, sha1_1, _), (md5_2, _, _) = example_hashes(1), example_hashes(2)
        path = tmp_path / "example-icse.csv"
        lines = [
            _DELIMITER.join((*COLUMNS, "Notes")),
            f"{md5_1.upper()};{sha1_1.upper()};;IMG-0001;y;n;no;Bridge;3;yes;Image;t;ignored",
            f"{md5_2};;;IMG-0002;false;TRUE;f;;;;;;",
        ]
        path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
        return path

    @classmethod
    def example_records(cls) -> tuple[KnownHashRecord, ...]:
        (md5_1, sha1_1, _), (md5_2, _, _) = example_hashes(1), example_hashes(2)
        return (
            KnownHashRecord(
                md5=md5_1,
                sha1=sha1_1,
                media_id="IMG-0001",
                distributed=True,
                victim_identified=False,
                offender_identified=False,
                series=("Bridge",),
                extra=(
                    ("Number of submissions", "3"),
                    ("File Available", "true"),
                    ("Media Type", "Image"),
                    ("Baseline", "true"),
                ),
            ),
            KnownHashRecord(
                md5=md5_2,
                media_id="IMG-0002",
                distributed=False,
                victim_identified=True,
                offender_identified=False,
            ),
        )
