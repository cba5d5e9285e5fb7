"""Ingest on a Dask cluster: the same rows, in the same order, as a local ingest of the source.

A real `distributed` LocalCluster (two worker processes on loopback) serves the module; one test
starts a scheduler and workers with the `dask` command line, as an operator would.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select
from tests.cluster.nobody import VENV_BIN, as_nobody
from tests.evidence.diskimage.builders import (
    EXT_FILES,
    FAT_FILES,
    make_disk,
    make_e01,
    make_ext,
    make_fat,
)
from tests.services.crash_source import run_python
from tests.services.interrupt import kill_after_first_commit

from cairn.core.errors import UsageError
from cairn.core.settings import AnalysisSettings
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.export import export_hashes
from cairn.services.ingest import ingest
from cairn.store.models import Case, Evidence, IngestError, Occurrence

if TYPE_CHECKING:
    from conftest import Cli  # tests/conftest.py

CASES = ("LOCAL", "CLUSTER")
Row = tuple[Any, ...]


def write(root: Path, relative: str, data: bytes) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def build_tree(root: Path) -> None:
    """Notes (some duplicated), photos, a corrupt JPEG, an empty file, a zip, a symlink."""
    for i in range(24):
        write(root, f"notes/{i:02d}.txt", b"note %d\n" % (i % 7))
    photos = [jpeg_bytes(synthetic_image(seed, 64, 48)) for seed in range(4)]
    for i, photo in enumerate(photos):
        write(root, f"photos/{i}.jpg", photo)
    write(root, "photos/broken.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    write(root, "empty", b"")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("inner/photo.jpg", photos[0])
        zf.writestr("inner/readme.txt", b"inside the archive")
    write(root, "backup.zip", archive.getvalue())
    os.symlink("notes/00.txt", root / "link")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree") / "device"
    build_tree(root)
    return root


def stored(ctx: Context, case: str) -> tuple[str, list[Row]]:
    """The case's hash export, and its occurrences with their errors in the order stored."""
    out = io.StringIO()
    export_hashes(ctx, case, "csv", out, "test")
    with ctx.db.session() as session:
        occurrences = session.execute(
            select(Occurrence)
            .join(Evidence, Evidence.id == Occurrence.evidence_id)
            .join(Case, Case.id == Evidence.case_id)
            .where(Case.ref == case)
            .order_by(Occurrence.id)
        ).scalars()
        rows = []
        for o in occurrences:
            errors = session.execute(
                select(IngestError.stage, IngestError.message)
                .where(IngestError.occurrence_id == o.id)
                .order_by(IngestError.id)
            ).all()
            rows.append(
                (o.path, o.container, o.kind, o.size, o.media_sha256, o.offset, tuple(errors))
            )
    return out.getvalue(), rows


def ingest_both(
    ctx: Context, source: Path, scheduler: str, settings: AnalysisSettings
) -> tuple[tuple[str, list[Row]], tuple[str, list[Row]]]:
    """`source` ingested in-process into case LOCAL, on the cluster into CLUSTER: what each
    stored, once their counts were found equal."""
    for case in CASES:
        create_case(ctx, case)
    local = ingest(ctx, "LOCAL", source, workers=0, settings=settings)
    remote = ingest(ctx, "CLUSTER", source, scheduler=scheduler, settings=settings)
    assert remote.counts == local.counts
    assert [e.path for e in remote.errors] == [e.path for e in local.errors]
    return stored(ctx, "LOCAL"), stored(ctx, "CLUSTER")


def test_a_folder_on_the_cluster_stores_what_a_local_ingest_stores(
    db_ctx: Context, tree: Path, scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches of 4 units: a dozen tasks, run on both workers, stored in the source's order.
    monkeypatch.setattr("cairn.evidence.pool.BATCH_UNITS", 4)
    local, remote = ingest_both(db_ctx, tree, scheduler, AnalysisSettings(thumbnails=False))
    assert remote == local
    paths = [row[0] for row in local[1]]
    assert b"backup.zip!inner/photo.jpg" in paths  # the archive was expanded, on a worker too
    assert len(paths) == 34


@pytest.mark.parametrize("image_format", ["raw", "e01"])
def test_a_disk_image_on_the_cluster_stores_what_a_local_ingest_stores(
    ctx: Context, tmp_path: Path, scheduler: str, image_format: str
) -> None:
    """File-system entries of both partitions and carving windows are units of their own."""
    fat = make_fat(tmp_path / "p1.vol", FAT_FILES, ["gone.txt"])
    ext = make_ext(tmp_path / "p2.vol", "ext4", EXT_FILES, ["photos/deleted.jpg"])
    disk = tmp_path / "disk.dd"
    make_disk(disk, "dos", [("6", fat.read_bytes()), ("83", ext.read_bytes())])
    image = disk if image_format == "raw" else make_e01(disk, tmp_path / "e01" / "disk")
    settings = AnalysisSettings(thumbnails=False, carve=True)
    local, remote = ingest_both(ctx, image, scheduler, settings)
    assert remote == local
    kinds = {row[2] for row in local[1]}
    assert {"file", "carved"} <= kinds


def test_workers_and_scheduler_exclude_each_other(ctx: Context, tree: Path, scheduler: str) -> None:
    create_case(ctx, "C-1")
    with pytest.raises(UsageError, match="not with --scheduler"):
        ingest(ctx, "C-1", tree, workers=2, scheduler=scheduler)


def run_test_source(
    workspace: Path, tree: Path, kind: str, *, workers: int = 0, scheduler: str | None = None
) -> tuple[list[Row], str]:
    """Ingest `tree` with a source of crash_source.py in a subprocess: the rows it stored, and
    what it logged."""
    on = f"workers=None, scheduler={scheduler!r}" if scheduler else f"workers={workers}"
    done = run_python(f"crash_source.main({str(workspace)!r}, {str(tree)!r}, {on}, kind={kind!r})")
    assert done.returncode == 0, done.stderr.decode()
    ctx = Context.open(workspace)
    try:
        return stored(ctx, "C-1")[1], done.stderr.decode()
    finally:
        ctx.close()


def test_a_unit_that_keeps_killing_workers_is_recorded_as_a_local_run_records_it(
    tmp_path: Path, scheduler: str
) -> None:
    """Dask gives up on the batch (KilledWorker); the local quarantine then blames its units."""
    tree = tmp_path / "device"
    for name in ("a.txt", "always-crash.bin", "b.txt", "crash-decoder.bin", "c.txt"):
        write(tree, name, name.encode() * 3)
    local, _ = run_test_source(tmp_path / "local", tree, "crashing-directory", workers=2)
    remote, log = run_test_source(
        tmp_path / "cluster", tree, "crashing-directory", scheduler=scheduler
    )
    assert remote == local
    assert [row[0] for row in local if row[-1]] == [b"always-crash.bin", b"crash-decoder.bin"]
    assert "killed its cluster workers; redoing it here" in log


def test_a_worker_lost_mid_unit_is_replaced_and_the_unit_stored_once(
    tmp_path: Path, scheduler: str
) -> None:
    """The first attempt at die-once.txt kills its worker; Dask reruns the batch elsewhere."""
    tree = tmp_path / "device"
    for name in ("a.txt", "die-once.txt", "z.txt"):
        write(tree, name, name.encode())
    local, _ = run_test_source(tmp_path / "local", tree, "directory")
    remote, log = run_test_source(
        tmp_path / "cluster", tree, "dying-once-directory", scheduler=scheduler
    )
    assert (tmp_path / "device.die-once.txt.died").exists()  # a worker did die
    assert "redoing it here" not in log  # the cluster redid it, not the quarantine
    assert remote == local


def test_a_file_a_worker_cannot_read_is_recorded_as_a_local_run_records_it(
    tmp_path: Path, scheduler: str
) -> None:
    tree = tmp_path / "device"
    write(tree, "a.txt", b"a")
    local, _ = run_test_source(tmp_path / "local", tree, "vanished-file-directory")
    remote, _ = run_test_source(
        tmp_path / "cluster", tree, "vanished-file-directory", scheduler=scheduler
    )
    assert remote == local
    (vanished,) = [row for row in local if row[0] == b"vanished.txt"]
    assert vanished[4] is None  # no digests
    assert [stage for stage, _ in vanished[-1]] == ["read"]


def test_a_killed_client_resumes_to_what_a_local_ingest_stores(
    tmp_path: Path, scheduler: str, cli: Cli
) -> None:
    tree = tmp_path / "device"
    for i in range(400):
        write(tree, f"d{i // 50}/f{i:03d}", b"%d" % (i % 97))
    local = tmp_path / "local"
    assert cli(local, "case", "create", "C-1")[0] == 0
    assert cli(local, "ingest", "--case", "C-1", tree, "--workers", "0")[0] == 0
    env = {"CAIRN_COMMIT_ENTRIES": "5"}  # many small commits, so the kill lands between two
    for attempt in range(3):
        killed = tmp_path / f"killed-{attempt}"
        assert cli(killed, "case", "create", "C-1")[0] == 0
        done = kill_after_first_commit(
            [sys.executable, "-m", "cairn", "ingest", "--case", "C-1", str(tree)],
            {**os.environ, "CAIRN_WORKSPACE": str(killed), "CAIRN_SCHEDULER": scheduler, **env},
            killed / "cairn.db",
        )
        if 0 < done < 400:
            break
    else:
        pytest.fail(f"could not kill the ingest between two commits ({done} of 400)")
    code, out, err = cli(
        killed, "ingest", "--case", "C-1", tree, "--scheduler", scheduler, "--json", env=env
    )
    assert code == 0, err
    assert json.loads(out)["skipped_units"] == done
    assert exported(cli, killed) == exported(cli, local)


def exported(cli: Cli, workspace: Path) -> str:
    code, out, err = cli(workspace, "export", "hashes", "--case", "C-1")
    assert code == 0, err
    return out


def wait_for_file(path: Path, process: subprocess.Popen[bytes]) -> None:
    """Until the scheduler has written its address (or died trying)."""
    while not path.exists():
        assert process.poll() is None, "the dask scheduler exited"
        time.sleep(0.05)


def test_scheduler_and_workers_started_with_the_dask_command(
    tmp_path: Path, tree: Path, cli: Cli
) -> None:
    """As an operator runs them: `dask scheduler` and two `dask worker` processes."""
    from distributed import Client

    address_file = tmp_path / "scheduler.json"
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [str(VENV_BIN / "dask"), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        return process

    try:
        scheduler = start(
            "scheduler", "--host", "127.0.0.1", "--port", "0",
            "--scheduler-file", str(address_file), "--no-dashboard",
        )  # fmt: skip
        wait_for_file(address_file, scheduler)
        for _ in range(2):
            start(
                "worker", "--scheduler-file", str(address_file),
                "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
            )  # fmt: skip
        with Client(scheduler_file=str(address_file), timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            address = client.scheduler.address
        local, remote = tmp_path / "local", tmp_path / "cluster"
        for workspace in (local, remote):
            assert cli(workspace, "case", "create", "C-1")[0] == 0
        code, _, err = cli(local, "ingest", "--case", "C-1", tree, "--workers", "0")
        assert code == 1, err  # the corrupt JPEG is a recorded error
        env = {"CAIRN_SCHEDULER": address}
        code, _, err = cli(remote, "ingest", "--case", "C-1", tree, env=env)
        assert code == 1, err
        assert exported(cli, remote) == exported(cli, local)

        # A third worker that cannot see the evidence (another user, shut out of the 0700
        # test folder): the next ingest stops before storing anything.
        # (No nanny: its spawned worker process does not start under setpriv.)
        blind = as_nobody(str(VENV_BIN / "dask"), "worker", address, "--no-nanny")
        started.append(subprocess.Popen([*blind, "--no-dashboard"], stderr=subprocess.DEVNULL))
        with Client(address, timeout=60) as client:
            client.wait_for_workers(3, timeout=120)
        assert cli(remote, "case", "create", "C-2")[0] == 0
        code, _, err = cli(remote, "ingest", "--case", "C-2", tree, env=env)
        assert code == 2, err
        assert f"1 of 3 Dask workers cannot read {tree}" in err
        ctx = Context.open(remote)
        try:
            with ctx.db.session() as session:
                assert session.scalar(select(func.count()).select_from(Evidence)) == 1
        finally:
            ctx.close()
    finally:
        for process in reversed(started):  # workers first, then their scheduler
            process.terminate()
            process.wait(timeout=60)
