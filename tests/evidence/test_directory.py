"""Folder and single-file sources: enumeration, non-regular entries, bad names, hostile trees."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import socket
import stat
import subprocess
import threading
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import select

from cairn.core.records import EntryRecord, ErrorRecord, UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.core.types import EntryKind
from cairn.evidence.base import EvidenceSource, Unit
from cairn.evidence.directory import DirectorySource, FileSource
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.ingest import ingest
from cairn.store.models import Occurrence

SETTINGS = AnalysisSettings()
T = TypeVar("T")
EMPTY = (
    "d41d8cd98f00b204e9800998ecf8427e",
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
)
MiB = 1 << 20


def triple(data: bytes) -> tuple[str, str, str]:
    return (
        hashlib.md5(data).hexdigest(),
        hashlib.sha1(data).hexdigest(),
        hashlib.sha256(data).hexdigest(),
    )


def within(seconds: float, work: Callable[[], T]) -> T:
    """Run `work` in a daemon thread: a source that opens a FIFO would block forever."""
    box: list[T] = []
    thread = threading.Thread(target=lambda: box.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the source blocked: something non-regular was opened"
    return box[0]


def walk(source: EvidenceSource) -> list[Unit | EntryRecord]:
    return list(source.units())


def ingest_in_process(source: EvidenceSource) -> dict[bytes, EntryRecord]:
    """Enumerate and process every unit the way a worker does; entries by path."""
    entries: dict[bytes, EntryRecord] = {}
    for item in source.units():
        result = source.process(item, SETTINGS) if isinstance(item, Unit) else None
        for entry in result.entries if result else (item,):
            assert isinstance(entry, EntryRecord)
            assert entry.path not in entries
            entries[entry.path] = entry
    return entries


def digests_of(entry: EntryRecord) -> tuple[str, str, str]:
    assert entry.content is not None, entry.errors
    d = entry.content.digests
    return d.md5, d.sha1, d.sha256


def hashdeep(root: Path) -> dict[bytes, tuple[int, str, str, str]]:
    """hashdeep's view of the regular files under root: relative path -> (size, digests)."""
    out = subprocess.run(
        ["hashdeep", "-c", "md5,sha1,sha256", "-r", "-o", "f", str(root)],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    found = {}
    prefix = os.fsencode(root) + b"/"
    for line in out.splitlines():
        if line.startswith((b"%%%%", b"##")):
            continue
        size, md5, sha1, sha256, name = line.split(b",", 4)
        assert name.startswith(prefix)
        found[name[len(prefix) :]] = (int(size), md5.decode(), sha1.decode(), sha256.decode())
    return found


def build_files(root: Path) -> dict[bytes, bytes]:
    """Regular files whose sizes straddle the 1 MiB read chunk; returns path -> content."""
    files = {
        b"empty": b"",
        b"one": b"\x00",
        b"text.txt": b"hello, evidence\n",
        b"sub/chunk": os.urandom(MiB),
        b"sub/chunk+1": os.urandom(MiB + 1),
        b"sub/deeper/three-chunks-1": os.urandom(3 * MiB - 1),
        b"sub/deeper/copy-of-text": b"hello, evidence\n",
        b"comma,name.bin": os.urandom(4097),
    }
    for rel, data in files.items():
        path = root / os.fsdecode(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def test_digests_equal_hashlib_and_hashdeep(tmp_path: Path) -> None:
    files = build_files(tmp_path)
    entries = ingest_in_process(DirectorySource(tmp_path))
    reference = hashdeep(tmp_path)
    assert set(entries) == set(files) == set(reference)
    for path, data in files.items():
        entry = entries[path]
        assert entry.kind is EntryKind.FILE and entry.errors == ()
        assert digests_of(entry) == triple(data) == reference[path][1:]
        assert entry.size == len(data) == reference[path][0]
        assert entry.content is not None and entry.content.digests.size == len(data)
    assert digests_of(entries[b"empty"]) == EMPTY


def test_walk_order_is_depth_first_in_byte_order(tmp_path: Path) -> None:
    build_files(tmp_path)
    (tmp_path / "Zed").write_bytes(b"z")  # upper case sorts before lower case in byte order
    paths = [item.path for item in walk(DirectorySource(tmp_path))]
    assert paths == [
        b"Zed",
        b"comma,name.bin",
        b"empty",
        b"one",
        b"sub/chunk",
        b"sub/chunk+1",
        b"sub/deeper/copy-of-text",
        b"sub/deeper/three-chunks-1",
        b"text.txt",
    ]
    assert paths == [item.path for item in walk(DirectorySource(tmp_path))]


def test_symlinks_are_recorded_never_followed(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "inside").write_bytes(b"inside")
    (tmp_path / "file").write_bytes(b"target")
    os.symlink("file", tmp_path / "to-file")
    os.symlink("dir", tmp_path / "to-dir")
    os.symlink(".", tmp_path / "dir" / "to-self")
    os.symlink("..", tmp_path / "dir" / "to-parent")
    os.symlink("loop-b", tmp_path / "loop-a")
    os.symlink("loop-a", tmp_path / "loop-b")
    os.symlink("/nonexistent/target", tmp_path / "dangling")
    items = within(30, lambda: walk(DirectorySource(tmp_path)))
    assert [(item.path, type(item).__name__) for item in items] == [
        (b"dangling", "EntryRecord"),
        (b"dir/inside", "Unit"),
        (b"dir/to-parent", "EntryRecord"),
        (b"dir/to-self", "EntryRecord"),
        (b"file", "Unit"),
        (b"loop-a", "EntryRecord"),
        (b"loop-b", "EntryRecord"),
        (b"to-dir", "EntryRecord"),
        (b"to-file", "EntryRecord"),
    ]
    for item in items:
        if isinstance(item, EntryRecord):
            assert item.kind is EntryKind.SYMLINK
            assert item.content is None and item.size is None and item.errors == ()
            assert item.inode == str(os.lstat(tmp_path / os.fsdecode(item.path)).st_ino)


@pytest.fixture
def special_files(tmp_path: Path) -> Iterator[Path]:
    """A folder holding a FIFO, a bound unix socket, a character device and a regular file."""
    os.mkfifo(tmp_path / "fifo")
    os.mknod(tmp_path / "null-device", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "socket"))
    (tmp_path / "regular").write_bytes(b"regular")
    try:
        yield tmp_path
    finally:
        listener.close()


def test_fifo_socket_and_device_are_recorded_never_opened(special_files: Path) -> None:
    entries = within(30, lambda: ingest_in_process(DirectorySource(special_files)))
    kinds = {path: (e.kind, e.content is None, e.size, e.errors) for path, e in entries.items()}
    assert kinds == {
        b"fifo": (EntryKind.FIFO, True, None, ()),
        b"null-device": (EntryKind.DEVICE, True, None, ()),
        b"socket": (EntryKind.SOCKET, True, None, ()),
        b"regular": (EntryKind.FILE, False, 7, ()),
    }
    # Nobody holds the FIFO open for reading: a non-blocking writer finds no reader.
    with pytest.raises(OSError) as raised:
        os.open(special_files / "fifo", os.O_WRONLY | os.O_NONBLOCK)
    assert raised.value.errno == errno.ENXIO


def test_non_utf8_names_are_kept_byte_for_byte(tmp_path: Path) -> None:
    root = os.fsencode(tmp_path)
    os.mkdir(root + b"/d\x80ir")
    names = {
        b"caf\xe9.txt": b"latin-1",
        b"d\x80ir/\xff\xfe": b"utf-16 bom",
        b"ok-\xc3\xa9": b"utf8",
    }
    for name, data in names.items():
        with open(root + b"/" + name, "wb") as out:
            out.write(data)
    entries = ingest_in_process(DirectorySource(tmp_path))
    assert set(entries) == set(names)
    for name, data in names.items():
        assert digests_of(entries[name]) == triple(data)


def make_deep_tree(root: Path, depth: int, data: bytes) -> tuple[bytes, bytes]:
    """A folder chain whose absolute path exceeds PATH_MAX, built through descriptors.

    Returns the relative path of the file at the bottom and of a file halfway down.
    """
    name = b"d" * 200
    relative = b""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for level in range(depth):
            if level == depth // 2:
                mid = os.open(b"halfway", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
                os.write(mid, b"halfway")
                os.close(mid)
                halfway = relative + b"halfway"
            os.mkdir(name, dir_fd=fd)
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
            relative += name + b"/"
        leaf = os.open(b"leaf.bin", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, data)
        os.close(leaf)
    finally:
        os.close(fd)
    return relative + b"leaf.bin", halfway


def test_paths_longer_than_path_max_are_walked_and_hashed(tmp_path: Path) -> None:
    data = os.urandom(MiB + 17)
    leaf, halfway = make_deep_tree(tmp_path, 45, data)
    assert len(os.fsencode(tmp_path)) + 1 + len(leaf) > 2 * 4096
    entries = ingest_in_process(DirectorySource(tmp_path))
    assert set(entries) == {leaf, halfway}
    assert digests_of(entries[leaf]) == triple(data)
    assert digests_of(entries[halfway]) == triple(b"halfway")
    assert entries[leaf].errors == ()


def test_long_paths_through_the_worker_pool(tmp_path: Path, ctx: Context) -> None:
    """The worker process reopens a > PATH_MAX path beneath the root, from its path alone."""
    source = tmp_path / "device"
    source.mkdir()
    leaf, halfway = make_deep_tree(source, 25, b"deep down")
    create_case(ctx, "C-1")
    summary = ingest(ctx, "C-1", source, workers=2)
    assert (summary.exit_code, summary.counts["hashed"]) == (0, 2)
    with ctx.db.session() as session:
        rows = session.execute(select(Occurrence.path, Occurrence.media_sha256)).all()
    stored = {path: sha256 for path, sha256 in rows}
    assert stored == {leaf: triple(b"deep down")[2], halfway: triple(b"halfway")[2]}


def test_single_file_source(tmp_path: Path) -> None:
    (tmp_path / "photo.bin").write_bytes(b"one file")
    (item,) = walk(FileSource(tmp_path / "photo.bin"))
    assert isinstance(item, Unit) and item.path == b"photo.bin" and item.size == 8
    result = FileSource(tmp_path / "photo.bin").process(item, SETTINGS)
    assert digests_of(result.entries[0]) == triple(b"one file")


def test_single_file_source_never_opens_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (item,) = within(30, lambda: walk(FileSource(tmp_path / "pipe")))
    assert isinstance(item, EntryRecord) and item.kind is EntryKind.FIFO


def test_file_removed_after_enumeration_is_a_read_error(tmp_path: Path) -> None:
    (tmp_path / "gone.txt").write_bytes(b"soon gone")
    source = FileSource(tmp_path / "gone.txt")
    (unit,) = walk(source)
    assert isinstance(unit, Unit)
    (tmp_path / "gone.txt").unlink()
    result = source.process(unit, SETTINGS)
    assert result == UnitResult(
        b"gone.txt",
        (
            EntryRecord(
                path=b"gone.txt",
                kind=EntryKind.FILE,
                size=9,
                inode=unit.entry.inode,
                times=unit.entry.times,
                errors=(ErrorRecord("read", "ENOENT: No such file or directory"),),
            ),
        ),
    )


def test_entries_vanishing_during_the_walk_are_recorded(tmp_path: Path) -> None:
    """Deleted after their folder was listed: each becomes an error record, the walk goes on."""
    for name in ("a", "b", "c"):
        (tmp_path / name).write_bytes(name.encode())
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "inner").write_bytes(b"inner")
    (tmp_path / "e").write_bytes(b"e")
    units = DirectorySource(tmp_path).units()
    first = next(units)  # the root is listed now; nothing below it is stat'ed yet
    assert first.path == b"a"
    (tmp_path / "b").unlink()
    (tmp_path / "d" / "inner").unlink()
    (tmp_path / "d").rmdir()
    rest = list(units)
    assert [(i.path, type(i).__name__) for i in rest] == [
        (b"b", "EntryRecord"),
        (b"c", "Unit"),
        (b"d", "EntryRecord"),
        (b"e", "Unit"),
    ]
    vanished_file, vanished_dir = rest[0], rest[2]
    assert isinstance(vanished_file, EntryRecord) and isinstance(vanished_dir, EntryRecord)
    assert vanished_file.kind is EntryKind.FILE
    assert vanished_file.errors == (ErrorRecord("read", "ENOENT: No such file or directory"),)
    assert vanished_dir.kind is EntryKind.DIRECTORY
    assert vanished_dir.errors == (
        ErrorRecord("read", "cannot list folder: ENOENT: No such file or directory"),
    )


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_abandoned_walk_closes_its_folder_descriptors(tmp_path: Path) -> None:
    make_deep_tree(tmp_path, 10, b"x")
    before = open_descriptors()
    units = DirectorySource(tmp_path).units()
    assert isinstance(units, Generator)
    next(units)  # halfway down: ten folders open
    assert open_descriptors() > before
    units.close()
    assert open_descriptors() == before


def test_unlistable_root_is_one_error_record(tmp_path: Path) -> None:
    items = walk(DirectorySource(tmp_path / "missing"))
    assert items == [
        EntryRecord(
            path=b".",
            kind=EntryKind.DIRECTORY,
            errors=(ErrorRecord("read", "cannot list folder: ENOENT: No such file or directory"),),
        )
    ]


@pytest.fixture
def bind_loop(tmp_path: Path) -> Iterator[Path]:
    """`root/inner/mirror` is a bind mount of `root`: a real folder loop (needs root)."""
    root = tmp_path / "root"
    (root / "inner" / "mirror").mkdir(parents=True)
    (root / "file").write_bytes(b"file")
    mounted = subprocess.run(
        ["mount", "--bind", str(root), str(root / "inner" / "mirror")],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {mounted.stderr.decode().strip()}")
    try:
        yield root
    finally:
        subprocess.run(["umount", str(root / "inner" / "mirror")], check=True)


def test_a_folder_containing_itself_is_walked_once(bind_loop: Path) -> None:
    items = within(30, lambda: walk(DirectorySource(bind_loop)))
    assert [(i.path, type(i).__name__) for i in items] == [
        (b"file", "Unit"),
        (b"inner/mirror", "EntryRecord"),
    ]
    assert items[1] == EntryRecord(
        path=b"inner/mirror",
        kind=EntryKind.DIRECTORY,
        errors=(
            ErrorRecord("read", "cannot list folder: folder loop (it contains itself); not walked"),
        ),
    )


def _swap_for_symlink(folder: Path, outside: Path) -> None:
    """Put a symlink in place of `folder`, to `outside`: a copy of it with other bytes."""
    shutil.copytree(folder, outside)
    for copied in outside.rglob("*"):
        if copied.is_file():
            copied.write_bytes(b"outside the evidence")
    shutil.rmtree(folder)
    folder.symlink_to(outside)


@pytest.mark.parametrize("swapped", ["sub", "sub/deeper", "."])
def test_a_folder_swapped_for_a_symlink_after_listing_is_not_read(
    tmp_path: Path, swapped: str
) -> None:
    """A worker opens each listed file beneath the root's descriptor with no symlink in any
    component: a folder above the file (or the root) swapped since is refused, not followed."""
    root = tmp_path / "root"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "sub" / "deeper" / "photo.bin").write_bytes(b"inside")
    (item,) = walk(DirectorySource(root))
    assert isinstance(item, Unit) and item.path == b"sub/deeper/photo.bin"
    _swap_for_symlink(root / swapped, tmp_path / "outside")
    (entry,) = DirectorySource(root).process(item, SETTINGS).entries  # as a worker does
    assert entry.content is None
    assert [(e.stage, e.message.split(":")[0]) for e in entry.errors] == [("read", "ELOOP")]


def test_a_folder_swapped_for_a_symlink_during_the_walk_is_recorded_not_walked(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "a.bin").write_bytes(b"first")
    (root / "sub" / "photo.bin").write_bytes(b"inside")
    units = DirectorySource(root).units()
    first = next(units)
    assert isinstance(first, Unit) and first.path == b"a.bin"
    _swap_for_symlink(root / "sub", tmp_path / "outside")
    rest = list(units)
    assert [(e.path, e.kind) for e in rest if isinstance(e, EntryRecord)] == [
        (b"sub", EntryKind.SYMLINK)
    ]
    assert [u for u in rest if isinstance(u, Unit)] == []
