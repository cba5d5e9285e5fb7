"""Ingest end to end: the CLI, the worker pool, bad input, crash safety, exports, accounting."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import socket
import stat
import subprocess
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.services.crash_source import run_python
from tests.services.interrupt import killed_ingest

from cairn.core.errors import NotFoundError, UsageError
from cairn.evidence.pool import BATCH_UNITS
from cairn.evidence.worker import CRASH_ERROR, HASH_CRASH_ERROR
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.ingest import ingest
from cairn.store.models import Evidence, IngestError, Media, Occurrence, ProcessingRun

RunCli = Callable[..., tuple[int, str, str]]  # the fixtures of tests/conftest.py
Cli = Callable[..., tuple[int, str, str]]
DESIGN_COLUMNS = [
    *("evidence", "path", "kind", "deleted", "unallocated", "offset", "size", "md5", "sha1"),
    *("sha256", "mime", "pdq", "pdq_quality", "pdq_method", "mtime", "ctime", "atime", "crtime"),
    *("inode", "triage", "hashset", "category", "distance", "match_variant", "error"),
]
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
DROP_DAC = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")
Row = tuple[bytes, str, str | None, int | None, tuple[tuple[str, str], ...]]
Ingested = tuple[Path, Path, dict[bytes, bytes]]  # (tree, workspace, regular files' bytes)


def triple(data: bytes) -> tuple[str, str, str]:
    return (
        hashlib.md5(data).hexdigest(),
        hashlib.sha1(data).hexdigest(),
        hashlib.sha256(data).hexdigest(),
    )


def write(root: Path, relative: bytes, data: bytes) -> None:
    path = os.fsencode(root) + b"/" + relative
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(data)


def build_mixed_tree(root: Path) -> dict[bytes, bytes]:
    """Regular files (zero-byte, duplicates, a non-UTF-8 name) and every non-regular kind."""
    files = {
        b"docs/report.txt": b"quarterly report\n",
        b"docs/copy-of-report.txt": b"quarterly report\n",
        b"docs/caf\xe9-latin1.txt": b"not utf-8 name",
        b"empty": b"",
        b"blob.bin": os.urandom(3 * (1 << 20) + 5),
        b"nested/a/b/c/deep.txt": b"deep",
    }
    for relative, data in files.items():
        write(root, relative, data)
    os.symlink("docs/report.txt", root / "link-to-file")
    os.symlink("nested", root / "link-to-dir")
    os.symlink("loop-2", root / "loop-1")
    os.symlink("loop-1", root / "loop-2")
    os.mkfifo(root / "fifo")
    os.mknod(root / "device", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    with closing(socket.socket(socket.AF_UNIX)) as sock:
        sock.bind(str(root / "socket"))  # the socket file outlives the closed socket
    return files


NON_REGULAR = {
    b"device": "device",
    b"fifo": "fifo",
    b"link-to-dir": "symlink",
    b"link-to-file": "symlink",
    b"loop-1": "symlink",
    b"loop-2": "symlink",
    b"socket": "socket",
}


def snapshot(workspace: Path) -> tuple[list[Row], list[tuple[Any, ...]]]:
    """What an ingest stored: occurrences (path, kind, sha256, size, errors) and media rows."""
    ctx = Context.open(workspace)
    try:
        with ctx.db.session() as session:
            errors: dict[int, list[tuple[str, str]]] = defaultdict(list)
            for occurrence_id, stage, message in session.execute(
                select(IngestError.occurrence_id, IngestError.stage, IngestError.message).order_by(
                    IngestError.id
                )
            ):
                errors[occurrence_id].append((stage, message))
            occurrences = [
                (o.path, o.kind, o.media_sha256, o.size, tuple(errors[o.id]))
                for o in session.scalars(select(Occurrence))
            ]
            media = [
                (m.sha256, m.md5, m.sha1, m.size, m.mime) for m in session.scalars(select(Media))
            ]
    finally:
        ctx.close()
    return sorted(occurrences, key=lambda row: row[0]), sorted(media)


def hashdeep(root: Path) -> dict[bytes, tuple[str, str, str]]:
    out = subprocess.run(
        ["hashdeep", "-c", "md5,sha1,sha256", "-r", "-o", "f", str(root)],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    prefix = os.fsencode(root) + b"/"
    found = {}
    for line in out.splitlines():
        if not line.startswith((b"%%%%", b"##")):
            _size, md5, sha1, sha256, name = line.split(b",", 4)
            found[name.removeprefix(prefix)] = (md5.decode(), sha1.decode(), sha256.decode())
    return found


def status_of(run_cli: RunCli, case: str = "C-1") -> dict[str, Any]:
    code, out, err = run_cli("status", "--case", case, "--json")
    assert code == 0, err
    (item,) = json.loads(out)
    assert item["enumerated"] == item["hashed"] + item["errored"] + item["non_regular"]
    return dict(item)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, cli: Cli) -> Iterator[Ingested]:
    """A mixed tree ingested once through the CLI with the worker pool: (tree, workspace, files)."""
    base = tmp_path_factory.mktemp("ingested")
    tree, workspace = base / "device", base / "workspace"
    tree.mkdir()
    files = build_mixed_tree(tree)
    assert cli(workspace, "case", "create", "C-1")[0] == 0
    # A timeout, because a FIFO opened by mistake would block forever.
    code, _, err = cli(workspace, "ingest", "--case", "C-1", "--workers", "2", tree, timeout=120)
    assert code == 0, err
    yield tree, workspace, files


@pytest.fixture
def ingested_cli(ingested: Ingested, run_cli: RunCli) -> RunCli:
    """run_cli bound to the module's ingested workspace."""
    return lambda *args, **kw: run_cli(*args, workspace=ingested[1], **kw)


def export(run_cli: RunCli, fmt: str, out: Path) -> bytes:
    code, _, err = run_cli("export", "hashes", "--case", "C-1", "--format", fmt, "-o", out)
    assert code == 0, err
    return out.read_bytes()


def test_status_accounts_for_every_entry(ingested: Ingested, ingested_cli: RunCli) -> None:
    status = status_of(ingested_cli)
    assert (status["enumerated"], status["hashed"], status["errored"], status["non_regular"]) == (
        13,
        6,
        0,
        7,
    )
    assert status["unique_media"] == 5 and status["last_run"] == "completed"
    assert status["bytes_hashed"] == sum(len(d) for d in ingested[2].values())


def test_database_keeps_every_path_byte_for_byte(ingested: Ingested) -> None:
    _, workspace, files = ingested
    occurrences, _ = snapshot(workspace)
    assert [row[0] for row in occurrences] == sorted([*files, *NON_REGULAR])
    assert b"docs/caf\xe9-latin1.txt" in files  # the name that is not UTF-8


def test_csv_export_matches_hashlib_and_hashdeep(
    ingested: Ingested, ingested_cli: RunCli, tmp_path: Path
) -> None:
    tree, _, files = ingested
    raw = export(ingested_cli, "csv", tmp_path / "hashes.csv")
    # The non-UTF-8 name passes through as its own bytes, not as a replacement character.
    assert b"docs/caf\xe9-latin1.txt," in raw
    reader = csv.reader(io.StringIO(raw.decode("utf-8", "surrogateescape"), newline=""))
    header, *rows = list(reader)
    assert header[: len(DESIGN_COLUMNS)] == DESIGN_COLUMNS
    records = [dict(zip(header, row, strict=True)) for row in rows]
    by_path = {os.fsencode(r["path"]): r for r in records}
    assert len(by_path) == len(records) == 13  # one row per occurrence
    reference = hashdeep(tree)
    assert set(reference) == set(files)
    for path, data in files.items():
        row = by_path[path]
        assert (row["md5"], row["sha1"], row["sha256"]) == triple(data) == reference[path]
        assert (row["kind"], row["size"], row["error"], row["evidence"]) == (
            "file",
            str(len(data)),
            "",
            "device",
        )
        assert row["inode"] == str(os.lstat(os.fsencode(tree) + b"/" + path).st_ino)
    for path, kind in NON_REGULAR.items():
        row = by_path[path]
        assert (row["kind"], row["md5"], row["sha256"], row["size"], row["error"]) == (
            kind,
            "",
            "",
            "",
            "",
        )
    assert by_path[b"empty"]["sha256"] == EMPTY_SHA256


def dfxml_path(name: str) -> bytes:
    """Undo the export's reversible escaping: \\xNN is a raw byte, \\\\ a backslash."""
    out, i = bytearray(), 0
    while i < len(name):
        if name.startswith("\\x", i):
            out.append(int(name[i + 2 : i + 4], 16))
            i += 4
        elif name.startswith("\\\\", i):
            out += b"\\"
            i += 2
        else:
            out += name[i].encode()
            i += 1
    return bytes(out)


def test_dfxml_export_parses_and_its_digests_match(
    ingested: Ingested, ingested_cli: RunCli, tmp_path: Path
) -> None:
    files = ingested[2]
    raw = export(ingested_cli, "dfxml", tmp_path / "hashes.xml")
    ns = {"d": "http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML"}
    root = ET.fromstring(raw)
    objects = root.findall("d:fileobject", ns)
    assert len(objects) == 13
    found = {}
    for obj in objects:
        path = dfxml_path(obj.findtext("d:filename", namespaces=ns) or "")
        digests = {h.get("type"): h.text for h in obj.findall("d:hashdigest", ns)}
        found[path] = digests
    for path, data in files.items():
        md5, sha1, sha256 = triple(data)
        assert found[path] == {"md5": md5, "sha1": sha1, "sha256": sha256}
    assert all(found[path] == {} for path in NON_REGULAR)


def test_same_source_again_adds_nothing(ingested: Ingested, ingested_cli: RunCli) -> None:
    tree, workspace, _ = ingested
    before = snapshot(workspace)
    code, out, err = ingested_cli("ingest", "--case", "C-1", tree, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["counts"], summary["skipped_units"], summary["errors"]) == ({}, 13, [])
    assert snapshot(workspace) == before
    code, out, _ = ingested_cli("evidence", "list", "--case", "C-1", "--json")
    assert code == 0 and [e["label"] for e in json.loads(out)] == ["device"]


def test_unreadable_entries_are_recorded_and_exit_1(
    tmp_path: Path, run_cli: RunCli, workspace: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"x")
    secret.chmod(0)
    probe = subprocess.run([*DROP_DAC, "cat", str(secret)], capture_output=True, check=False)
    if probe.returncode == 0:
        pytest.skip("setpriv cannot drop root's file-permission override here")
    tree = tmp_path / "device"
    write(tree, b"readable.txt", b"readable")
    write(tree, b"locked.txt", b"locked")
    write(tree, b"closed/inside.txt", b"inside")
    (tree / "locked.txt").chmod(0)
    (tree / "closed").chmod(0)
    assert run_cli("case", "create", "C-1")[0] == 0
    code, out, err = run_cli("ingest", "--case", "C-1", "--workers", "2", tree, prefix=DROP_DAC)
    assert code == 1, err
    assert "1 hashed" in out and "2 unreadable" in out and "2 recorded errors" in out
    assert "locked.txt: read EACCES: Permission denied" in out
    assert "closed: read cannot list folder: EACCES: Permission denied" in out
    occurrences, _ = snapshot(workspace)
    assert occurrences == [
        (
            b"closed",
            "directory",
            None,
            None,
            (("read", "cannot list folder: EACCES: Permission denied"),),
        ),
        (b"locked.txt", "file", None, 6, (("read", "EACCES: Permission denied"),)),
        (b"readable.txt", "file", triple(b"readable")[2], 8, ()),
    ]
    status = status_of(run_cli)
    assert (status["enumerated"], status["hashed"], status["errored"]) == (3, 1, 2)


def test_files_vanishing_mid_run_are_recorded_and_the_run_goes_on(
    tmp_path: Path, ctx: Context
) -> None:
    """After the first stored batch, later files and a folder are deleted (in-process run)."""
    tree = tmp_path / "device"
    total = BATCH_UNITS + 20
    for i in range(total):
        write(tree, b"a/f%03d" % i, b"%d" % i)
    write(tree, b"b/inside", b"inside")
    first_gone = BATCH_UNITS + 5

    class DeleteAfterFirstBatch:
        deleted = False

        def start(self, units: int, total_bytes: int) -> None:
            assert units == total + 1

        def advance(self, units: int, nbytes: int) -> None:
            if not self.deleted:
                self.deleted = True
                for i in range(first_gone, total):
                    (tree / "a" / f"f{i:03d}").unlink()
                (tree / "b" / "inside").unlink()
                (tree / "b").rmdir()

    create_case(ctx, "C-1")
    summary = ingest(ctx, "C-1", tree, workers=0, progress=DeleteAfterFirstBatch())
    gone = total - first_gone
    assert summary.exit_code == 1
    assert summary.counts == {
        "enumerated": first_gone + gone + 1,
        "hashed": first_gone,
        "bytes": sum(len(b"%d" % i) for i in range(first_gone)),
        "errored": gone + 1,
        "with_errors": gone + 1,
    }
    assert [(e.path, e.stage, e.message) for e in summary.errors] == [
        *(
            (b"a/f%03d" % i, "read", "ENOENT: No such file or directory")
            for i in range(first_gone, total)
        ),
        (b"b", "read", "cannot list folder: ENOENT: No such file or directory"),
    ]


def set_atimes_back(paths: list[Path], seconds: int) -> dict[Path, int]:
    old = time.time_ns() - seconds * 1_000_000_000
    for path in paths:
        os.utime(path, ns=(old, os.lstat(path).st_mtime_ns), follow_symlinks=False)
    return {path: os.lstat(path).st_atime_ns for path in paths}


def test_access_times_are_left_unchanged(tmp_path: Path, ctx: Context, run_cli: RunCli) -> None:
    control = tmp_path / "control"
    control.mkdir()
    (control / "file").write_bytes(b"control")
    before = set_atimes_back([control, control / "file"], 3 * 86400)
    (control / "file").read_bytes()
    os.listdir(control)
    if any(os.lstat(path).st_atime_ns == atime for path, atime in before.items()):
        pytest.skip("this file system does not update access times on read (noatime)")
    trees = {}
    for name in ("in-process", "pool"):
        tree = tmp_path / name
        write(tree, b"top.txt", b"top")
        write(tree, b"sub/inner.bin", os.urandom(70_000))
        trees[name] = [tree, tree / "sub", tree / "top.txt", tree / "sub" / "inner.bin"]
    times = {name: set_atimes_back(paths, 3 * 86400) for name, paths in trees.items()}
    create_case(ctx, "C-1")
    assert ingest(ctx, "C-1", tmp_path / "in-process", workers=0).exit_code == 0
    code, _, err = run_cli("ingest", "--case", "C-1", "--workers", "2", tmp_path / "pool")
    assert code == 0, err
    for name, paths in trees.items():
        assert {p: os.lstat(p).st_atime_ns for p in paths} == times[name], name


def test_exit_codes_for_usage_errors(tmp_path: Path, run_cli: RunCli) -> None:
    tree = tmp_path / "device"
    write(tree, b"a.txt", b"a")
    assert run_cli("case", "create", "C-1")[0] == 0
    for args, env, message in [
        (("ingest", "--case", "NOPE", tree), {}, "no case 'NOPE'"),
        (("ingest", "--case", "C-1", tmp_path / "missing"), {}, "no such file or folder"),
        (("ingest", "--case", "C-1", "--workers", "-1", tree), {}, "--workers must be 0"),
        (("ingest", "--case", "C-1", tree), {"CAIRN_COMMIT_ENTRIES": "0"}, "CAIRN_COMMIT_ENTRIES"),
        (("ingest", "--case", "C-1", "--evidence", "other", tree), {}, "no evidence 'other'"),
        (("ingest", "--case", "C-1", "--no-such-option", tree), {}, "No such option"),
        (("export", "hashes", "--case", "C-1", "--format", "xls"), {}, "unknown format"),
    ]:
        code, _, err = run_cli(*args, env=env)
        assert (code, message in err) == (2, True), (args, err)
    code, out, err = run_cli("ingest", "--case", "C-1", tree)
    assert code == 0, err
    assert "1 hashed" in out


def test_usage_errors_raise_before_anything_is_stored(
    tmp_path: Path, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_case(ctx, "C-1")
    with pytest.raises(NotFoundError):
        ingest(ctx, "C-2", tmp_path)
    with pytest.raises(UsageError, match="--workers must be 0"):
        ingest(ctx, "C-1", tmp_path, workers=-1)
    monkeypatch.setenv("CAIRN_COMMIT_ENTRIES", "many")
    with pytest.raises(UsageError, match="CAIRN_COMMIT_ENTRIES must be a positive integer"):
        ingest(ctx, "C-1", tmp_path)
    with ctx.db.session() as session:
        assert session.scalars(select(ProcessingRun)).all() == []
        assert session.scalars(select(Evidence)).all() == []


def build_crash_tree(root: Path) -> int:
    """A few thousand small files (some duplicated, two corrupt JPEGs), plus non-regular ones."""
    count = 0
    for folder in range(30):
        for i in range(100):
            write(root, b"d%02d/f%03d.txt" % (folder, i), b"content %d" % (i % 70 + folder * 100))
            count += 1
    write(root, b"broken.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    write(root, b"also-broken.jpg", b"\xff\xd8\xff\xdb" + b"\x01" * 64)
    write(root, b"zero", b"")
    os.symlink("d00", root / "link")
    os.mkfifo(root / "fifo")
    return count + 5


def test_killed_ingest_resumes_to_the_same_database(tmp_path: Path, run_cli: RunCli) -> None:
    tree = tmp_path / "device"
    total = build_crash_tree(tree)
    clean = tmp_path / "clean"
    assert run_cli("case", "create", "C-1", workspace=clean)[0] == 0
    code, _, err = run_cli("ingest", "--case", "C-1", tree, workspace=clean)
    assert code == 1, err  # the corrupt JPEGs are recorded errors
    expected = snapshot(clean)
    assert len(expected[0]) == total

    env = {"CAIRN_COMMIT_ENTRIES": "25"}  # many small commits, so the kill lands between two
    killed, stored = killed_ingest(tmp_path, run_cli, tree, env, below=total)
    code, out, err = run_cli("ingest", "--case", "C-1", tree, "--json", workspace=killed, env=env)
    assert code == 1, err
    summary = json.loads(out)
    assert summary["skipped_units"] == stored
    assert summary["counts"]["enumerated"] == total - stored
    assert snapshot(killed) == expected


def run_test_source(
    tmp_path: Path, tree: Path, kind: str = "crashing-directory"
) -> subprocess.CompletedProcess[bytes]:
    """Ingest `tree` with a test source from crash_source.py, in a subprocess (2 workers)."""
    workspace = tmp_path / "workspace"
    return run_python(f"crash_source.main({str(workspace)!r}, {str(tree)!r}, 2, {kind!r})")


def test_a_worker_crash_costs_only_the_analysis_of_its_unit(tmp_path: Path) -> None:
    tree = tmp_path / "device"
    names = [b"a.txt", b"always-crash.bin", b"b.txt", b"crash-decoder.bin", b"c.txt"]
    for name in names:
        write(tree, name, name * 3)
    done = run_test_source(tmp_path, tree)
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["exit_code"] == 1
    assert result["counts"] == {
        "enumerated": 5,
        "hashed": 4,
        "errored": 1,
        "with_errors": 2,
        "bytes": sum(len(n) * 3 for n in names) - len(b"always-crash.bin") * 3,
    }
    crash = ((CRASH_ERROR.stage, CRASH_ERROR.message),)
    hash_crash = ((HASH_CRASH_ERROR.stage, HASH_CRASH_ERROR.message),)
    assert snapshot(tmp_path / "workspace")[0] == [
        (b"a.txt", "file", triple(b"a.txt" * 3)[2], 15, ()),
        (b"always-crash.bin", "file", None, 48, hash_crash),
        (b"b.txt", "file", triple(b"b.txt" * 3)[2], 15, ()),
        (b"c.txt", "file", triple(b"c.txt" * 3)[2], 15, ()),
        (b"crash-decoder.bin", "file", triple(b"crash-decoder.bin" * 3)[2], 51, crash),
    ]


def test_a_batch_submitted_after_a_crash_goes_to_a_new_pool(tmp_path: Path) -> None:
    tree = tmp_path / "device"
    for name in (b"a.txt", b"crash-here.bin", b"z.txt"):
        write(tree, name, name)
    done = run_python(f"crash_source.submit_after_crash({str(tree)!r})")
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == {
        "generation": 1,
        "records": [["crash-here.bin", True, ["crash"]], ["a.txt", True, []], ["z.txt", True, []]],
    }


def test_workers_that_cannot_start_stop_the_run_instead_of_blaming_files(tmp_path: Path) -> None:
    tree = tmp_path / "device"
    for name in (b"a.txt", b"b.txt"):
        write(tree, name, name)
    done = run_test_source(tmp_path, tree, kind="dead-worker-directory")
    assert done.returncode == 1
    assert b"CairnError: worker processes die before reading any evidence" in done.stderr
    assert snapshot(tmp_path / "workspace") == ([], [])
    ctx = Context.open(tmp_path / "workspace")
    with ctx.db.session() as session:
        assert session.scalars(select(ProcessingRun.status)).all() == ["interrupted"]
    ctx.close()


def _occurrences(ctx: Context) -> list[tuple[bytes, str | None]]:
    with ctx.db.session() as session:
        rows = session.execute(
            select(Occurrence.path, Occurrence.media_sha256).order_by(Occurrence.path)
        )
        return [(path, sha) for path, sha in rows]


def test_prefetched_work_of_a_resumed_run_is_not_stored_twice(tmp_path: Path, ctx: Context) -> None:
    """Work started before the store was open (as `cairn ingest` does) covers units an earlier
    run stored: their results are dropped, the others stored once, the counts stay exact."""
    from cairn.core.settings import AnalysisSettings
    from cairn.evidence.directory import DirectorySource
    from cairn.evidence.pool import prefetch

    tree = tmp_path / "device"
    for i in range(BATCH_UNITS + 30):
        write(tree, b"f%03d" % i, b"%d" % i)
    create_case(ctx, "C-1")
    settings = AnalysisSettings()
    first = ingest(ctx, "C-1", tree, workers=0, settings=settings)
    expected = _occurrences(ctx)
    with ctx.db.session() as session:  # as if the first run was killed half-way
        session.execute(Occurrence.__table__.delete().where(Occurrence.path >= b"f050"))
    ahead = prefetch(DirectorySource(tree.resolve()), 2, settings)
    ahead.wait()
    assert ahead.units == BATCH_UNITS + 30  # all of them, the stored ones too
    second = ingest(ctx, "C-1", tree, workers=2, settings=settings, prefetched=ahead)
    assert (first.counts["hashed"], second.counts["hashed"]) == (BATCH_UNITS + 30, 44)
    assert _occurrences(ctx) == expected


def test_prefetched_work_with_other_settings_is_redone(tmp_path: Path, ctx: Context) -> None:
    """Prefetched under a 1-pixel image limit, ingested without one: the photo's PDQ comes from
    the ingest's own settings, not from the thrown-away prefetch."""
    from cairn.core.settings import AnalysisSettings
    from cairn.evidence.directory import DirectorySource
    from cairn.evidence.pool import prefetch
    from cairn.media.synthetic import jpeg_bytes, synthetic_image

    tree = tmp_path / "device"
    write(tree, b"photo.jpg", jpeg_bytes(synthetic_image(3, 320, 240)))
    create_case(ctx, "C-1")
    ahead = prefetch(DirectorySource(tree.resolve()), 2, AnalysisSettings(max_image_pixels=1))
    summary = ingest(ctx, "C-1", tree, workers=2, settings=AnalysisSettings(), prefetched=ahead)
    assert (summary.counts["hashed"], summary.errors) == (1, [])
    with ctx.db.session() as session:
        assert session.scalars(select(Media.pdq)).all() != [None]
