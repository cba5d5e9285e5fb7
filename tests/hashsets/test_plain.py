"""Plain lists: bare hashes, md5sum-style output, CSV with a header; PDQ only when told."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.core.errors import UsageError
from cairn.core.types import Category, CategoryScheme
from cairn.hashsets.base import KnownHashRecord, ReadOptions, RecordError, example_hashes
from cairn.hashsets.plain import PlainFormat

MD5 = [example_hashes(n)[0] for n in range(6)]
SHA1 = [example_hashes(n)[1] for n in range(6)]
SHA256 = [example_hashes(n)[2] for n in range(6)]


def read(
    tmp_path: Path, text: str, options: ReadOptions | None = None
) -> list[KnownHashRecord | RecordError]:
    path = tmp_path / "list.txt"
    path.write_bytes(text.encode("utf-8"))
    return list(PlainFormat.read(path, options or ReadOptions()))


def test_bare_hashes_are_typed_by_length(tmp_path: Path) -> None:
    text = f"{MD5[1]}\n{SHA1[2].upper()}\n\n# a comment\n{SHA256[3]}\r\n"
    assert read(tmp_path, text) == [
        KnownHashRecord(md5=MD5[1]),
        KnownHashRecord(sha1=SHA1[2]),
        KnownHashRecord(sha256=SHA256[3]),
    ]


def test_64_hex_is_pdq_only_when_the_user_says_so(tmp_path: Path) -> None:
    text = f"{SHA256[3]}\n{MD5[1]}\n"
    assert read(tmp_path, text, ReadOptions(hash_type="pdq")) == [
        KnownHashRecord(pdq=SHA256[3]),
        KnownHashRecord(md5=MD5[1]),
    ]


@pytest.mark.parametrize(("header", "field"), [("pdq", "pdq"), ("SHA-256", "sha256")])
def test_a_single_column_header_names_the_hash(header: str, field: str, tmp_path: Path) -> None:
    got = read(tmp_path, f"\ufeff{header}\n{SHA256[1]}\n{SHA256[2].upper()}\n")
    assert got == [
        KnownHashRecord(**{field: SHA256[1]}),  # type: ignore[arg-type]
        KnownHashRecord(**{field: SHA256[2]}),  # type: ignore[arg-type]
    ]


def test_md5sum_and_sha256sum_output(tmp_path: Path) -> None:
    text = (
        f"{MD5[1]}  text mode.jpg\n"
        f"{MD5[2]} *binary mode.jpg\n"
        f"{SHA256[3]}   leading space.jpg\n"
        f"\\{MD5[4]}  back\\\\slash\\nnewline.jpg\n"
        f"SHA256 (tagged (1).jpg) = {SHA256[5]}\n"
        f"MD5 (tagged.jpg) = {MD5[5].upper()}\n"
        f"{SHA1[1]}\tafter a tab.png\n"
    )
    assert read(tmp_path, text) == [
        KnownHashRecord(md5=MD5[1], file_name="text mode.jpg"),
        KnownHashRecord(md5=MD5[2], file_name="binary mode.jpg"),
        KnownHashRecord(sha256=SHA256[3], file_name=" leading space.jpg"),
        KnownHashRecord(md5=MD5[4], file_name="back\\slash\nnewline.jpg"),
        KnownHashRecord(sha256=SHA256[5], file_name="tagged (1).jpg"),
        KnownHashRecord(md5=MD5[5], file_name="tagged.jpg"),
        KnownHashRecord(sha1=SHA1[1], file_name="after a tab.png"),
    ]


def test_bad_lines_are_reported_with_record_and_line(tmp_path: Path) -> None:
    text = (
        "# header comment\n"
        f"{MD5[1]}\n"
        f"{MD5[2][:-2]}\n"
        "\n"
        f"{MD5[3][:-1]}q  name.jpg\n"
        "not a hash at all\n"
        f"SHA1 (x.jpg) = {SHA1[1][:-1]}\n"
        " *indented\n"
        f"{MD5[5]}\n"
    )
    assert read(tmp_path, text) == [
        KnownHashRecord(md5=MD5[1]),
        RecordError(
            2,
            f"hash '{MD5[2][:-2]}' has 30 hex digits: not MD5 (32), SHA-1 (40) or SHA-256/PDQ (64)",
            3,
        ),
        RecordError(3, f"hash '{MD5[3][:-1]}q' has characters that are not hexadecimal", 5),
        RecordError(4, "hash 'not' has characters that are not hexadecimal", 6),
        RecordError(5, f"SHA-1 '{SHA1[1][:-1]}' has 39 hex digits, expected 40", 7),
        RecordError(6, "not a hash: ' *indented'", 8),
        KnownHashRecord(md5=MD5[5]),
    ]


def test_csv_with_named_columns(tmp_path: Path) -> None:
    text = (
        "MD5,sha1,SHA256,pdq,quality,category,series,victim_identified,offender identified,"
        "distributed,size,file_name,media id,mime,comments,tags,label\n"
        f'{MD5[1]},{SHA1[1]},{SHA256[1]},{SHA256[2]},90,vics:1,"Bridge, Desk",yes,no,t,'
        f'2048,a.jpg,ID-1,image/jpeg,"a, b",t1,benign sample\n'
        f"{MD5[2]},,,,,dhs:0,,,,,,,,,,,\n"
        f"{MD5[3]},,,,,caid:b,,,,,,,,,,,\n"
        f"{MD5[4]},,,,,,,,,,,,,,,,\n"
    )
    assert read(tmp_path, text) == [
        KnownHashRecord(
            md5=MD5[1],
            sha1=SHA1[1],
            sha256=SHA256[1],
            pdq=SHA256[2],
            pdq_quality=90,
            size=2048,
            category=Category(CategoryScheme.VICS, "1"),
            series=("Bridge", "Desk"),
            victim_identified=True,
            offender_identified=False,
            distributed=True,
            media_id="ID-1",
            file_name="a.jpg",
            mime_type="image/jpeg",
            comments="a, b",
            tags="t1",
            extra=(("label", "benign sample"),),
        ),
        KnownHashRecord(md5=MD5[2], category=Category(CategoryScheme.DHS, None)),
        KnownHashRecord(md5=MD5[3], category=Category(CategoryScheme.CAID, "B")),
        KnownHashRecord(md5=MD5[4]),
    ]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_csv_delimiters(delimiter: str, tmp_path: Path) -> None:
    text = f"hash{delimiter}name\n{SHA256[1]}{delimiter}x.jpg\n{MD5[2]}{delimiter}y.jpg\n"
    assert read(tmp_path, text, ReadOptions(hash_type="pdq")) == [
        KnownHashRecord(pdq=SHA256[1], file_name="x.jpg"),
        KnownHashRecord(md5=MD5[2], file_name="y.jpg"),
    ]


def test_bare_category_codes_need_a_scheme(tmp_path: Path) -> None:
    text = f"md5,category\n{MD5[1]},1\n"
    with pytest.raises(UsageError, match="pass --category-scheme"):
        read(tmp_path, text)
    assert read(tmp_path, text, ReadOptions(category_scheme=CategoryScheme.DHS)) == [
        KnownHashRecord(md5=MD5[1], category=Category(CategoryScheme.DHS, "1"))
    ]


def test_bad_csv_rows_are_reported_with_record_and_line(tmp_path: Path) -> None:
    text = (
        "md5,sha256,category,quality,hash\n"
        f"{MD5[1]},,vics:7,,\n"
        f"{MD5[2]},,eu:1,,\n"
        f"{MD5[3]},,,101,\n"
        f"{MD5[4]},,\n"
        f"{MD5[5]},,,,{MD5[4]}\n"
        ",,vics:1,,\n"
        f",{SHA256[1]},,,{SHA256[2]}\n"
        f"{MD5[1]},,,,{MD5[1]}\n"
    )
    assert read(tmp_path, text) == [
        RecordError(1, "category '7' is not a vics code (0, 1, 2, 3, 4)", 2),
        RecordError(2, "unknown category scheme 'eu'", 3),
        RecordError(3, "PDQ quality 101 is outside 0-100", 4),
        RecordError(4, "expected 5 fields, found 3", 5),
        RecordError(5, f"conflicting md5 values {MD5[5]} and {MD5[4]}", 6),
        RecordError(6, "no MD5, SHA-1, SHA-256 or PDQ hash", 7),
        RecordError(7, f"conflicting sha256 values {SHA256[1]} and {SHA256[2]}", 8),
        KnownHashRecord(md5=MD5[1]),
    ]


def test_an_empty_or_comment_only_file_has_no_records(tmp_path: Path) -> None:
    assert read(tmp_path, "") == []
    assert read(tmp_path, "# nothing here\n\n") == []


def test_probe() -> None:
    assert PlainFormat.probe(f"# list\n\n{MD5[1]}\n".encode(), "a.txt")
    assert PlainFormat.probe(f"{SHA256[1]}  a.jpg".encode(), "a.sha256")
    assert PlainFormat.probe(b"\xef\xbb\xbfpdq\r\n", "a.csv")
    assert PlainFormat.probe(f"SHA1 (a) = {SHA1[1]}".encode(), "a")
    assert not PlainFormat.probe(b"name,size\nx,1\n", "a.csv")
    assert not PlainFormat.probe(b"hello world\n", "a.txt")
    assert not PlainFormat.probe(b"", "a.txt")
