"""ICSE-style CSV: the exact header, flag spellings, extra columns, bad rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.core.errors import UsageError
from cairn.hashsets.base import KnownHashRecord, ReadOptions, RecordError, example_hashes
from cairn.hashsets.icse import COLUMNS, IcseCsvFormat

HEADER = ";".join(COLUMNS)
MD5 = [example_hashes(n)[0] for n in range(6)]
SHA1 = [example_hashes(n)[1] for n in range(6)]


def read(tmp_path: Path, *lines: str) -> list[KnownHashRecord | RecordError]:
    path = tmp_path / "icse.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return list(IcseCsvFormat.read(path, ReadOptions()))


def test_header_is_exactly_the_one_formats_md_gives() -> None:
    assert HEADER == (
        "MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;"
        "Series name;Number of submissions;File Available;Media Type;Baseline"
    )


@pytest.mark.parametrize(
    ("spelling", "value"),
    [
        ("y", True),
        ("yes", True),
        ("t", True),
        ("true", True),
        ("YES", True),
        (" True ", True),
        ("n", False),
        ("no", False),
        ("f", False),
        ("false", False),
        ("N", False),
        ("", None),
    ],
)
def test_flag_spellings(spelling: str, value: bool | None, tmp_path: Path) -> None:
    row = f"{MD5[1]};;;;{spelling};{spelling};{spelling};;;{spelling};;{spelling}"
    [record] = read(tmp_path, HEADER, row)
    assert isinstance(record, KnownHashRecord)
    assert (record.distributed, record.victim_identified, record.offender_identified) == (
        value,
        value,
        value,
    )
    flags = (
        []
        if value is None
        else [("File Available", str(value).lower()), ("Baseline", str(value).lower())]
    )
    assert record.extra == tuple(flags)


def test_columns_in_another_order_quoted_fields_and_crlf(tmp_path: Path) -> None:
    columns = list(reversed(COLUMNS))
    values = {
        "MD5": MD5[1].upper(),
        "SHA1": SHA1[1],
        "PhotoDNA": "AAEC",
        "Image ID": "77",
        "Is distributed": "y",
        "Victim identified": "n",
        "Offender identified": "n",
        "Series name": '"Bridge; Desk"',
        "Number of submissions": "12",
        "File Available": "n",
        "Media Type": "Video",
        "Baseline": "f",
    }
    path = tmp_path / "icse.csv"
    path.write_bytes(
        (
            "\ufeff" + ";".join(columns) + "\r\n" + ";".join(values[c] for c in columns) + "\r\n"
        ).encode()
    )
    assert list(IcseCsvFormat.read(path, ReadOptions())) == [
        KnownHashRecord(
            md5=MD5[1],
            sha1=SHA1[1],
            photodna="AAEC",
            media_id="77",
            distributed=True,
            victim_identified=False,
            offender_identified=False,
            series=("Bridge; Desk",),
            extra=(
                ("Number of submissions", "12"),
                ("File Available", "false"),
                ("Media Type", "Video"),
                ("Baseline", "false"),
            ),
        )
    ]


def test_bad_rows_are_reported_with_record_and_line(tmp_path: Path) -> None:
    got = read(
        tmp_path,
        HEADER,
        f"{MD5[1]};;;;;;;;;;;",
        "",
        f"{MD5[2]};;;;",
        f"{MD5[3][:31]};;;;;;;;;;;",
        f"{MD5[4]};{SHA1[4]}x;;;;;;;;;;",
        f"{MD5[5]};;;;maybe;;;;;;;",
        f"{MD5[5]};;;;;;;;many;;;",
        ";;;ID-9;y;;;;;;;",
        f"{MD5[0]};;;;;;;;;;;",
    )
    assert got == [
        KnownHashRecord(md5=MD5[1]),
        RecordError(2, "expected 12 fields, found 5", 4),
        RecordError(3, f"MD5 '{MD5[3][:31]}' has 31 hex digits, expected 32", 5),
        RecordError(4, f"SHA-1 '{SHA1[4]}x' has characters that are not hexadecimal", 6),
        RecordError(5, "Is distributed: expected true or false, found 'maybe'", 7),
        RecordError(6, "Number of submissions: expected a whole number, found 'many'", 8),
        RecordError(7, "no MD5, SHA-1, SHA-256 or PDQ hash", 9),
        KnownHashRecord(md5=MD5[0]),
    ]


def test_a_header_missing_columns_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not an ICSE-style export"):
        read(tmp_path, "MD5;SHA1;PhotoDNA", f"{MD5[1]};;")
    with pytest.raises(UsageError, match="is not an ICSE-style export"):
        read(tmp_path)


def test_probe_needs_every_column() -> None:
    assert IcseCsvFormat.probe(f"{HEADER};Extra\n{MD5[1]}".encode(), "x.csv")
    assert IcseCsvFormat.probe(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n", "x.csv")
    assert not IcseCsvFormat.probe(HEADER.replace(";Baseline", "").encode(), "x.csv")
    assert not IcseCsvFormat.probe(HEADER.replace(";", ",").encode(), "x.csv")
