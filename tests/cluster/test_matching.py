"""`cairn match --scheduler`: PDQ searches on a real Dask LocalCluster (two one-thread worker
processes on loopback) give the local search's rows exactly, and the match the local match's
rows, row for row, on both stores; a worker that cannot read the index stops it first."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pytest
from distributed import Client, LocalCluster
from PIL import Image
from sqlalchemy import delete, func, select
from tests.cluster.nobody import VENV_BIN, as_nobody
from tests.matching.test_pdq_shards import moved

from cairn.cluster.matching import ClusterPdqSearch, shard_workers
from cairn.core.errors import UsageError
from cairn.hashing.pdq import pdq_from_image
from cairn.matching.pdq_shards import SHARD_HASHES_ENV, PdqShards
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.hashsets import import_hashset
from cairn.services.ingest import ingest
from cairn.services.matching import match_case
from cairn.store.models import Match, ProcessingRun

if TYPE_CHECKING:
    from conftest import RunCli  # tests/conftest.py

U8 = npt.NDArray[np.uint8]
# No nanny: its spawned worker process does not start under setpriv.
BLIND = ("--no-nanny", "--no-dashboard", "--nthreads", "1")


@pytest.fixture(scope="module")
def client(scheduler: str) -> Iterator[Client]:
    with Client(scheduler, set_as_default=False) as joined:
        yield joined


@pytest.mark.parametrize(("cap", "shards"), [(None, 1), (1300, 3), (400, 8)])
def test_cluster_search_equals_the_local_index(
    client: Client, tmp_path: Path, cap: int | None, shards: int
) -> None:
    """3,000 hashes, a third in tight clusters, some stored twice: many neighbours and ties.
    Batches of 100 queries, so every shard gets several tasks on either worker."""
    rng = np.random.default_rng(5)
    centres = rng.integers(0, 256, (20, 32), dtype=np.uint8)
    stored = np.concatenate(
        [
            moved(np.repeat(centres, 50, axis=0), rng.integers(0, 25, 1000), rng),
            rng.integers(0, 256, (1950, 32), dtype=np.uint8),
        ]
    )
    stored = np.concatenate([stored, stored[:50]])
    ids = rng.permutation(len(stored)).astype(np.int64) * 3 + 11
    queries = np.concatenate(
        [
            moved(centres[rng.integers(0, 20, 200)], rng.integers(0, 20, 200), rng),
            moved(stored[rng.integers(0, 3000, 150)], rng.integers(0, 40, 150), rng),
        ]
    )
    index = PdqShards(cap)
    index.build(stored, ids)
    index.save(tmp_path / "pdq")
    assert len(index.parts) == shards
    search = ClusterPdqSearch(client, batch=100)
    for radius in (31, 52):
        expected = index.search_arrays(queries, radius)
        found = search(tmp_path / "pdq", queries, radius)
        assert np.array_equal(found.query, expected.query)
        assert np.array_equal(found.id, expected.id)
        assert np.array_equal(found.distance, expected.distance)
    assert len(expected) > 10 * len(queries)
    assert len(search(tmp_path / "nothing", queries, 31)) == 0
    assert len(search(tmp_path / "pdq", queries[:0], 31)) == 0


def test_shards_are_pinned_to_workers() -> None:
    workers = ["tcp://a", "tcp://b", "tcp://c"]
    assert [shard_workers(s, 1, workers) for s in range(1)] == [workers]
    assert [shard_workers(s, 2, workers) for s in range(2)] == [
        ["tcp://a", "tcp://c"],
        ["tcp://b"],
    ]
    assert [shard_workers(s, 5, workers) for s in range(5)] == [
        ["tcp://a"],
        ["tcp://b"],
        ["tcp://c"],
        ["tcp://a"],
        ["tcp://b"],
    ]


def _photo(seed: int) -> bytes:
    return jpeg_bytes(synthetic_image(seed, 480, 360), quality=90)


def _pdq(data: bytes) -> U8:
    with Image.open(io.BytesIO(data)) as image:
        return np.frombuffer(bytes.fromhex(pdq_from_image(image).hex), np.uint8)


@pytest.fixture
def case_with_neighbours(
    db_ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Context:
    """A case of 6 photos (one rotated) against a PDQ set of 300 hashes: 40 within 0-60 bits of
    each photo (matches, possibles, ties) and 60 random, in a workspace whose PDQ index is in
    4 shards."""
    rng = np.random.default_rng(11)
    device = tmp_path / "device"
    device.mkdir()
    photos = [_photo(seed) for seed in range(1, 7)]
    for number, data in enumerate(photos):
        (device / f"p{number}.jpg").write_bytes(data)
    rotated = Image.open(io.BytesIO(photos[0])).rotate(90, expand=True)
    (device / "p0-rotated.jpg").write_bytes(jpeg_bytes(rotated))
    known = np.concatenate(
        [
            *(
                moved(np.repeat(_pdq(p)[None], 40, axis=0), rng.integers(0, 61, 40), rng)
                for p in photos
            ),
            rng.integers(0, 256, (60, 32), dtype=np.uint8),
        ]
    )
    table = tmp_path / "known-pdq.csv"
    table.write_text("pdq,category\n" + "".join(f"{row.tobytes().hex()},vics:1\n" for row in known))
    monkeypatch.setenv(SHARD_HASHES_ENV, "80")
    assert import_hashset(db_ctx, table, "near").records == 300
    assert len(list((db_ctx.workspace.root / "indexes" / "pdq").glob("shard-*"))) == 4
    create_case(db_ctx, "C-1")
    ingest(db_ctx, "C-1", device, workers=0)
    return db_ctx


def _match_rows(ctx: Context) -> list[tuple[Any, ...]]:
    with ctx.db.session() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    Match.media_sha256,
                    Match.hashset_id,
                    Match.known_hash_id,
                    Match.method,
                    Match.distance,
                    Match.variant,
                    Match.band,
                    Match.hashset_file_sha256,
                ).order_by(Match.id)
            )
        ]


def test_match_on_the_cluster_stores_the_local_rows(
    case_with_neighbours: Context, scheduler: str
) -> None:
    ctx = case_with_neighbours
    local = match_case(ctx, "C-1")
    expected = _match_rows(ctx)
    with ctx.db.session() as session:
        session.execute(delete(Match))
        session.commit()
    clustered = match_case(ctx, "C-1", scheduler)
    assert _match_rows(ctx) == expected  # row for row, in the order stored
    assert (clustered.new_matches, clustered.by_method) == (local.new_matches, local.by_method)
    bands = {(row[3], row[6]) for row in expected}
    assert {("pdq", "match"), ("pdq", "possible")} <= bands
    assert any(row[5] in {"rotate90", "rotate270"} for row in expected)
    assert len(expected) > 100


def test_ingest_and_match_commands_with_scheduler(
    run_cli: RunCli, tmp_path: Path, scheduler: str, workspace: Path
) -> None:
    """`cairn ingest --scheduler` ends with the match on the same cluster; `cairn match
    --scheduler` after it finds nothing new; both runs record the scheduler."""
    rng = np.random.default_rng(2)
    (tmp_path / "device").mkdir()
    photo = _photo(9)
    (tmp_path / "device" / "p.jpg").write_bytes(photo)
    near = moved(np.repeat(_pdq(photo)[None], 30, axis=0), rng.integers(0, 50, 30), rng)
    table = tmp_path / "known.csv"
    table.write_text("pdq,category\n" + "".join(f"{r.tobytes().hex()},vics:1\n" for r in near))
    env = {SHARD_HASHES_ENV: "10"}
    assert run_cli("hashset", "import", table, "--name", "near", env=env)[0] == 0
    assert run_cli("case", "create", "C-1")[0] == 0
    code, _out, err = run_cli(
        "ingest", "--case", "C-1", tmp_path / "device", "--json", env={"CAIRN_SCHEDULER": scheduler}
    )
    assert code == 0, err
    code, out, err = run_cli("match", "--case", "C-1", "--json", "--scheduler", scheduler)
    assert code == 0, err
    assert json.loads(out)["new_matches"] == 0
    ctx = Context.open(workspace)
    try:
        with ctx.db.session() as session:
            runs = session.scalars(
                select(ProcessingRun.settings)
                .where(ProcessingRun.command == "match")
                .order_by(ProcessingRun.id)
            ).all()
            distances = session.scalars(select(Match.distance).where(Match.method == "pdq")).all()
    finally:
        ctx.close()
    assert [run["scheduler"] for run in runs] == [scheduler, scheduler]
    expected = sorted(int(d) for d in np.bitwise_count(near ^ _pdq(photo)).sum(axis=1) if d <= 52)
    assert sorted(distances) == expected
    code, _out, err = run_cli(
        "match", "--case", "C-1", env={"CAIRN_SCHEDULER": "tcp://127.0.0.1:9"}
    )
    assert code == 2 and "cannot reach the Dask scheduler" in err


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # before the store acts
def test_workers_that_cannot_read_the_index_stop_the_match(
    case_with_neighbours: Context,
) -> None:
    """A worker running as nobody cannot enter the 0700 workspace: the match stops before it
    stores a run or a match."""
    ctx = case_with_neighbours
    with LocalCluster(
        n_workers=0, host="127.0.0.1", dashboard_address=None, processes=True
    ) as cluster:
        worker = subprocess.Popen(
            as_nobody(str(VENV_BIN / "dask"), "worker", cluster.scheduler_address, *BLIND),
            stderr=subprocess.DEVNULL,
        )
        try:
            with Client(cluster.scheduler_address, set_as_default=False) as client:
                client.wait_for_workers(1, timeout=120)
            with pytest.raises(UsageError, match=r"1 of 1 Dask workers cannot read .*shards\.json"):
                match_case(ctx, "C-1", cluster.scheduler_address)
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    with ctx.db.session() as session:
        assert session.scalar(select(func.count(Match.id))) == 0
        assert (
            session.scalar(
                select(func.count(ProcessingRun.id)).where(ProcessingRun.command == "match")
            )
            == 0
        )
