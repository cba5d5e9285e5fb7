"""VICS 1.x/2.0 reading: streamed, every quirk docs/formats.md lists."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cairn.core import json_stream
from cairn.core.errors import UsageError
from cairn.core.types import Category, CategoryScheme
from cairn.hashsets.base import KnownHashRecord, ReadOptions, RecordError, example_hashes
from cairn.hashsets.vics.document import CONTEXT_URL, CaseMedia, MediaFile
from cairn.hashsets.vics.reader import VicsFormat, read_case_media

V13_MEDIA = "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"
VICS = CategoryScheme.VICS
MD5 = [example_hashes(n)[0] for n in range(10)]
SHA1 = [example_hashes(n)[1] for n in range(10)]
SHA256 = [example_hashes(n)[2] for n in range(10)]


def media_doc(*media: Any, profile: str = "US", context: str | None = None) -> str:
    url = context or CONTEXT_URL.format(profile, "Media")
    key = "odata.metadata" if "ICMEC" in url else "@odata.context"
    return json.dumps({key: url, "value": list(media)}, indent=1)


def read_text(
    tmp_path: Path, text: str, options: ReadOptions | None = None
) -> list[KnownHashRecord | RecordError]:
    path = tmp_path / "set.json"
    path.write_text(text, encoding="utf-8")
    return list(VicsFormat.read(path, options or ReadOptions()))


def vics_cat(code: str | None) -> Category:
    return Category(VICS, code)


# Reading: the quirks of files in the wild.


def test_booleans_as_json_or_strings_in_any_case_and_hex_in_either_case(tmp_path: Path) -> None:
    text = media_doc(
        {
            "MD5": MD5[1].upper(),
            "Category": 2,
            "VictimIdentified": "True",
            "OffenderIdentified": "FALSE",
            "IsDistributed": False,
            "SHA1": SHA1[1].upper(),
        },
        {"MD5": MD5[2], "Category": "4", "VictimIdentified": None, "IsDistributed": "true"},
    )
    assert read_text(tmp_path, text) == [
        KnownHashRecord(
            md5=MD5[1],
            sha1=SHA1[1],
            category=vics_cat("2"),
            victim_identified=True,
            offender_identified=False,
            distributed=False,
        ),
        KnownHashRecord(md5=MD5[2], category=vics_cat("4"), distributed=True),
    ]


def test_alternative_hashes_sha256_pdq_photodna_and_top_level_photodna(tmp_path: Path) -> None:
    pdq = SHA256[5]
    text = media_doc(
        {
            "MD5": MD5[1],
            "PhotoDNA": "AQID",
            "AlternativeHashes": [
                {"MD5": MD5[1], "HashName": "SHA-256", "HashValue": SHA256[1].upper()},
                {"MD5": MD5[1], "HashName": "pdq", "HashValue": pdq},
                {"MD5": MD5[1], "HashName": "EDK", "HashValue": "not kept"},
            ],
        },
        {
            "MD5": MD5[2],
            "AlternativeHashes": [
                {"MD5": MD5[2], "HashName": "PhotoDNA", "HashValue": "BAUG"},
                {"MD5": MD5[2], "HashName": "SHA1", "HashValue": SHA1[2]},
            ],
        },
    )
    assert read_text(tmp_path, text) == [
        KnownHashRecord(
            md5=MD5[1], sha256=SHA256[1], pdq=pdq, photodna="AQID", category=vics_cat(None)
        ),
        KnownHashRecord(md5=MD5[2], sha1=SHA1[2], photodna="BAUG", category=vics_cat(None)),
    ]


def test_series_comments_tags_size_mime_and_kept_extras(tmp_path: Path) -> None:
    text = media_doc(
        {
            "MD5": MD5[1],
            "Series": " Bridge ,,Desk,",
            "Comments": "seen twice",
            "Tags": "a;b",
            "MediaSize": "2048",
            "MimeType": "image/jpeg",
            "IsSuspected": "true",
            "SelfGenerated": False,
            "DateUpdated": "2024-05-01T10:00:00Z",
            "IsPrecategorized": True,
            "PrecategorizationSource": "national set",
            "MediaID": 77,
            "RelativeFilePath": "a/b.jpg",
        }
    )
    assert read_text(tmp_path, text) == [
        KnownHashRecord(
            md5=MD5[1],
            size=2048,
            category=vics_cat(None),
            series=("Bridge", "Desk"),
            mime_type="image/jpeg",
            comments="seen twice",
            tags="a;b",
            extra=(
                ("IsSuspected", "true"),
                ("SelfGenerated", "false"),
                ("DateUpdated", "2024-05-01T10:00:00Z"),
            ),
        )
    ]


def test_utf8_bom_and_unknown_top_level_members_are_skipped(tmp_path: Path) -> None:
    url = CONTEXT_URL.format("Default", "Media")
    text = (
        '\ufeff{"@odata.context": "' + url + '", "@odata.count": 2,'
        ' "other": {"nested": [1, {"x": "}]\\""}], "s": "[{"},'
        ' "value": [{"MD5": "' + MD5[1] + '", "Category": 0}], "trailer": [true, null]}'
    )
    path = tmp_path / "bom.json"
    path.write_bytes(text.encode("utf-8"))
    assert list(VicsFormat.read(path, ReadOptions())) == [
        KnownHashRecord(md5=MD5[1], category=vics_cat("0"))
    ]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 11, 64])
def test_chunk_boundaries_anywhere_read_the_same(
    chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Numbers, literals, escapes and multi-byte characters split across buffer refills."""
    media = [
        {
            "MD5": MD5[n],
            "Category": n % 5,
            "MediaSize": 10**n,
            "IsDistributed": n % 2 == 0,
            "Comments": 'quote " brace } bracket ] backslash \\ é ☃ \u2028',
            "Series": "S",
        }
        for n in range(1, 6)
    ]
    text = media_doc(*media)
    expected = read_text(tmp_path, text)
    assert len(expected) == 5 and all(isinstance(r, KnownHashRecord) for r in expected)
    monkeypatch.setattr(json_stream, "CHUNK_CHARS", chunk)
    assert read_text(tmp_path, text) == expected
    compact = json.dumps(json.loads(text), separators=(",", ":"))
    assert read_text(tmp_path, compact) == expected


def test_reading_is_lazy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first record comes out before the rest of the file is read."""
    monkeypatch.setattr(json_stream, "CHUNK_CHARS", 256)
    path = tmp_path / "big.json"
    path.write_text(media_doc(*({"MD5": MD5[n % 10]} for n in range(2000))))
    reads: list[int] = []
    real_open = Path.open

    def counting_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        file = real_open(self, *args, **kwargs)
        real_read = file.read

        def read(size: int = -1) -> Any:
            reads.append(size)
            return real_read(size)

        file.read = read
        return file

    monkeypatch.setattr(Path, "open", counting_open)
    records = VicsFormat.read(path, ReadOptions())
    assert next(records) == KnownHashRecord(md5=MD5[0], category=vics_cat(None))
    assert reads and all(size == 256 for size in reads) and len(reads) <= 3


# Category schemes: read in the file's scheme, never guessed.


def test_vics_1x_refuses_without_a_category_scheme(tmp_path: Path) -> None:
    text = media_doc({"MD5": MD5[1], "Category": 0}, context=V13_MEDIA)
    with pytest.raises(UsageError) as caught:
        read_text(tmp_path, text)
    assert str(caught.value) == (
        "VICS 1.x category numbers are ambiguous: pass --category-scheme vics|dhs"
    )


def test_vics_1x_reads_in_the_scheme_the_user_names(tmp_path: Path) -> None:
    text = media_doc(
        {
            "MD5": MD5[1],
            "Category": 0,
            "AlternativeHashes": [{"MD5": MD5[1], "HashName": "PhotoDNA", "HashValue": "AAEC"}],
        },
        {"MD5": MD5[2], "Category": 5},
        {"MD5": MD5[3], "Category": None},
        context=V13_MEDIA,
    )
    dhs = CategoryScheme.DHS
    assert read_text(tmp_path, text, ReadOptions(category_scheme=dhs)) == [
        KnownHashRecord(md5=MD5[1], photodna="AAEC", category=Category(dhs, None)),
        KnownHashRecord(md5=MD5[2], category=Category(dhs, "5")),
        KnownHashRecord(md5=MD5[3], category=Category(dhs, None)),
    ]
    got = read_text(tmp_path, text, ReadOptions(category_scheme=VICS))
    assert [r.category for r in got if isinstance(r, KnownHashRecord)] == [
        vics_cat("0"),
        vics_cat(None),
    ]
    error = got[1]
    assert isinstance(error, RecordError)
    assert (error.record, error.message) == (2, "category '5' is not a vics code (0, 1, 2, 3, 4)")


def test_vics_1x_cases_shape_with_odata_metadata(tmp_path: Path) -> None:
    text = json.dumps(
        {
            "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml#Cases",
            "value": [{"CaseID": str(uuid.UUID(int=1)), "Media": [{"MD5": MD5[1], "Category": 1}]}],
        }
    )
    assert read_text(tmp_path, text, ReadOptions(category_scheme=VICS)) == [
        KnownHashRecord(md5=MD5[1], category=vics_cat("1"))
    ]


def test_uk_profile_needs_a_category_map(tmp_path: Path) -> None:
    text = media_doc(
        {"MD5": MD5[1], "Category": 1},
        {"MD5": MD5[2], "Category": 3},
        {"MD5": MD5[3], "Category": None},
        profile="UK",
    )
    with pytest.raises(UsageError, match="map to CAID A/B/C is local configuration"):
        read_text(tmp_path, text)
    with pytest.raises(UsageError, match="map to CAID A/B/C is local configuration"):
        read_text(tmp_path, text, ReadOptions(category_scheme=VICS))
    caid = CategoryScheme.CAID
    options = ReadOptions(category_map={1: Category(caid, "A"), 2: Category(caid, "B")})
    got = read_text(tmp_path, text, options)
    assert got[0] == KnownHashRecord(md5=MD5[1], category=Category(caid, "A"))
    assert got[1] == RecordError(2, "category 3 is not in the category map", 8)
    assert got[2] == KnownHashRecord(md5=MD5[3])
    custom = read_text(tmp_path, text, ReadOptions(category_scheme=CategoryScheme.CUSTOM))
    assert [r.category for r in custom if isinstance(r, KnownHashRecord)] == [
        Category(CategoryScheme.CUSTOM, "1"),
        Category(CategoryScheme.CUSTOM, "3"),
        Category(CategoryScheme.CUSTOM, None),
    ]


def test_custom_profile_keeps_numbers_as_custom_codes(tmp_path: Path) -> None:
    text = media_doc({"MD5": MD5[1], "Category": 200}, profile="CUSTOM")
    assert read_text(tmp_path, text) == [
        KnownHashRecord(md5=MD5[1], category=Category(CategoryScheme.CUSTOM, "200"))
    ]


def test_us_profile_refuses_a_contradicting_scheme(tmp_path: Path) -> None:
    text = media_doc({"MD5": MD5[1], "Category": 1})
    with pytest.raises(UsageError, match="numbers categories in the vics scheme, not dhs"):
        read_text(tmp_path, text, ReadOptions(category_scheme=CategoryScheme.DHS))


# Whole-document problems are usage errors: nothing could be read.


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"MD5": "x"}]', "is not a VICS document: it is not a JSON object"),
        ('{"value": []}', "the odata context must come before the records"),
        ('{"name": "x"}', "is not a VICS document: it has no odata context"),
        (
            '{"@odata.context": "http://example.org/$metadata#Media", "value": []}',
            "unsupported VICS context",
        ),
        (
            '{"@odata.context": "' + CONTEXT_URL.format("FR", "Media") + '", "value": []}',
            "unsupported VICS context",
        ),
        (
            '{"@odata.context": "' + CONTEXT_URL.format("US", "Alerts") + '", "value": []}',
            "unsupported VICS context",
        ),
    ],
)
def test_documents_that_are_not_vics(text: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=message):
        read_text(tmp_path, text)


# Bad records: a RecordError with the record number and line, and reading goes on.


def test_bad_records_are_reported_and_reading_goes_on(tmp_path: Path) -> None:
    lines = [
        '{"@odata.context": "' + CONTEXT_URL.format("US", "Media") + '", "value": [',
        '{"MD5": "' + MD5[1] + '", "Category": 1},',
        '{"MD5": "' + MD5[2] + '" "Comments": "missing comma, \\"}]\\" inside"},',
        '{"MD5": "' + MD5[3][:-2] + '"},',
        '{"MD5": "' + MD5[4][:-1] + 'z"},',
        "42,",
        '{"Category": 1},',
        '{"MD5": "' + MD5[7] + '", "Category": 9},',
        '{"MD5": "' + MD5[8] + '", "VictimIdentified": "maybe"},',
        '{"MD5": "' + MD5[9] + '", "SHA1": "' + SHA1[9] + '", "AlternativeHashes": '
        '[{"HashName": "SHA1", "HashValue": "' + SHA1[8] + '"}]},',
        '{"MD5": "' + MD5[0] + '", "MediaSize": -1},',
        '{"MD5": "' + MD5[1] + '", "Category": tru},',
        '{"MD5": "' + MD5[5] + '", "Category": 2}',
        "]}",
    ]
    got = read_text(tmp_path, "\n".join(lines))
    assert got == [
        KnownHashRecord(md5=MD5[1], category=vics_cat("1")),
        RecordError(2, "malformed JSON 43 characters into the record: Expecting ',' delimiter", 3),
        RecordError(3, f"MD5 '{MD5[3][:-2]}' has 30 hex digits, expected 32", 4),
        RecordError(4, f"MD5 '{MD5[4][:-1]}z' has characters that are not hexadecimal", 5),
        RecordError(5, "a Media record must be a JSON object, found 42", 6),
        RecordError(6, "no MD5, SHA-1, SHA-256 or PDQ hash", 7),
        RecordError(7, "category '9' is not a vics code (0, 1, 2, 3, 4)", 8),
        RecordError(8, "VictimIdentified: expected true or false, found 'maybe'", 9),
        RecordError(9, f"conflicting SHA1 values {SHA1[9]} and {SHA1[8]}", 10),
        RecordError(10, "MediaSize: expected a whole number, found -1", 11),
        RecordError(11, "malformed JSON 56 characters into the record: Expecting value", 12),
        KnownHashRecord(md5=MD5[5], category=vics_cat("2")),
    ]


def test_a_truncated_file_keeps_what_came_before(tmp_path: Path) -> None:
    text = media_doc({"MD5": MD5[1]}, {"MD5": MD5[2], "Comments": "cut here"})
    cut = text[: text.index("cut here")]
    got = read_text(tmp_path, cut)
    assert got[0] == KnownHashRecord(md5=MD5[1], category=vics_cat(None))
    assert got[1:] == [
        RecordError(2, "the file ends inside this record (truncated?); reading stopped", 7)
    ]


def test_broken_structure_between_records_stops_with_an_error(tmp_path: Path) -> None:
    text = (
        '{"@odata.context": "' + CONTEXT_URL.format("US", "Media") + '", "value": [\n'
        '{"MD5": "' + MD5[1] + '"}\n{"MD5": "' + MD5[2] + '"}]}'
    )
    got = read_text(tmp_path, text)
    assert got == [
        KnownHashRecord(md5=MD5[1], category=vics_cat(None)),
        RecordError(2, "expected ',' at line 3, found '{'; reading stopped", 3),
    ]


def test_an_unterminated_string_ends_reading_in_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_stream, "CHUNK_CHARS", 64)
    monkeypatch.setattr(json_stream, "MAX_RECORD_CHARS", 1000)
    text = (
        '{"@odata.context": "' + CONTEXT_URL.format("US", "Media") + '", "value": [\n'
        '{"MD5": "' + MD5[1] + '"},\n{"MD5": "' + MD5[2] + ", " + "x" * 5000 + "\n]}"
    )
    got = read_text(tmp_path, text)
    assert got == [
        KnownHashRecord(md5=MD5[1], category=vics_cat(None)),
        RecordError(2, "the file ends inside this record (truncated?); reading stopped", 3),
    ]


# #Cases.


def cases_doc() -> str:
    media_file = {
        "MD5": MD5[1],
        "MediaFileID": 1,
        "FileName": "a.jpg",
        "FilePath": "DCIM/a.jpg",
        "Created": "2023-01-02T03:04:05+01:00",
        "Deleted": "true",
        "SourceID": "phone",
        "PhysicalLocation": 4096,
        "ParentMD5": MD5[9].upper(),
    }
    return json.dumps(
        {
            "@odata.context": CONTEXT_URL.format("Default", "Cases"),
            "value": [
                {
                    "CaseID": str(uuid.UUID(int=7)),
                    "CaseNumber": "C-1",
                    "Media": [
                        {
                            "MD5": MD5[1],
                            "Category": 1,
                            "IsPrecategorized": True,
                            "PrecategorizationSource": "national set",
                            "MediaFiles": [media_file],
                        },
                        {"MD5": MD5[2], "Category": 3},
                    ],
                    "TotalMediaFiles": 1,
                },
                {
                    "Media": [{"MD5": MD5[3], "Category": "x"}, {"MD5": MD5[4], "Category": 4}],
                    "CaseID": str(uuid.UUID(int=8)),
                },
            ],
        }
    )


def test_cases_shape_yields_the_media_of_every_case(tmp_path: Path) -> None:
    assert read_text(tmp_path, cases_doc()) == [
        KnownHashRecord(md5=MD5[1], category=vics_cat("1")),
        KnownHashRecord(md5=MD5[2], category=vics_cat("3")),
        RecordError(3, "Category: expected a number 0-255, found 'x'", 1),
        KnownHashRecord(md5=MD5[4], category=vics_cat("4")),
    ]


def test_read_case_media_keeps_media_files(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text(cases_doc())
    got = list(read_case_media(path, ReadOptions()))
    assert got[0] == CaseMedia(
        record=KnownHashRecord(md5=MD5[1], category=vics_cat("1")),
        files=(
            MediaFile(
                file_name="a.jpg",
                file_path="DCIM/a.jpg",
                created=datetime(2023, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=1))),
                deleted=True,
                source_id="phone",
                physical_location=4096,
                parent_md5=MD5[9],
            ),
        ),
        precategorized_by="national set",
    )
    assert got[1] == CaseMedia(record=KnownHashRecord(md5=MD5[2], category=vics_cat("3")))
    assert isinstance(got[2], RecordError)
    assert len(got) == 4
