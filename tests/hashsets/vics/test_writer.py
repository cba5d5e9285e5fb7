"""The VICS 2.0 writer: round trips through the reader, skips counted, streaming, the CSDL."""

from __future__ import annotations

import io
import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cairn.core.types import Category, CategoryScheme
from cairn.hashsets.base import KnownHashRecord, ReadOptions, RecordError, example_hashes
from cairn.hashsets.vics.document import CONTEXT_URL, CaseMedia, MediaFile
from cairn.hashsets.vics.reader import VicsFormat, read_case_media
from cairn.hashsets.vics.writer import CaseInfo, WriteSummary, write_case, write_media_set

SHARED_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
CSDL = SHARED_DATA / "formats" / "ProjectVicDataModel.2.0.xml"
VICS = CategoryScheme.VICS
MD5 = [example_hashes(n)[0] for n in range(10)]
SHA1 = [example_hashes(n)[1] for n in range(10)]
SHA256 = [example_hashes(n)[2] for n in range(10)]


def read_back(tmp_path: Path, text: str) -> list[KnownHashRecord | RecordError]:
    path = tmp_path / "written.json"
    path.write_text(text, encoding="utf-8")
    return list(VicsFormat.read(path, ReadOptions()))


def all_fields_records() -> list[KnownHashRecord]:
    return [
        KnownHashRecord(
            md5=MD5[1],
            sha1=SHA1[1],
            sha256=SHA256[1],
            pdq=SHA256[6],
            photodna="AAEC",
            size=1234,
            category=Category(VICS, "1"),
            series=("Bridge", "Desk"),
            victim_identified=True,
            offender_identified=False,
            distributed=True,
            mime_type="image/jpeg",
            comments='a "quoted" comment, é ☃',
            tags="t1",
            extra=(
                ("IsSuspected", "false"),
                ("SelfGenerated", "true"),
                ("DateUpdated", "2024-05-01T10:00:00+00:00"),
            ),
        ),
        KnownHashRecord(md5=MD5[2], category=Category(VICS, None)),
        KnownHashRecord(md5=MD5[3], category=Category(VICS, "0"), series=("Solo",)),
    ]


def test_media_set_round_trip(tmp_path: Path) -> None:
    records = all_fields_records()
    out = io.StringIO()
    assert write_media_set(records, out) == WriteSummary(written=3)
    assert read_back(tmp_path, out.getvalue()) == records


def test_media_set_writer_skips_what_vics_cannot_hold(tmp_path: Path) -> None:
    records = [
        KnownHashRecord(sha256=SHA256[1]),
        KnownHashRecord(md5=MD5[2], category=Category(CategoryScheme.CAID, "A")),
        KnownHashRecord(md5=MD5[3], category=Category(CategoryScheme.DHS, "5")),
        KnownHashRecord(md5=MD5[4], category=Category(CategoryScheme.DHS, None)),
        KnownHashRecord(md5=MD5[5]),
    ]
    out = io.StringIO()
    assert write_media_set(records, out) == WriteSummary(
        written=3, skipped_without_md5=1, skipped_category=1
    )
    assert read_back(tmp_path, out.getvalue()) == [
        KnownHashRecord(md5=MD5[3], category=Category(VICS, "0")),  # dhs 5 non-pertinent = vics 0
        KnownHashRecord(md5=MD5[4], category=Category(VICS, None)),
        KnownHashRecord(md5=MD5[5], category=Category(VICS, None)),
    ]


def test_media_set_has_no_paths_and_unique_media_ids() -> None:
    out = io.StringIO()
    write_media_set(all_fields_records(), out)
    document = json.loads(out.getvalue())
    assert document["@odata.context"] == CONTEXT_URL.format("US", "Media")
    assert [m["MediaID"] for m in document["value"]] == [1, 2, 3]
    assert not any("Path" in key or key == "MediaFiles" for m in document["value"] for key in m)


def test_writers_stream_one_record_at_a_time() -> None:
    out = io.StringIO()

    def records() -> Iterator[KnownHashRecord]:
        for n in range(1, 4):
            if n > 1:  # the previous record is already out before the next is asked for
                assert MD5[n - 1].upper() in out.getvalue()
            yield KnownHashRecord(md5=MD5[n])

    write_media_set(records(), out)
    case_out = io.StringIO()

    def media() -> Iterator[CaseMedia]:
        for n in range(1, 4):
            if n > 1:
                assert MD5[n - 1].upper() in case_out.getvalue()
            yield CaseMedia(KnownHashRecord(md5=MD5[n]))

    write_case(CaseInfo(uuid.UUID(int=1)), media(), case_out)


def case_fixture() -> tuple[CaseInfo, list[CaseMedia]]:
    case = CaseInfo(
        case_id=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        case_number="2026/77",
        contact_organization="Example Police",
        contact_name="A. Analyst",
        contact_email="analyst@example.org",
        seizure_date=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
    )
    when = datetime(2025, 12, 24, 18, 0, 1, 500, tzinfo=UTC)
    media = [
        CaseMedia(
            record=all_fields_records()[0],
            files=(
                MediaFile(
                    file_name="IMG_0001.JPG",
                    file_path="DCIM/IMG_0001.JPG",
                    created=when,
                    written=when,
                    accessed=when,
                    unallocated=False,
                    deleted=False,
                    source_id="phone.E01",
                    physical_location=1 << 33,
                ),
                MediaFile(
                    file_name="x.jpg",
                    file_path="backup.zip!x.jpg",
                    source_id="laptop",
                    parent_md5=MD5[8],
                    parent_file_name="backup.zip",
                    parent_file_path="Users/a/backup.zip",
                    deleted=True,
                    unallocated=True,
                ),
            ),
            precategorized_by="national set",
        ),
        CaseMedia(record=KnownHashRecord(md5=MD5[2], category=Category(VICS, "2"))),
        CaseMedia(record=KnownHashRecord(md5=MD5[3], category=Category(CategoryScheme.CAID, "B"))),
    ]
    return case, media


def test_case_round_trip(tmp_path: Path) -> None:
    case, media = case_fixture()
    out = io.StringIO()
    assert write_case(case, media, out) == WriteSummary(
        written=2, skipped_category=1, media_files=2
    )
    path = tmp_path / "case.json"
    path.write_text(out.getvalue())
    assert list(read_case_media(path, ReadOptions())) == media[:2]
    document = json.loads(out.getvalue())
    assert document["@odata.context"] == CONTEXT_URL.format("US", "Cases")
    [written_case] = document["value"]
    assert written_case["CaseID"] == "12345678-1234-5678-1234-567812345678"
    assert written_case["SeizureDate"] == "2026-03-01T09:30:00+00:00"
    assert written_case["SourceApplicationName"] == "Cairn"
    assert (written_case["TotalMediaFiles"], written_case["TotalPrecategorized"]) == (2, 1)
    ids = [f["MediaFileID"] for m in written_case["Media"] for f in m.get("MediaFiles", [])]
    assert ids == [1, 2]


# The writer against the 2.0 CSDL: every property exists on the right type, with its type.

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def csdl_types() -> dict[str, dict[str, tuple[str, bool]]]:
    """EntityType name -> property name -> (type, nullable); navigation types included."""
    types: dict[str, dict[str, tuple[str, bool]]] = {}
    for entity in ET.parse(CSDL).iter(f"{EDM}EntityType"):
        members: dict[str, tuple[str, bool]] = {}
        for prop in entity.findall(f"{EDM}Property"):
            members[prop.attrib["Name"]] = (
                prop.attrib["Type"],
                prop.attrib.get("Nullable", "true") != "false",
            )
        for nav in entity.findall(f"{EDM}NavigationProperty"):
            members[nav.attrib["Name"]] = (nav.attrib["Type"], True)
        types[entity.attrib["Name"]] = members
    return types


def check_entity(obj: dict[str, Any], entity: str, types: dict[str, Any]) -> None:
    members = types[entity]
    for name, (_, nullable) in members.items():
        if not nullable:
            assert name in obj, f"{entity}.{name} is required"
    for name, value in obj.items():
        assert name in members, f"{entity} has no property {name}"
        edm_type, nullable = members[name]
        if value is None:
            assert nullable, f"{entity}.{name} is not nullable"
        elif edm_type.startswith("Collection(CEModel."):
            assert isinstance(value, list)
            for item in value:
                check_entity(item, edm_type[len("Collection(CEModel.") : -1], types)
        elif edm_type == "Edm.String":
            assert isinstance(value, str), name
        elif edm_type in ("Edm.Int32", "Edm.Int64"):
            assert isinstance(value, int) and not isinstance(value, bool), name
            assert edm_type == "Edm.Int64" or -(2**31) <= value < 2**31
        elif edm_type == "Edm.Byte":
            assert isinstance(value, int) and 0 <= value <= 255, name
        elif edm_type == "Edm.Boolean":
            assert isinstance(value, bool), name
        elif edm_type == "Edm.Guid":
            uuid.UUID(value)
        elif edm_type == "Edm.DateTimeOffset":
            assert datetime.fromisoformat(value).tzinfo is not None, name
        else:
            raise AssertionError(f"{entity}.{name}: unchecked type {edm_type}")


def test_written_documents_match_the_csdl() -> None:
    types = csdl_types()
    assert {"Media", "MediaFile", "AlternativeHash", "Case"} <= set(types)
    out = io.StringIO()
    write_media_set(all_fields_records(), out)
    media_set = json.loads(out.getvalue())
    assert set(media_set) == {"@odata.context", "value"}
    for media in media_set["value"]:
        check_entity(media, "Media", types)
    case, media_items = case_fixture()
    out = io.StringIO()
    write_case(case, media_items, out)
    document = json.loads(out.getvalue())
    assert set(document) == {"@odata.context", "value"}
    for written_case in document["value"]:
        check_entity(written_case, "Case", types)
    emitted = {key for m in media_set["value"] for key in m}
    # The writer exercises the properties Cairn has data for, all of them in these fixtures.
    assert emitted >= {
        "MD5",
        "MediaID",
        "Category",
        "SHA1",
        "VictimIdentified",
        "OffenderIdentified",
        "IsDistributed",
        "Comments",
        "Tags",
        "Series",
        "MediaSize",
        "IsPrecategorized",
        "MimeType",
        "PhotoDNA",
        "AlternativeHashes",
        "IsSuspected",
        "SelfGenerated",
        "DateUpdated",
    }
