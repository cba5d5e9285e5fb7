"""Archive expansion through the public path: `analyse_stream` on a container's bytes.

Every archive is built here (zipfile, tarfile, the `zip` and `7z` tools, a RAR 4 writer for
stored members); every expected digest is hashlib's over the bytes the test wrote.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import random
import struct
import subprocess
import sys
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cairn.core.records import EntryRecord, ErrorRecord
from cairn.core.settings import AnalysisSettings
from cairn.core.types import EntryKind, Flag
from cairn.evidence.analysis import Analysis, analyse_file, analyse_stream
from cairn.evidence.archive import expand_archive

SETTINGS = AnalysisSettings(thumbnails=False)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def blob(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def expand(data: bytes, name: bytes, settings: AnalysisSettings = SETTINGS) -> Analysis:
    return analyse_stream(io.BytesIO(data), name, 0, settings)


def paths(analysis: Analysis) -> list[bytes]:
    return [m.path for m in analysis.members]


def by_path(analysis: Analysis) -> dict[bytes, EntryRecord]:
    return {m.path: m for m in analysis.members}


def digest(record: EntryRecord) -> str | None:
    return record.content.digests.sha256 if record.content else None


def make_zip(members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            # A fixed date keeps the archive's bytes the same from run to run.
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 5))
            archive.writestr(info, data, compress_type=compression)
    return buffer.getvalue()


def raw_name_zip(members: list[tuple[bytes, bytes, bool]]) -> bytes:
    """A zip whose names are exactly the given bytes, UTF-8 flag (bit 11) set as asked.

    zipfile re-encodes names itself, so members are written under same-length placeholders
    that are then replaced, with the flag, in both the local and the central headers.
    """
    placeholders = [
        f"{i:02d}".encode() + b"_" * (len(name) - 2) for i, (name, _, _) in enumerate(members)
    ]
    data = bytearray(
        make_zip(
            [
                (p.decode(), content)
                for p, (_, content, _) in zip(placeholders, members, strict=True)
            ]
        )
    )
    for placeholder, (name, _, utf8) in zip(placeholders, members, strict=True):
        at = data.find(placeholder)
        while at >= 0:  # once in the local header, once in the central directory
            data[at : at + len(name)] = name
            local = data[at - 30 : at - 26] == b"PK\x03\x04"
            flags_at = at - 30 + 6 if local else at - 46 + 8
            (flags,) = struct.unpack_from("<H", data, flags_at)
            struct.pack_into("<H", data, flags_at, flags | 0x800 if utf8 else flags & ~0x800)
            at = data.find(placeholder)
    return bytes(data)


def make_tar(
    members: list[tarfile.TarInfo | tuple[str, bytes]],
    mode: str = "w",
    tar_format: int = tarfile.GNU_FORMAT,
) -> bytes:
    buffer = io.BytesIO()
    # latin-1 maps every byte to one character, so str names carry arbitrary raw bytes.
    with tarfile.open(fileobj=buffer, mode=mode, format=tar_format, encoding="latin-1") as archive:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                archive.addfile(member)
                continue
            name, data = member
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def rar4(members: list[tuple[bytes, bytes, bool]]) -> bytes:
    """A RAR 4 archive of stored (uncompressed) members; no RAR writer is free software.

    Layout from RARLAB's technote: a marker, then blocks of CRC16 (low half of the CRC-32 of
    the rest of the header), type, flags, size; file headers carry 0x8000 (a data area
    follows) and 0x0004 when the data is encrypted.
    """

    def block(kind: int, flags: int, body: bytes) -> bytes:
        head = struct.pack("<BHH", kind, flags, 7 + len(body)) + body
        return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head

    out = b"Rar!\x1a\x07\x00" + block(0x73, 0, bytes(6))
    for name, data, encrypted in members:
        header = struct.pack(
            "<IIBIIBBHI",
            len(data),  # packed size
            len(data),  # unpacked size
            3,  # host OS: Unix
            zlib.crc32(data),
            0x5A8E6A00,  # DOS time 2025-04-14 13:16:00
            20,  # version needed: 2.0
            0x30,  # method: store
            len(name),
            0o100644,
        )
        out += block(0x74, 0x8000 | (0x0004 if encrypted else 0), header + name) + data
    return out + block(0x7B, 0x4000, b"")


def run(*command: str, cwd: Path) -> None:
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)


# --- members, names and nesting ---------------------------------------------------------------


def test_nested_members_have_container_paths_digests_and_depths() -> None:
    photo, note, deep = blob(1, 40_000), b"a note\n", blob(2, 3000)
    inner_tgz = make_tar([("dir/photo.jpg", photo)], mode="w:gz")
    inner_zip = make_zip([("deep.bin", deep)])
    outer = make_zip(
        [("note.txt", note), ("dir/", b""), ("inner.tar.gz", inner_tgz), ("inner.zip", inner_zip)]
    )

    result = expand(outer, b"cases/outer.zip")

    assert result.errors == [] and result.flags == set()
    assert paths(result) == [
        b"cases/outer.zip!note.txt",
        b"cases/outer.zip!inner.tar.gz",
        b"cases/outer.zip!inner.tar.gz!dir/photo.jpg",
        b"cases/outer.zip!inner.zip",
        b"cases/outer.zip!inner.zip!deep.bin",
    ]
    expected = [
        (note, 1, b"cases/outer.zip"),
        (inner_tgz, 1, b"cases/outer.zip"),
        (photo, 2, b"cases/outer.zip!inner.tar.gz"),
        (inner_zip, 1, b"cases/outer.zip"),
        (deep, 2, b"cases/outer.zip!inner.zip"),
    ]
    for record, (data, depth, container) in zip(result.members, expected, strict=True):
        assert record.kind is EntryKind.MEMBER
        assert (record.depth, record.container, record.size) == (depth, container, len(data))
        assert digest(record) == sha(data)
        assert record.errors == () and record.flags == frozenset()
    mimes = {m.path: m.content.mime for m in result.members if m.content}
    assert mimes[b"cases/outer.zip!inner.tar.gz"] == "application/gzip"
    assert mimes[b"cases/outer.zip!inner.zip"] == "application/zip"
    photo_record = by_path(result)[b"cases/outer.zip!inner.tar.gz!dir/photo.jpg"]
    assert photo_record.times.mtime == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_tar_names_pass_through_as_raw_bytes_and_unsafe_ones_are_flagged() -> None:
    names = [
        b"caf\xe9.jpg",  # latin-1, not UTF-8
        b"\x93\xfa\x96{.txt",  # Shift-JIS bytes
        b"../up.txt",
        b"a/../../b.txt",
        b"/etc/x",
        b"..\\..\\win.txt",
        b"C:\\temp\\x.txt",
        b"ok/..hidden",  # a dotted name, not a parent reference
    ]
    data = make_tar([(name.decode("latin-1"), name * 3) for name in names])

    result = expand(data, b"t.tar")

    assert paths(result) == [b"t.tar!" + name for name in names]
    for name, record in zip(names, result.members, strict=True):
        assert digest(record) == sha(name * 3)
    unsafe = {m.path.split(b"!", 1)[1] for m in result.members if Flag.UNSAFE_PATH in m.flags}
    assert unsafe == set(names[2:7])


def test_zip_names_are_the_header_bytes_whatever_libarchive_would_make_of_them() -> None:
    members = [
        (b"caf\x82.jpg", b"cp437, no UTF-8 flag", False),
        (b"e\xcc\x81t\xc3\xa9.txt", b"UTF-8 flag, decomposed (NFD)", True),
        (b"bad\xff.txt", b"UTF-8 flag, not UTF-8", True),
        (b"..\\..\\evil.txt", b"Windows separators", False),
        (b"/etc/passwd", b"absolute", False),
        (b"plain.txt", b"plain", False),
    ]
    result = expand(raw_name_zip(members), b"n.zip")

    assert paths(result) == [b"n.zip!" + name for name, _, _ in members]
    for (_, content, _), record in zip(members, result.members, strict=True):
        assert digest(record) == sha(content)
    flagged = [m.path for m in result.members if Flag.UNSAFE_PATH in m.flags]
    assert flagged == [b"n.zip!..\\..\\evil.txt", b"n.zip!/etc/passwd"]
    # libarchive cannot convert the invalid UTF-8 name and says so; the member is still hashed.
    warning = ErrorRecord("archive", "Pathname cannot be converted from UTF-8 to current locale.")
    assert [m.errors for m in result.members] == [(), (), (warning,), (), (), ()]


@pytest.mark.parametrize("with_directory", [True, False])
def test_zip_unicode_path_field_gives_the_name_its_writer_meant(with_directory: bool) -> None:
    """Info-ZIP's Unicode path field (0x7075) carries the real name beside a legacy one.

    With a central directory libarchive seeks and our own name lookup disagrees with it, so
    libarchive's name wins; without one libarchive streams the local headers.
    """
    legacy, unicode_name = b"caf\x82.txt", "caf\u00e9.txt".encode()
    field = struct.pack("<BI", 1, zlib.crc32(legacy)) + unicode_name
    extra = struct.pack("<HH", 0x7075, len(field)) + field
    data = bytearray(raw_name_zip([(legacy, b"both", False)]))
    at = data.find(legacy)  # the local header's name; its extra-field length sits just before
    struct.pack_into("<H", data, at - 2, len(extra))
    data[at + len(legacy) : at + len(legacy)] = extra
    end = data.rfind(b"PK\x05\x06")
    (directory_at,) = struct.unpack_from("<I", data, end + 16)
    struct.pack_into("<I", data, end + 16, directory_at + len(extra))
    if not with_directory:
        del data[data.find(b"PK\x01\x02") :]

    result = expand(bytes(data), b"u.zip")

    assert paths(result) == [b"u.zip!caf\xc3\xa9.txt"]
    assert digest(result.members[0]) == sha(b"both")


def test_empty_zip_has_no_members_and_no_errors() -> None:
    result = expand(make_zip([]), b"empty.zip")
    assert (result.members, result.errors) == ([], [])


def test_archive_that_cannot_be_reopened_is_a_read_error() -> None:
    def gone() -> int:
        raise FileNotFoundError(2, "No such file or directory")

    result = expand_archive(
        None, gone, b"gone.zip", 1, SETTINGS, analyse=analyse_stream, archive_size=100
    )

    assert (result.members, result.errors) == (
        [],
        [ErrorRecord("read", "ENOENT: No such file or directory")],
    )


def test_nothing_is_written_to_disk_for_escaping_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    target = tmp_path / "escaped.txt"
    data = make_tar([("../escaped.txt", b"x"), (str(target), b"y"), ("here.txt", b"z")])

    result = expand(data, b"t.tar")

    assert len(result.members) == 3
    assert not target.exists()
    assert list(work.iterdir()) == []


def test_non_regular_members_are_recorded_without_content_and_folders_are_skipped() -> None:
    def info(name: str, kind: bytes, link: str = "") -> tarfile.TarInfo:
        member = tarfile.TarInfo(name)
        member.type, member.linkname = kind, link
        return member

    data = make_tar(
        [
            ("file.txt", b"data"),
            info("folder", tarfile.DIRTYPE),
            info("sym", tarfile.SYMTYPE, "file.txt"),
            info("hard", tarfile.LNKTYPE, "file.txt"),
            info("fifo", tarfile.FIFOTYPE),
            info("tty", tarfile.CHRTYPE),
            info("disk", tarfile.BLKTYPE),
        ]
    )

    result = expand(data, b"t.tar")

    kinds = [(m.path, m.kind, m.size, m.content, m.errors) for m in result.members]
    assert kinds == [
        (b"t.tar!file.txt", EntryKind.MEMBER, 4, result.members[0].content, ()),
        (b"t.tar!sym", EntryKind.SYMLINK, None, None, ()),
        (b"t.tar!hard", EntryKind.HARDLINK, None, None, ()),
        (b"t.tar!fifo", EntryKind.FIFO, None, None, ()),
        (b"t.tar!tty", EntryKind.DEVICE, None, None, ()),
        (b"t.tar!disk", EntryKind.DEVICE, None, None, ()),
    ]
    assert digest(result.members[0]) == sha(b"data")


def test_single_compressed_streams_expand_to_one_member() -> None:
    payload = blob(3, 5000)
    named = io.BytesIO()
    with gzip.GzipFile(filename="original name.bin", mode="wb", fileobj=named, mtime=0) as stream:
        stream.write(payload)

    cases = [
        (gzip.compress(payload, mtime=0), b"docs/report.pdf.gz", b"docs/report.pdf.gz!report.pdf"),
        (named.getvalue(), b"x.gz", b"x.gz!original name.bin"),  # the gzip header's own name
        (bz2.compress(payload), b"a/b.BZ2", b"a/b.BZ2!b"),
        (lzma.compress(payload), b"blob", b"blob!data"),  # no suffix to drop: libarchive's name
        (gzip.compress(payload, mtime=0), b"odd.tgz", b"odd.tgz!odd.tar"),
    ]
    for data, name, member in cases:
        result = expand(data, name)
        assert result.errors == []
        assert paths(result) == [member]
        assert digest(result.members[0]) == sha(payload)
        assert result.members[0].size == len(payload)


def test_7z_members_and_times(tmp_path: Path) -> None:
    contents = {"a.txt": b"alpha", "sub/b.bin": blob(4, 70_000), "\u00e9t\u00e9.txt": b"summer"}
    for name, data in contents.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(data)
        os.utime(tmp_path / name, ns=(1_650_000_000_250_000_000, 1_600_000_000_123_456_700))
    run("7z", "a", "-bd", "x.7z", *contents, cwd=tmp_path)

    result = expand((tmp_path / "x.7z").read_bytes(), b"x.7z")

    assert result.errors == []
    assert sorted(paths(result)) == sorted(b"x.7z!" + n.encode() for n in contents)
    for name, data in contents.items():
        record = by_path(result)[b"x.7z!" + name.encode()]
        assert digest(record) == sha(data)
        assert record.times.mtime == datetime(2020, 9, 13, 12, 26, 40, 123456, tzinfo=UTC)


@pytest.fixture
def utc_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """zip and RAR DOS times are local; libarchive reads them in the process's zone (mktime)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("utc_zone")
def test_zip_without_extended_times_has_no_atime_or_ctime(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"timed")
    os.utime(tmp_path / "f.txt", (1_600_000_000, 1_650_000_000))
    run("zip", "-q", "ut.zip", "f.txt", cwd=tmp_path)  # Info-ZIP writes UTC mtime/atime extras

    with_extra = expand((tmp_path / "ut.zip").read_bytes(), b"ut.zip").members[0]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("f.txt", date_time=(2020, 5, 17, 10, 20, 30)), b"timed")
    dos_only = expand(buffer.getvalue(), b"dos.zip").members[0]

    assert with_extra.times.mtime == datetime(2022, 4, 15, 5, 20, tzinfo=UTC)
    assert with_extra.times.atime == datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC)
    assert with_extra.times.ctime is None
    assert dos_only.times.mtime == datetime(2020, 5, 17, 10, 20, 30, tzinfo=UTC)
    assert (dos_only.times.atime, dos_only.times.ctime) == (None, None)


@pytest.mark.usefixtures("utc_zone")
def test_rar_members_are_read_and_encrypted_ones_flagged() -> None:
    data = rar4(
        [
            (b"hello.txt", b"hello", False),
            (b"caf\xe9.txt", b"latin", False),
            (b"secret.txt", b"hidden", True),
            (b"after.txt", b"after", False),
        ]
    )

    result = expand(data, b"x.rar")

    assert result.errors == []
    assert result.flags == {Flag.ENCRYPTED}
    assert [(m.path, m.size, digest(m), m.flags, m.errors) for m in result.members] == [
        (b"x.rar!hello.txt", 5, sha(b"hello"), frozenset(), ()),
        (b"x.rar!caf\xe9.txt", 5, sha(b"latin"), frozenset(), ()),
        (
            b"x.rar!secret.txt",
            6,
            None,
            frozenset({Flag.ENCRYPTED}),
            (ErrorRecord("encrypted", "member is encrypted; contents not read"),),
        ),
        (b"x.rar!after.txt", 5, sha(b"after"), frozenset(), ()),
    ]
    assert result.members[0].times.mtime == datetime(2025, 4, 14, 13, 16, tzinfo=UTC)
    assert (result.members[0].times.atime, result.members[0].times.ctime) == (None, None)


# --- encryption -------------------------------------------------------------------------------

LOCKED = ErrorRecord("encrypted", "member is encrypted; contents not read")


@pytest.fixture
def two_files(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_bytes(b"secret a")
    (tmp_path / "b.txt").write_bytes(b"open b")
    return tmp_path


def test_zip_password_member_is_flagged_and_others_still_read(two_files: Path) -> None:
    run("zip", "-q", "-P", "pw", "mixed.zip", "a.txt", cwd=two_files)
    run("zip", "-q", "mixed.zip", "b.txt", cwd=two_files)

    result = expand((two_files / "mixed.zip").read_bytes(), b"mixed.zip")

    assert result.errors == [] and result.flags == {Flag.ENCRYPTED}
    a, b = result.members
    assert (a.path, a.size, a.content, a.flags, a.errors) == (
        b"mixed.zip!a.txt",
        8,
        None,
        frozenset({Flag.ENCRYPTED}),
        (LOCKED,),
    )
    assert (b.path, digest(b), b.flags, b.errors) == (
        b"mixed.zip!b.txt",
        sha(b"open b"),
        frozenset(),
        (),
    )


@pytest.mark.parametrize(
    ("archive", "command"),
    [
        (
            "aes.zip",
            ("7z", "a", "-bd", "-tzip", "-ppw", "-mem=AES256", "aes.zip", "a.txt", "b.txt"),
        ),
        ("locked.7z", ("7z", "a", "-bd", "-ppw", "locked.7z", "a.txt", "b.txt")),
    ],
)
def test_every_encrypted_member_is_recorded_as_encrypted(
    two_files: Path, archive: str, command: tuple[str, ...]
) -> None:
    run(*command, cwd=two_files)

    result = expand((two_files / archive).read_bytes(), archive.encode())

    assert result.errors == [] and result.flags == {Flag.ENCRYPTED}
    assert [(m.path, m.size, m.content, m.flags, m.errors) for m in result.members] == [
        (f"{archive}!a.txt".encode(), 8, None, frozenset({Flag.ENCRYPTED}), (LOCKED,)),
        (f"{archive}!b.txt".encode(), 6, None, frozenset({Flag.ENCRYPTED}), (LOCKED,)),
    ]


def test_7z_with_encrypted_names_is_an_encrypted_container(two_files: Path) -> None:
    run("7z", "a", "-bd", "-ppw", "-mhe=on", "hidden.7z", "a.txt", "b.txt", cwd=two_files)
    data = (two_files / "hidden.7z").read_bytes()

    result = expand(data, b"hidden.7z")

    assert result.members == []
    assert result.flags == {Flag.ENCRYPTED}
    assert result.errors == [
        ErrorRecord("encrypted", "The archive header is encrypted, but currently not supported")
    ]
    assert result.content is not None and result.content.digests.sha256 == sha(data)


# --- damaged archives -------------------------------------------------------------------------

BLOBS = [blob(10 + i, 50_000) for i in range(4)]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            b"x.zip",
            make_zip([(f"f{i}.bin", b) for i, b in enumerate(BLOBS)], zipfile.ZIP_STORED),
            "Truncated ZIP file data",
        ),
        (
            b"x.tar",
            make_tar([(f"f{i}.bin", b) for i, b in enumerate(BLOBS)]),
            "Truncated tar archive",
        ),
    ],
)
def test_truncated_archive_keeps_members_read_before_the_damage(
    name: bytes, data: bytes, message: str
) -> None:
    cut = data[: int(len(data) * 0.6)]

    result = expand(cut, name)

    assert result.content is not None and result.content.digests.sha256 == sha(cut)
    assert result.errors == [ErrorRecord("archive", message)]
    assert paths(result) == [name + b"!f0.bin", name + b"!f1.bin", name + b"!f2.bin"]
    assert [digest(m) for m in result.members] == [sha(BLOBS[0]), sha(BLOBS[1]), None]
    assert [m.errors for m in result.members] == [(), (), (ErrorRecord("read", message),)]
    assert result.members[2].size == 50_000  # what the header declared


def test_truncated_compressed_tar_keeps_earlier_members() -> None:
    data = make_tar([(f"f{i}.bin", b) for i, b in enumerate(BLOBS)], mode="w:gz")
    result = expand(data[: int(len(data) * 0.6)], b"x.tar.gz")

    assert result.errors == [ErrorRecord("archive", "truncated gzip input")]
    assert digest(result.members[0]) == sha(BLOBS[0])
    assert result.members[-1].errors == (ErrorRecord("read", "truncated gzip input"),)
    assert result.members[-1].content is None


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (b"fake.zip", b"PK\x03\x04" + blob(5, 3000), "Truncated ZIP file header"),
        (b"fake.gz", b"\x1f\x8b\x08\x00" + bytes(100), "gzip decompression failed"),
        (b"fake.tar", bytes(257) + b"ustar\x0000" + blob(6, 700), "Unrecognized archive format"),
    ],
)
def test_a_file_that_only_looks_like_an_archive_is_an_archive_error(
    name: bytes, data: bytes, message: str
) -> None:
    result = expand(data, name)

    assert result.members == []
    assert result.errors == [ErrorRecord("archive", message)]
    assert result.content is not None and result.content.digests.sha256 == sha(data)


def test_truncated_7z_is_an_archive_error(tmp_path: Path) -> None:
    (tmp_path / "f.bin").write_bytes(BLOBS[0])
    run("7z", "a", "-bd", "x.7z", "f.bin", cwd=tmp_path)
    data = (tmp_path / "x.7z").read_bytes()[:30_000]

    result = expand(data, b"x.7z")

    assert result.members == []
    assert result.errors == [
        ErrorRecord("archive", "damaged or truncated archive (libarchive gave no reason)")
    ]


def test_bad_crc_keeps_the_digests_beside_the_error() -> None:
    original = b"hello world " * 10
    data = bytearray(make_zip([("a.txt", original), ("b.txt", b"next")], zipfile.ZIP_STORED))
    at = data.find(b"hello")
    data[at] = ord("J")
    stored = b"J" + original[1:]

    result = expand(bytes(data), b"crc.zip")

    a, b = result.members
    assert digest(a) == sha(stored)
    assert a.errors == (
        ErrorRecord(
            "archive",
            f"ZIP bad CRC: {zlib.crc32(stored):#x} should be {zlib.crc32(original):#x}",
        ),
    )
    assert (digest(b), b.errors) == (sha(b"next"), ())


# --- caps: zip bombs and depth ----------------------------------------------------------------

ZEROS = bytes(600 << 10)


def test_total_expansion_cap_stops_the_archive_and_keeps_what_was_read() -> None:
    data = make_zip([(f"z{i}.bin", ZEROS) for i in range(4)])
    settings = replace(SETTINGS, max_expanded_bytes=1 << 20)
    reason = "zip bomb: more than 1048576 bytes expanded (max_expanded_bytes)"

    result = expand(data, b"bomb.zip", settings)

    assert paths(result) == [b"bomb.zip!z0.bin", b"bomb.zip!z1.bin"]
    first, cut = result.members
    assert (digest(first), first.errors) == (sha(ZEROS), ())
    assert (cut.content, cut.size) == (None, len(ZEROS))
    assert cut.errors == (ErrorRecord("limit", f"{reason}; member not hashed"),)
    assert result.errors == [ErrorRecord("limit", f"{reason}; expansion stopped")]
    assert result.content is not None  # the bomb itself is still hashed


def test_member_cap_skips_only_that_member() -> None:
    data = make_zip([("small.txt", b"small"), ("big.bin", ZEROS), ("after.txt", b"after")])
    settings = replace(SETTINGS, max_member_bytes=100 << 10)

    result = expand(data, b"m.zip", settings)

    assert result.errors == []
    small, big, after = result.members
    assert digest(small) == sha(b"small") and digest(after) == sha(b"after")
    assert (big.path, big.content, big.size) == (b"m.zip!big.bin", None, len(ZEROS))
    assert big.errors == (
        ErrorRecord(
            "limit", "zip bomb: member larger than 102400 bytes (max_member_bytes); not hashed"
        ),
    )


def test_member_count_cap() -> None:
    data = make_zip([(f"f{i}.txt", str(i).encode()) for i in range(5)])
    result = expand(data, b"many.zip", replace(SETTINGS, max_archive_members=3))

    assert paths(result) == [b"many.zip!f0.txt", b"many.zip!f1.txt", b"many.zip!f2.txt"]
    assert result.errors == [
        ErrorRecord(
            "limit", "zip bomb: more than 3 members (max_archive_members); expansion stopped"
        )
    ]


def test_expansion_ratio_applies_past_64_mib() -> None:
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("zeros.bin", "w") as member,
    ):
        for _ in range(80):
            member.write(bytes(1 << 20))
    data = buffer.getvalue()
    small = make_zip([("zeros.bin", bytes(8 << 20))])  # 1000:1, but under the 64 MiB floor
    settings = replace(SETTINGS, max_expansion_ratio=100)

    result = expand(data, b"ratio.zip", settings)
    assert expand(small, b"small.zip", settings).errors == []

    reason = (
        f"zip bomb: expanded more than 100 times the archive's {len(data)} bytes "
        "(max_expansion_ratio)"
    )
    (member,) = result.members
    assert member.content is None
    assert member.errors == (ErrorRecord("limit", f"{reason}; member not hashed"),)
    assert result.errors == [ErrorRecord("limit", f"{reason}; expansion stopped")]


def test_nested_archives_share_the_top_level_budget() -> None:
    inner = make_zip([("zeros.bin", bytes(400 << 10))])
    outer = make_zip([(f"inner{i}.zip", inner) for i in range(3)], zipfile.ZIP_STORED)
    reason = "zip bomb: more than 1048576 bytes expanded (max_expanded_bytes)"
    settings = replace(SETTINGS, max_expanded_bytes=1 << 20)

    result = expand(outer, b"outer.zip", settings)

    assert paths(result) == [
        b"outer.zip!inner0.zip",
        b"outer.zip!inner0.zip!zeros.bin",
        b"outer.zip!inner1.zip",
        b"outer.zip!inner1.zip!zeros.bin",
        b"outer.zip!inner2.zip",
        b"outer.zip!inner2.zip!zeros.bin",
    ]
    records = result.members
    assert [digest(m) for m in records[:5]] == [sha(inner), sha(bytes(400 << 10))] * 2 + [
        sha(inner)
    ]
    assert records[4].errors == (ErrorRecord("limit", f"{reason}; expansion stopped"),)
    assert records[5].content is None
    assert records[5].errors == (ErrorRecord("limit", f"{reason}; member not hashed"),)
    assert result.errors == [ErrorRecord("limit", f"{reason}; expansion stopped")]

    # The budget belongs to one top-level archive: the next one starts afresh.
    again = expand(make_zip([("inner.zip", inner)]), b"next.zip", settings)
    assert again.errors == [] and all(m.errors == () for m in again.members)


def test_depth_limit_hashes_the_innermost_container_it_stops_at() -> None:
    layers = [make_zip([("core.txt", b"core")])]
    for level in range(1, 10):
        layers.append(make_zip([(f"l{level}.zip", layers[-1])]))
    top = layers[-1]  # ten zips deep

    result = expand(top, b"l10.zip", replace(SETTINGS, max_archive_depth=3))

    assert paths(result) == [
        b"l10.zip!l9.zip",
        b"l10.zip!l9.zip!l8.zip",
        b"l10.zip!l9.zip!l8.zip!l7.zip",
    ]
    assert [m.depth for m in result.members] == [1, 2, 3]
    stopped = result.members[-1]
    assert digest(stopped) == sha(layers[6])
    assert stopped.errors == (ErrorRecord("limit", "container nested deeper than 3"),)
    assert result.errors == []


# --- archives too large to buffer are reopened from disk --------------------------------------


def test_archive_too_large_to_buffer_is_read_through_a_file_descriptor(tmp_path: Path) -> None:
    members = [(b"..\\win\\name.txt", b"one", False), (b"caf\x82.txt", b"two", False)]
    zip_path = tmp_path / "big.zip"
    zip_path.write_bytes(raw_name_zip(members))
    (tmp_path / "a.txt").write_bytes(b"alpha")
    run("7z", "a", "-bd", "big.7z", "a.txt", cwd=tmp_path)
    settings = replace(SETTINGS, max_buffer_bytes=64)
    open_before = len(os.listdir("/proc/self/fd"))

    from_zip = analyse_file(bytes(zip_path), b"big.zip", 0, settings, zip_path.stat().st_size)
    seven = tmp_path / "big.7z"
    from_7z = analyse_file(bytes(seven), b"big.7z", 0, settings, seven.stat().st_size)

    assert len(os.listdir("/proc/self/fd")) == open_before
    assert from_zip.errors == [] and from_7z.errors == []
    assert [(m.path, digest(m)) for m in from_zip.members] == [
        (b"big.zip!..\\win\\name.txt", sha(b"one")),
        (b"big.zip!caf\x82.txt", sha(b"two")),
    ]
    assert [(m.path, digest(m)) for m in from_7z.members] == [(b"big.7z!a.txt", sha(b"alpha"))]


def test_unicode_names_survive_a_plain_c_locale(tmp_path: Path) -> None:
    """LC_ALL=C turns off Python's UTF-8 coercion; libarchive would then lose Unicode names."""
    (tmp_path / "\u00e9t\u00e9.txt").write_bytes(b"summer")
    run("7z", "a", "-bd", "u.7z", "\u00e9t\u00e9.txt", cwd=tmp_path)
    script = (
        "import io, sys\n"
        "from cairn.core.settings import AnalysisSettings\n"
        "from cairn.evidence.analysis import analyse_stream\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "result = analyse_stream(io.BytesIO(data), b'u.7z', 0, AnalysisSettings())\n"
        "print([m.path for m in result.members], result.errors)\n"
    )
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "u.7z")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[b'u.7z!\\xc3\\xa9t\\xc3\\xa9.txt'] []"
