"""Disk images built by the tests with userspace tools: FAT, ext2/3/4, NTFS, MBR, GPT, E01.

Every image holds benign generated photos and text; some files are deleted after writing.
The tools (dosfstools, mtools, e2fsprogs, ntfs-3g, ewf-tools, fdisk) are installed by setup.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from cairn.core.errors import UsageError
from cairn.core.records import EntryRecord, UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.core.types import EntryKind
from cairn.evidence import diskimage
from cairn.evidence.base import Unit
from cairn.evidence.diskimage import DiskImageSource, raw_segments, read_layout
from cairn.evidence.registry import detect
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.ingest import IngestSummary, ingest
from cairn.store.models import Evidence, IngestError, Occurrence

MiB = 1 << 20
CASE = "CASE-DISK"
WHEN = datetime(2023, 4, 5, 6, 7, 8, tzinfo=UTC)
PHOTO = jpeg_bytes(synthetic_image(1, 96, 72))
PHOTO_2 = jpeg_bytes(synthetic_image(2, 96, 72))
PHOTO_3 = jpeg_bytes(synthetic_image(3, 120, 90))
NOTES = b"meeting notes\n" * 50
BLOB = bytes(range(256)) * 400  # 100 KiB, several clusters


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run(*args: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        check=True,
        env={**os.environ, "MTOOLS_SKIP_CHECK": "1", **(env or {})},
    )
    return done.stdout.decode()


# ---- image builders ---------------------------------------------------------------------------


def make_fat(
    path: Path,
    files: Mapping[str, bytes],
    deleted: Sequence[str] = (),
    *,
    bits: int = 16,
    size_kib: int = 16384,
    tz: str = "UTC",
) -> Path:
    """A FAT volume written with mtools in `files` order (so clusters fill in that order)."""
    cluster = ["-s", "1"] if bits == 32 else []
    run("mkfs.vfat", "-C", "-F", str(bits), *cluster, "-n", "CAIRN", path, str(size_kib))
    staging = path.with_suffix(".staging")
    staging.mkdir()
    made: set[str] = set()
    for name, data in files.items():
        parts = name.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder not in made:
                run("mmd", "-i", path, f"::/{folder}")
                made.add(folder)
        source = staging / parts[-1]
        source.write_bytes(data)
        os.utime(source, (WHEN.timestamp(), WHEN.timestamp()))
        run("mcopy", "-m", "-i", path, source, f"::/{name}", env={"TZ": tz})
    for name in deleted:
        run("mdel", "-i", path, f"::/{name}")
    return path


def make_ext(
    path: Path, fstype: str, files: Mapping[str, bytes], deleted: Sequence[str] = ()
) -> Path:
    """An ext2/3/4 volume from a tree (mke2fs -d), with a symlink and a FIFO; then deletions."""
    tree = path.with_suffix(".tree")
    for name, data in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
        os.utime(tree / name, (WHEN.timestamp(), WHEN.timestamp()))
    os.symlink("notes.txt", tree / "link")
    os.mkfifo(tree / "fifo")
    run("mke2fs", "-q", "-t", fstype, "-b", "1024", "-d", tree, path, "8M")
    for name in deleted:
        run("debugfs", "-w", "-R", f"rm {name}", path)
    return path


def make_ntfs(path: Path, files: Mapping[str, bytes], streams: Mapping[str, bytes]) -> Path:
    """An NTFS volume with files in its root; `streams` maps `file:stream` to stream data."""
    with open(path, "wb") as out:
        out.truncate(16 * MiB)
    run("mkntfs", "-q", "-F", "-f", path)
    staging = path.with_suffix(".staging")
    staging.mkdir()
    for name, data in {**files, **streams}.items():
        source = staging / name.replace(":", "_")
        source.write_bytes(data)
        file, _, stream = name.partition(":")
        run("ntfscp", "-q", *(["-N", stream] if stream else []), path, source, file)
    return path


def make_disk(path: Path, label: str, partitions: Sequence[tuple[str, bytes]]) -> list[int]:
    """A partitioned disk: each (type, volume bytes) at 1 MiB alignment; returns the offsets."""
    offsets, script, start = [], [f"label: {label}"], 2048
    for kind, volume in partitions:
        sectors = -(-len(volume) // 512)
        script.append(f"start={start}, size={sectors}, type={kind}")
        offsets.append(start * 512)
        start += -(-sectors // 2048) * 2048
    with open(path, "wb") as out:
        out.truncate((start + 2048) * 512)  # room for GPT's backup table
    subprocess.run(["sfdisk", "-q", str(path)], input="\n".join(script).encode(), check=True)
    with open(path, "r+b") as out:
        for offset, (_, volume) in zip(offsets, partitions, strict=True):
            out.seek(offset)
            out.write(volume)
    return offsets


def make_e01(raw: Path, target: Path, segment: str = "1MiB") -> Path:
    target.parent.mkdir(exist_ok=True)
    run(
        "ewfacquire", "-u", "-q", "-C", "CASE-42", "-e", "Examiner Example", "-E", "EV-7",
        "-D", "seized laptop", "-N", "synthetic", "-d", "sha1", "-c", "none", "-S", segment,
        "-t", target, raw,
    )  # fmt: skip
    return target.with_suffix(".E01")


# ---- reading the store ------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    kind: str
    sha256: str | None
    deleted: bool
    unallocated: bool
    offset: int | None
    errors: tuple[tuple[str, str], ...]


def stored(ctx: Context, label: str) -> dict[bytes, list[Row]]:
    with ctx.db.session() as session:
        evidence = session.scalar(select(Evidence).where(Evidence.label == label))
        assert evidence is not None
        errors: dict[int, list[tuple[str, str]]] = {}
        for occurrence_id, stage, message in session.execute(
            select(IngestError.occurrence_id, IngestError.stage, IngestError.message)
            .where(IngestError.evidence_id == evidence.id)
            .order_by(IngestError.id)
        ):
            errors.setdefault(occurrence_id, []).append((stage, message))
        rows: dict[bytes, list[Row]] = {}
        for o in session.scalars(
            select(Occurrence).where(Occurrence.evidence_id == evidence.id).order_by(Occurrence.id)
        ):
            rows.setdefault(o.path, []).append(
                Row(
                    o.kind, o.media_sha256, o.deleted, o.unallocated, o.offset,
                    tuple(errors.get(o.id, ())),
                )
            )  # fmt: skip
        return rows


def one(rows: dict[bytes, list[Row]], path: bytes) -> Row:
    (row,) = rows[path]
    return row


def hashed(rows: dict[bytes, list[Row]], prefix: bytes = b"") -> dict[bytes, tuple[str, bool]]:
    """Path -> (sha256, deleted) of the file occurrences, without NTFS metadata files."""
    return {
        path[len(prefix) :]: (row.sha256, row.deleted)
        for path, found in rows.items()
        for row in found
        if row.kind == "file" and path.startswith(prefix) and b"$" not in path and row.sha256
    }


def run_ingest(
    ctx: Context, source: Path, workers: int = 0, kind: str | None = None, **settings: object
) -> IngestSummary:
    with contextlib.suppress(UsageError):  # the case exists after a first ingest in a test
        create_case(ctx, CASE)
    return ingest(
        ctx, CASE, source, workers=workers, source_kind=kind,
        settings=AnalysisSettings(thumbnails=False, **settings),  # type: ignore[arg-type]
    )  # fmt: skip


def entries(source: DiskImageSource, settings: AnalysisSettings) -> Iterator[EntryRecord]:
    """Every record the source yields, processing units in this process."""
    for item in source.units():
        if isinstance(item, Unit):
            result = source.process(item, settings)
            assert isinstance(result, UnitResult)
            yield from result.entries
        else:
            yield item


# ---- FAT -------------------------------------------------------------------------------------

FAT_FILES = {
    "notes.txt": NOTES,
    "DCIM/photo one.jpg": PHOTO,
    "DCIM/B.JPG": PHOTO_2,
    "blob.bin": BLOB,
    "gone.txt": b"deleted words\n" * 100,
    "Long Deleted Photo.jpg": PHOTO_3,
}


@pytest.mark.parametrize("bits", [12, 16, 32])
def test_fat_allocated_and_deleted_files(ctx: Context, tmp_path: Path, bits: int) -> None:
    size = {12: 4096, 16: 16384, 32: 40960}[bits]
    image = make_fat(
        tmp_path / "fat.dd", FAT_FILES, ["gone.txt", "Long Deleted Photo.jpg"],
        bits=bits, size_kib=size,
    )  # fmt: skip
    assert detect(image) is DiskImageSource
    summary = run_ingest(ctx, image)
    assert summary.exit_code == 0, summary.errors
    rows = stored(ctx, "fat.dd")
    # A deleted 8.3 entry loses its first letter ("_one.txt" as TSK names it); a long name
    # survives in its long-name entries.
    assert hashed(rows) == {
        b"notes.txt": (sha256(NOTES), False),
        b"DCIM/photo one.jpg": (sha256(PHOTO), False),
        b"DCIM/B.JPG": (sha256(PHOTO_2), False),
        b"blob.bin": (sha256(BLOB), False),
        b"_one.txt": (sha256(FAT_FILES["gone.txt"]), True),
        b"Long Deleted Photo.jpg": (sha256(PHOTO_3), True),
    }
    assert one(rows, b"_one.txt").unallocated is True
    assert one(rows, b"notes.txt").unallocated is False
    assert not any(b"Volume Label" in path or path.startswith(b"$") for path in rows)
    assert summary.counts == {"enumerated": 6, "hashed": 6, "bytes": sum(
        len(d) for d in FAT_FILES.values()
    )}  # fmt: skip


def test_fat_times_are_the_wall_clock_whatever_the_host_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mcopy in Paris writes 08:07:08 (CEST) for WHEN; read on a host in New York.
    image = make_fat(tmp_path / "fat.dd", {"a.txt": b"a"}, tz="Europe/Paris")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        records = [
            e for e in entries(DiskImageSource(image), AnalysisSettings()) if e.path == b"a.txt"
        ]
    finally:
        monkeypatch.undo()
        time.tzset()
    (record,) = records
    assert record.times.mtime == datetime(2023, 4, 5, 8, 7, 8, tzinfo=UTC)


def test_fat_deleted_folder_and_orphans(ctx: Context, tmp_path: Path) -> None:
    image = make_fat(tmp_path / "fat.dd", {"SUB/INNER.TXT": NOTES, "SUB/x.jpg": PHOTO})
    run("mdeltree", "-i", image, "::/SUB")
    survivors = image.read_bytes()
    # Wipe the folder's own entry in the root: its files become orphans that TSK finds by
    # their entries in the folder's cluster.
    orphaned = tmp_path / "orphans.dd"
    at = survivors.index(b"\xe5UB        \x10")
    orphaned.write_bytes(survivors[:at] + bytes(32) + survivors[at + 32 :])
    rows = {e.path: e for e in entries(DiskImageSource(image), AnalysisSettings())}
    assert {p: (e.deleted, e.unallocated, e.content and e.content.digests.sha256)
            for p, e in rows.items()} == {
        b"_UB/_NNER.TXT": (True, True, sha256(NOTES)),
        b"_UB/_.jpg": (True, True, sha256(PHOTO)),
    }  # fmt: skip
    rows = {e.path: e for e in entries(DiskImageSource(orphaned), AnalysisSettings())}
    assert {p: (e.deleted, e.content and e.content.digests.sha256) for p, e in rows.items()} == {
        b"$OrphanFiles/_NNER.TXT": (True, sha256(NOTES)),
        b"$OrphanFiles/_.jpg": (True, sha256(PHOTO)),
    }


# ---- ext2/3/4 --------------------------------------------------------------------------------

EXT_FILES = {
    "notes.txt": NOTES,
    "photos/one.jpg": PHOTO,
    "photos/two.jpg": PHOTO_2,
    "photos/deleted.jpg": PHOTO_3,
    "old/blob.bin": BLOB,
}


def dumpe2fs_free(image: Path) -> list[tuple[int, int]]:
    """Free block ranges as the ext bitmaps say (dumpe2fs), merged, end exclusive."""
    ranges: list[tuple[int, int]] = []
    for line in run("dumpe2fs", image).splitlines():
        if line.startswith("  Free blocks: "):
            for part in line.split(":", 1)[1].split(","):
                if part.strip():
                    low, _, high = part.strip().partition("-")
                    ranges.append((int(low), int(high or low) + 1))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


@pytest.mark.parametrize("fstype", ["ext2", "ext3", "ext4"])
def test_ext_files_deleted_files_and_free_space(ctx: Context, tmp_path: Path, fstype: str) -> None:
    image = make_ext(
        tmp_path / f"{fstype}.img", fstype, EXT_FILES, ["photos/deleted.jpg", "old/blob.bin"]
    )
    summary = run_ingest(ctx, image, workers=2)
    assert summary.exit_code == 0, summary.errors
    rows = stored(ctx, image.name)
    assert hashed(rows) == {
        b"notes.txt": (sha256(NOTES), False),
        b"photos/one.jpg": (sha256(PHOTO), False),
        b"photos/two.jpg": (sha256(PHOTO_2), False),
        b"photos/deleted.jpg": (sha256(PHOTO_3), True),
        b"old/blob.bin": (sha256(BLOB), True),
    }
    assert (one(rows, b"link").kind, one(rows, b"fifo").kind) == ("symlink", "fifo")
    assert summary.counts["enumerated"] == 7
    assert summary.counts["non_regular"] == 2
    with ctx.db.session() as session:
        times = session.scalars(select(Occurrence.mtime).where(Occurrence.path == b"notes.txt"))
        assert [t and t.replace(tzinfo=UTC) for t in times] == [WHEN]
    # Free space for carving is exactly what the block bitmaps call free.
    source = DiskImageSource(image)
    walk = diskimage._FileSystemWalk(source._image(), source._file_system(0),
                                     read_layout(source._image()).volumes[0])  # fmt: skip
    list(walk.entries())
    assert [(a // 1024, b // 1024) for a, b in walk.free_extents(8 * MiB)] == dumpe2fs_free(image)


# ---- NTFS ------------------------------------------------------------------------------------


def test_ntfs_files_and_alternate_data_streams(ctx: Context, tmp_path: Path) -> None:
    image = make_ntfs(
        tmp_path / "ntfs.img",
        {"notes.txt": NOTES, "photo.jpg": PHOTO},
        {"notes.txt:hidden.jpg": PHOTO_2, "photo.jpg:Zone.Identifier": b"[ZoneTransfer]\n"},
    )
    summary = run_ingest(ctx, image)
    assert summary.exit_code == 0, summary.errors
    rows = stored(ctx, "ntfs.img")
    assert hashed(rows) == {
        b"notes.txt": (sha256(NOTES), False),
        b"notes.txt:hidden.jpg": (sha256(PHOTO_2), False),
        b"photo.jpg": (sha256(PHOTO), False),
        b"photo.jpg:Zone.Identifier": (sha256(b"[ZoneTransfer]\n"), False),
    }
    assert {b"$MFT", b"$MFTMirr", b"$LogFile", b"$Secure:$SDS"} <= rows.keys()
    assert b"$BadClus:$Bad" not in rows  # sparse, as large as the volume
    # What TSK lists as orphans here: MFT records 16-23, reserved and unused by mkntfs.
    orphans = {p: r for p, r in rows.items() if p.startswith(b"$OrphanFiles/")}
    assert sorted(orphans) == [b"$OrphanFiles/OrphanFile-%d" % n for n in range(16, 24)]
    empty = sha256(b"")
    assert all(r == [Row("file", empty, True, True, None, ())] for r in orphans.values())


# ---- partitions, E01, split raw --------------------------------------------------------------


@pytest.fixture
def two_partition_disk(tmp_path: Path) -> Path:
    fat = make_fat(tmp_path / "p1.vol", FAT_FILES, ["gone.txt"])
    ext = make_ext(tmp_path / "p2.vol", "ext4", EXT_FILES, ["photos/deleted.jpg"])
    disk = tmp_path / "disk.dd"
    make_disk(disk, "dos", [("6", fat.read_bytes()), ("83", ext.read_bytes())])
    return disk


EXPECTED_DISK = {
    b"p1/notes.txt": (sha256(NOTES), False),
    b"p1/DCIM/photo one.jpg": (sha256(PHOTO), False),
    b"p1/DCIM/B.JPG": (sha256(PHOTO_2), False),
    b"p1/blob.bin": (sha256(BLOB), False),
    b"p1/_one.txt": (sha256(FAT_FILES["gone.txt"]), True),
    b"p1/Long Deleted Photo.jpg": (sha256(PHOTO_3), False),
    b"p2/notes.txt": (sha256(NOTES), False),
    b"p2/photos/one.jpg": (sha256(PHOTO), False),
    b"p2/photos/two.jpg": (sha256(PHOTO_2), False),
    b"p2/photos/deleted.jpg": (sha256(PHOTO_3), True),
    b"p2/old/blob.bin": (sha256(BLOB), False),
}


def test_mbr_disk_raw_e01_and_split_raw_agree(
    ctx: Context, tmp_path: Path, two_partition_disk: Path
) -> None:
    e01 = make_e01(two_partition_disk, tmp_path / "ewf" / "disk")
    assert len(list(e01.parent.iterdir())) > 3  # several segments: E01, E02, …
    split = tmp_path / "split"
    split.mkdir()
    run("split", "-b", "3M", "-d", "-a", "3", "--numeric-suffixes=1", two_partition_disk,
        split / "disk.")  # fmt: skip
    assert [p.name for p in raw_segments(split / "disk.001")][:2] == ["disk.001", "disk.002"]
    for source, workers in ((two_partition_disk, 0), (e01, 2), (split / "disk.001", 0)):
        summary = run_ingest(ctx, source, workers=workers)
        assert summary.exit_code == 0, (source, summary.errors)
        assert hashed(stored(ctx, source.name)) == EXPECTED_DISK, source
    with ctx.db.session() as session:
        info = session.scalar(select(Evidence.source_info).where(Evidence.label == "disk.E01"))
    assert info is not None
    disk_bytes = two_partition_disk.read_bytes()
    assert {k: v for k, v in info.items() if k.startswith("ewf.")} == {
        "ewf.case_number": "CASE-42",
        "ewf.evidence_number": "EV-7",
        "ewf.description": "seized laptop",
        "ewf.examiner_name": "Examiner Example",
        "ewf.notes": "synthetic",
        "ewf.acquiry_date": info["ewf.acquiry_date"],
        "ewf.system_date": info["ewf.system_date"],
        "ewf.acquiry_operating_system": "Linux",
        "ewf.acquiry_software_version": info["ewf.acquiry_software_version"],
        "ewf.md5": hashlib.md5(disk_bytes).hexdigest(),
        "ewf.sha1": hashlib.sha1(disk_bytes).hexdigest(),
    }
    assert info["volume_system"] == "dos"
    assert info["volumes"] == (
        "p1: offset 1048576, 16777216 bytes, DOS FAT16 (0x06), fat16\n"
        "p2: offset 17825792, 8388608 bytes, Linux (0x83), ext4"
    )


def test_gpt_disk(ctx: Context, tmp_path: Path) -> None:
    ext = make_ext(tmp_path / "p.vol", "ext4", {"notes.txt": NOTES})
    disk = tmp_path / "gpt.dd"
    make_disk(disk, "gpt", [("L", ext.read_bytes())])
    summary = run_ingest(ctx, disk)
    assert summary.exit_code == 0, summary.errors
    assert hashed(stored(ctx, "gpt.dd")) == {b"p1/notes.txt": (sha256(NOTES), False)}


def test_rerun_adds_nothing(ctx: Context, tmp_path: Path, two_partition_disk: Path) -> None:
    first = run_ingest(ctx, two_partition_disk)
    again = run_ingest(ctx, two_partition_disk)
    assert again.skipped_units == first.counts["enumerated"]
    assert again.counts == {}


# ---- carving ---------------------------------------------------------------------------------


def test_carving_recovers_planted_and_deleted_photos(ctx: Context, tmp_path: Path) -> None:
    image = make_fat(
        tmp_path / "fat.dd", {"notes.txt": NOTES, "deleted.jpg": PHOTO_3}, ["deleted.jpg"]
    )
    planted_at = 12 * MiB + 4096  # far beyond the last cluster mtools used
    with open(image, "r+b") as out:
        out.seek(planted_at)
        out.write(PHOTO)
    deleted_at = image.read_bytes().index(PHOTO_3)
    plain = run_ingest(ctx, image)
    assert plain.exit_code == 0
    assert not any(p.startswith((b"$Carved", b"$Unallocated")) for p in stored(ctx, "fat.dd"))
    carved = run_ingest(ctx, image, carve=True)  # the same evidence again, now carving
    assert carved.exit_code == 0, carved.errors
    rows = stored(ctx, "fat.dd")
    assert one(rows, b"$Carved/%d.jpg" % planted_at) == Row(
        "carved", sha256(PHOTO), False, True, planted_at, ()
    )
    assert one(rows, b"$Carved/%d.jpg" % deleted_at) == Row(
        "carved", sha256(PHOTO_3), False, True, deleted_at, ()
    )
    # The file system's recovery of the deleted photo stays, distinguishable by kind.
    assert one(rows, b"_eleted.jpg").kind == "file"
    assert one(rows, b"_eleted.jpg").sha256 == sha256(PHOTO_3)
    assert sorted(p for p in rows if p.startswith(b"$Carved/")) == sorted(
        [b"$Carved/%d.jpg" % planted_at, b"$Carved/%d.jpg" % deleted_at]
    )
    regions = [r for p, found in rows.items() if p.startswith(b"$Unallocated/") for r in found]
    assert regions and all(r.kind == "carved" and r.unallocated and r.sha256 for r in regions)
    assert run_ingest(ctx, image, carve=True).counts == {}  # resumable: nothing twice


def test_carving_caps(tmp_path: Path) -> None:
    image = make_fat(tmp_path / "fat.dd", {"notes.txt": NOTES})
    with open(image, "r+b") as out:
        for n, photo in enumerate((PHOTO, PHOTO_2, PHOTO_3)):
            out.seek((8 + n) * MiB)
            out.write(photo)
    source = DiskImageSource(image)
    capped = [e for e in entries(source, AnalysisSettings(carve=True, max_carved_count=2))
              if e.kind is EntryKind.CARVED]  # fmt: skip
    assert [e.path for e in capped if e.depth == 1] == [b"$Carved/%d.jpg" % (8 * MiB),
                                                         b"$Carved/%d.jpg" % (9 * MiB)]  # fmt: skip
    (region,) = [e for e in capped if e.depth == 0]
    assert region.errors[0].stage == "limit"
    small = min(len(PHOTO), len(PHOTO_2), len(PHOTO_3)) - 1
    tiny = [e for e in entries(source, AnalysisSettings(carve=True, max_carved_bytes=small))
            if e.depth == 1]  # fmt: skip
    assert tiny == []


# ---- bad input -------------------------------------------------------------------------------


def test_truncated_image(ctx: Context, tmp_path: Path) -> None:
    image = make_fat(tmp_path / "fat.dd", {"small.txt": NOTES, "big.bin": BLOB * 10})
    cut = tmp_path / "cut.dd"
    data = image.read_bytes()
    cut.write_bytes(data[: data.index(BLOB) + 200_000])  # inside big.bin
    summary = run_ingest(ctx, cut)
    assert summary.exit_code == 1
    rows = stored(ctx, "cut.dd")
    assert one(rows, b"small.txt").sha256 == sha256(NOTES)
    big = one(rows, b"big.bin")
    assert big.sha256 is None and big.errors[0][0] == "read"
    assert "Offset missing in partial image" in big.errors[0][1]
    assert one(rows, b".").errors == (
        ("image", f"truncated: the file system runs to byte {16384 * 1024} but the image "
                  f"ends at {cut.stat().st_size}"),
    )  # fmt: skip


def test_corrupt_partition_table(ctx: Context, tmp_path: Path) -> None:
    fat = make_fat(tmp_path / "p1.vol", {"notes.txt": NOTES})
    disk = tmp_path / "disk.dd"
    make_disk(disk, "dos", [("6", fat.read_bytes()), ("83", os.urandom(MiB))])
    with open(disk, "r+b") as out:  # a third entry pointing far past the end of the disk
        out.seek(0x1BE + 32)
        out.write(
            bytes([0, 0, 0, 0, 0x83, 0, 0, 0]) + (10**6).to_bytes(4, "little") + bytes([0, 4, 0, 0])
        )
    summary = run_ingest(ctx, disk)
    assert summary.exit_code == 1
    rows = stored(ctx, "disk.dd")
    assert hashed(rows) == {b"p1/notes.txt": (sha256(NOTES), False)}
    ((stage, message),) = one(rows, b"p2").errors
    assert stage == "filesystem"
    assert message.startswith("no file system TSK can open in Linux (0x83) at byte 17825792: ")
    assert one(rows, b"p3").errors == (
        ("image", f"Linux (0x83) starts at byte {512 * 10**6}, past the end of the image "
                  f"({disk.stat().st_size} bytes): truncated image or bad table"),
    )  # fmt: skip


def test_unreadable_file_system_is_carved_when_asked(ctx: Context, tmp_path: Path) -> None:
    fat = make_fat(tmp_path / "p1.vol", {"notes.txt": NOTES})
    disk = tmp_path / "disk.dd"
    zeros = bytearray(2 * MiB)
    zeros[65536 : 65536 + len(PHOTO)] = PHOTO
    (_, p2) = make_disk(disk, "dos", [("6", fat.read_bytes()), ("83", bytes(zeros))])
    assert run_ingest(ctx, disk).exit_code == 1
    rows = stored(ctx, "disk.dd")
    assert one(rows, b"p2").errors[0][0] == "filesystem"
    assert not any(p.startswith(b"$Carved") for p in rows)
    assert run_ingest(ctx, disk, carve=True).exit_code == 1  # the unreadable p2 is still an error
    rows = stored(ctx, "disk.dd")
    carved = [p for p in rows if p.startswith(b"$Carved/")]
    assert carved == [b"$Carved/%d.jpg" % (p2 + 65536)]
    assert one(rows, carved[0]).sha256 == sha256(PHOTO)
    assert len(rows[b"p2"]) == 1 and len(rows[b"p1/notes.txt"]) == 1


def _missing_segment_case(tmp_path: Path) -> tuple[Path, Path]:
    image = make_fat(tmp_path / "fat.dd", {"small.txt": NOTES, "big.bin": BLOB * 40})
    return image, make_e01(image, tmp_path / "ewf" / "fat")


def test_e01_with_a_missing_segment(ctx: Context, tmp_path: Path) -> None:
    _, e01 = _missing_segment_case(tmp_path)
    e01.with_suffix(".E03").unlink()
    summary = run_ingest(ctx, e01)
    assert summary.exit_code == 1
    rows = stored(ctx, "fat.E01")
    assert one(rows, b"small.txt").sha256 == sha256(NOTES)
    assert one(rows, b"big.bin").sha256 is None
    assert "missing segment file" in one(rows, b"big.bin").errors[0][1]
    assert one(rows, b".").errors == (("image", "the segment after fat.E02 is missing"),)


def test_e01_with_a_truncated_segment(ctx: Context, tmp_path: Path) -> None:
    _, e01 = _missing_segment_case(tmp_path)
    os.truncate(e01.with_suffix(".E02"), 4096)
    summary = run_ingest(ctx, e01)
    assert summary.exit_code == 1
    rows = stored(ctx, "fat.E01")
    assert one(rows, b"small.txt").sha256 == sha256(NOTES)
    # libewf zero-fills what the cut segment lost; the damage is reported on the image.
    assert one(rows, b".").errors == (
        ("image", "segment fat.E02 is damaged: the sectors section at byte 1141 runs to "
                  "byte 1017149, past the end of the file (4096 bytes)"),
    )  # fmt: skip


def test_files_that_only_look_like_images(ctx: Context, tmp_path: Path) -> None:
    fake = tmp_path / "fake.E01"
    fake.write_bytes(b"EVF\x09\x0d\x0a\xff\x00" + bytes(range(256)) * 16)
    assert detect(fake) is DiskImageSource  # the signature is all a probe can check
    summary = run_ingest(ctx, fake)
    assert summary.exit_code == 1
    row = one(stored(ctx, "fake.E01"), b"fake.E01")
    assert row.sha256 == sha256(fake.read_bytes())  # the file is still hashed
    assert row.errors[0][0] == "image"
    assert row.errors[0][1].startswith("cannot open the image: ")

    photo = tmp_path / "photo.dd"
    photo.write_bytes(PHOTO)
    assert detect(photo).kind == "file"  # by content, not by name

    noise = tmp_path / "noise.dd"
    noise.write_bytes(os.urandom(MiB) + PHOTO + os.urandom(4096))
    forced = run_ingest(ctx, noise, kind="diskimage", carve=True)
    assert forced.exit_code == 1
    rows = stored(ctx, "noise.dd")
    assert one(rows, b".").errors == (
        ("image", "no partition table or file system that TSK recognises"),
    )
    assert one(rows, b"$Carved/%d.jpg" % MiB).sha256 == sha256(PHOTO)


def test_access_times_are_left_unchanged(ctx: Context, tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    raw = make_fat(tmp_path / "raw" / "fat.dd", FAT_FILES)
    e01 = make_e01(raw, tmp_path / "ewf" / "fat")
    watched = [raw.parent, raw, e01.parent, *e01.parent.iterdir()]
    old = time.time_ns() - 3 * 86400 * 10**9
    for path in watched:
        os.utime(path, ns=(old, path.stat().st_mtime_ns))
    control = tmp_path / "control"
    control.write_bytes(b"x")
    os.utime(control, ns=(old, control.stat().st_mtime_ns))
    control.read_bytes()
    if control.stat().st_atime_ns == old:
        pytest.skip("this file system does not update access times on read (noatime)")
    before = {path: path.stat().st_atime_ns for path in watched}
    for source, workers in ((raw, 0), (e01, 2)):
        assert run_ingest(ctx, source, workers=workers, carve=True).exit_code == 0
    assert {path: path.stat().st_atime_ns for path in watched} == before


def test_exfat_volume_opens_and_is_carved(tmp_path: Path) -> None:
    # exfatprogs formats but cannot write files without a mount: an empty volume, carved.
    image = tmp_path / "exfat.img"
    with open(image, "wb") as out:
        out.truncate(16 * MiB)
    run("mkfs.exfat", image)
    with open(image, "r+b") as out:
        out.seek(10 * MiB)
        out.write(PHOTO)
    source = DiskImageSource(image)
    assert source.describe()["volumes"] == f".: offset 0, {16 * MiB} bytes, whole image, exfat"
    found = {e.path: e for e in entries(source, AnalysisSettings(carve=True))}
    assert {b"$ALLOC_BITMAP", b"$UPCASE_TABLE"} <= found.keys()
    carved = found[b"$Carved/%d.jpg" % (10 * MiB)]
    assert carved.content is not None and carved.content.digests.sha256 == sha256(PHOTO)
    assert not [e for e in found.values() if e.errors]
