"""Every registered hash-set format, run against its own benign example (the plugin contract)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from cairn.core.errors import UsageError
from cairn.hashsets import registry
from cairn.hashsets.base import (
    HashSetFormat,
    KnownHashRecord,
    ReadOptions,
    RecordError,
)
from cairn.hashsets.nsrl import SQLITE_MAGIC
from cairn.hashsets.plain import PlainFormat

FORMATS = registry.FORMATS
IDS = [fmt.name for fmt in FORMATS]


def read_all(fmt: type[HashSetFormat], path: Path) -> list[KnownHashRecord | RecordError]:
    return list(fmt.read(path, ReadOptions()))


def first_hash(record: KnownHashRecord) -> str:
    for value in (record.md5, record.sha1, record.sha256, record.pdq):
        if value is not None:
            return value
    raise AssertionError("an example record without a hash")


def corrupt_first_hash(path: Path, record: KnownHashRecord, replacement: bytes) -> None:
    """Replace the first record's first hash in the file (either case) with `replacement`."""
    data = path.read_bytes()
    value = first_hash(record).encode()
    for spelling in (value, value.upper()):
        if spelling in data:
            path.write_bytes(data.replace(spelling, replacement))
            return
    raise AssertionError(f"{path.name} does not hold {value!r}")


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_example_reads_back_its_records(fmt: type[HashSetFormat], tmp_path: Path) -> None:
    path = fmt.example(tmp_path)
    assert read_all(fmt, path) == list(fmt.example_records())


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_example_is_detected_as_its_format(fmt: type[HashSetFormat], tmp_path: Path) -> None:
    assert registry.detect(fmt.example(tmp_path)) is fmt


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_every_example_record_has_a_lower_case_hash(fmt: type[HashSetFormat]) -> None:
    for record in fmt.example_records():
        for value in (record.md5, record.sha1, record.sha256, record.pdq):
            assert value is None or value == value.lower()
        first_hash(record)


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_non_hex_hash_is_a_record_error_and_reading_goes_on(
    fmt: type[HashSetFormat], tmp_path: Path
) -> None:
    path = fmt.example(tmp_path)
    expected = fmt.example_records()
    bad = first_hash(expected[0])
    corrupted = (bad[:5] + "g" + bad[6:]).encode()  # same length: works inside SQLite pages too
    corrupt_first_hash(path, expected[0], corrupted)
    got = read_all(fmt, path)
    assert len(got) == len(expected)
    error = got[0]
    assert isinstance(error, RecordError)
    assert error.record == 1
    assert "not hexadecimal" in error.message
    assert got[1:] == list(expected[1:])


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_wrong_hash_length_is_a_record_error_and_reading_goes_on(
    fmt: type[HashSetFormat], tmp_path: Path
) -> None:
    path = fmt.example(tmp_path)
    if path.read_bytes().startswith(SQLITE_MAGIC):
        pytest.skip("a shorter value would break the SQLite page; test_nsrl builds bad rows")
    expected = fmt.example_records()
    corrupt_first_hash(path, expected[0], first_hash(expected[0])[:-1].encode())
    got = read_all(fmt, path)
    error = got[0]
    assert isinstance(error, RecordError)
    assert error.record == 1
    assert "hex digits" in error.message
    assert got[1:] == list(expected[1:])


SPECIFIC = [fmt for fmt in FORMATS if not fmt.generic]


@pytest.mark.parametrize("fmt", SPECIFIC, ids=[fmt.name for fmt in SPECIFIC])
@pytest.mark.parametrize("other", FORMATS, ids=IDS)
def test_a_specific_format_refuses_another_formats_file(
    fmt: type[HashSetFormat], other: type[HashSetFormat], tmp_path: Path
) -> None:
    if other is fmt:
        return
    path = other.example(tmp_path)
    with path.open("rb") as file:
        assert not fmt.probe(file.read(registry.HEAD_BYTES), path.name)
    with pytest.raises(UsageError):
        read_all(fmt, path)


def test_plain_also_claims_an_icse_header_but_detection_prefers_the_specific_format(
    tmp_path: Path,
) -> None:
    from cairn.hashsets.icse import IcseCsvFormat

    path = IcseCsvFormat.example(tmp_path)
    assert PlainFormat.probe(path.read_bytes(), path.name)
    assert registry.detect(path) is IcseCsvFormat


def test_by_name() -> None:
    assert [registry.by_name(name) for name in IDS] == list(FORMATS)
    assert IDS == ["vics", "icse-csv", "nsrl", "plain"]
    with pytest.raises(UsageError, match="unknown hash-set format 'csv'"):
        registry.by_name("csv")


def test_detect_refuses_an_unknown_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\nbread\n")
    with pytest.raises(UsageError, match=r"cannot tell the hash-set format of notes\.txt"):
        registry.detect(path)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(UsageError, match="cannot tell"):
        registry.detect(empty)


def test_detect_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        registry.detect(tmp_path / "absent.json")


class _Greedy(HashSetFormat):
    """A format that claims everything, to make detection ambiguous."""

    name: ClassVar[str] = "greedy"
    title: ClassVar[str] = "claims every file"

    @classmethod
    def probe(cls, head: bytes, file_name: str) -> bool:
        return True

    @classmethod
    def read(cls, path: Path, options: ReadOptions) -> Iterator[KnownHashRecord | RecordError]:
        return iter(())

    @classmethod
    def example(cls, tmp_path: Path) -> Path:
        return tmp_path

    @classmethod
    def example_records(cls) -> tuple[KnownHashRecord, ...]:
        return ()


def test_detect_refuses_an_ambiguous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "FORMATS", (*FORMATS, _Greedy))
    path = FORMATS[0].example(tmp_path)
    with pytest.raises(UsageError, match=r"could be vics or greedy: pass --format"):
        registry.detect(path)


def test_record_error_text() -> None:
    assert str(RecordError(3, "MD5 'ab' has 2 hex digits, expected 32", 7)) == (
        "record 3 (line 7): MD5 'ab' has 2 hex digits, expected 32"
    )
    assert str(RecordError(9, "no MD5, SHA-1, SHA-256 or PDQ hash")) == (
        "record 9: no MD5, SHA-1, SHA-256 or PDQ hash"
    )
