"""The review workspace at 100k items: first queue page, next page, and a grading keystroke.

Generates a case of N image items straight into the store (random digests and PDQs, one in
ten a near-duplicate of an earlier item so that stacks form, one in twenty with GPS; rows, not
files: the bench measures the review side, not ingest), builds its review queue (timed once,
printed), logs a reviewer in through the login form, and then, in-process through the whole
HTTP stack (FastAPI's TestClient, server side: no browser), times over ACTIONS requests each:

- the first queue page (`GET /cases/REF/queue`, 60 stacks, rendered HTML);
- the next page, walking forward through the whole queue by its keyset cursor;
- a grading keystroke to its stored vote (`POST /cases/REF/grade`, one stack, committed when
  the answer comes back), when the grading service is installed.

p50 and p99 of each; targets: p99 under 150 ms for pages and grades on 2 cores. The peer is
the REST API's media listing of the same case (`GET /api/v1/cases/REF/media`, 60 items,
offset paging), requested at the same depths as the next pages; the ratio is of the medians.

    .venv/bin/python bench/review_ui.py [--items 100000] [--actions 200] [--quick]
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from _harness import check, load, machine, timed
from cairn.core.config import Actor
from cairn.core.types import Role
from cairn.services import identity
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.review_queue import refresh
from cairn.store.models import Case, Evidence, Media, Occurrence
from cairn.store.review_models import QueueItem
from cairn.web.app import create_server

PASSWORD = "benign bench password"
CASE = "BENCH-1"
PAGE = 60  # the workspace's page size


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(label: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{label}: p50 {statistics.median(ms):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms "
        f"over {len(ms)}"
    )


def generate(ctx: Context, items: int) -> None:
    """The case, its agency and reviewer, one evidence item, and `items` media rows."""
    agency = identity.create_agency(ctx, "BENCH", "Bench agency", "NL").id
    identity.create_user(ctx, "reviewer", "BENCH", Role.EXAMINER, PASSWORD)
    create_case(ctx, CASE, "generated for bench/review_ui.py", agency_id=agency)
    rng = np.random.default_rng(16)
    pdqs = rng.integers(0, 256, (items, 32), dtype=np.uint8)
    for i in range(1, items, 10):  # a near-duplicate: the previous item with 8 bits flipped
        pdqs[i] = pdqs[i - 1]
        for bit in rng.choice(256, 8, replace=False):
            pdqs[i, bit // 8] ^= 1 << (bit % 8)
    now = datetime.now(UTC)
    with ctx.db.engine.begin() as connection:
        case_id = connection.scalar(select(Case.id).where(Case.ref == CASE))
        evidence_id = connection.execute(
            insert(Evidence)
            .values(
                case_id=case_id,
                label="phone",
                source_path="/bench/phone",
                source_kind="directory",
                added_at=now,
                added_by="bench",
            )
            .returning(Evidence.id)
        ).scalar_one()
        for start in range(0, items, 10_000):
            stop = min(items, start + 10_000)
            shas = [secrets.token_hex(32) for _ in range(start, stop)]
            connection.execute(
                insert(Media),
                [
                    {
                        "sha256": sha,
                        "md5": sha[:32],
                        "sha1": sha[:40],
                        "size": 100_000 + i,
                        "mime": "image/jpeg",
                        "width": 1024,
                        "height": 768,
                        "pdq": pdqs[i].tobytes().hex(),
                        "pdq_quality": 90,
                        "pdq_method": "exact",
                        "gps_lat": 52.0 if i % 20 == 0 else None,
                        "gps_lon": 4.0 if i % 20 == 0 else None,
                    }
                    for i, sha in zip(range(start, stop), shas, strict=True)
                ],
            )
            connection.execute(
                insert(Occurrence),
                [
                    {
                        "evidence_id": evidence_id,
                        "path": f"DCIM/{i:07d}.jpg".encode(),
                        "kind": "file",
                        "size": 100_000 + i,
                        "media_sha256": sha,
                    }
                    for i, sha in zip(range(start, stop), shas, strict=True)
                ],
            )


def build_queue(ctx: Context) -> None:
    with ctx.db.session() as session:
        case_id = session.scalar(select(Case.id).where(Case.ref == CASE))
    assert case_id is not None
    while refresh(ctx, case_id, batch=50_000):
        pass


def log_in(client: TestClient) -> str:
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    answer = client.post(
        "/login",
        data={"username": "reviewer", "password": PASSWORD, "csrf_token": token[1]},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    csrf = re.search(r'data-csrf="([^"]+)"', client.get("/cases").text)
    assert csrf is not None
    return csrf[1]


def timed_requests(count: int, request: Callable[[int], object]) -> list[float]:
    seconds = []
    for i in range(count):
        start = time.perf_counter()
        request(i)
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--actions", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="10,000 items, 50 actions")
    args = parser.parse_args()
    items, actions = (10_000, 50) if args.quick else (args.items, args.actions)
    print(machine())
    with tempfile.TemporaryDirectory(prefix="cairn-bench-ui-") as folder:
        root = Path(folder)
        app = create_server(root / "workspace", run_jobs=False)
        state = app.state.cairn
        ctx = Context(state.ctx.workspace, state.ctx.db, Actor("bench", "bench-host"))
        _, made = timed(lambda: generate(ctx, items))
        print(f"generated {items:,} items in {made.wall:.1f} s")
        _, built = timed(lambda: build_queue(ctx))
        with ctx.db.session() as session:
            stacks = session.scalar(
                select(func.count()).select_from(QueueItem).where(QueueItem.is_lead.is_(True))
            )
        print(f"queue built in {built.wall:.1f} s ({built.cpu:.1f} CPU-s): {stacks:,} stacks")
        with TestClient(app) as client:
            csrf = log_in(client)
            first = timed_requests(actions, lambda _i: client.get(f"/cases/{CASE}/queue"))
            cursors: list[str] = []
            url = f"/cases/{CASE}/queue"

            def next_page(_i: int) -> None:
                nonlocal url
                page = client.get(url)
                assert page.status_code == 200
                found = re.search(r'data-next="([^"]+)"', page.text)
                url = found[1].replace("&amp;", "&") if found else f"/cases/{CASE}/queue"
                cursors.append(url)

            following = timed_requests(actions, next_page)
            token = client.post(
                "/api/v1/auth/token", data={"username": "reviewer", "password": PASSWORD}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            peer = timed_requests(
                actions,
                lambda i: client.get(
                    f"/api/v1/cases/{CASE}/media",
                    params={"offset": (i + 1) * PAGE, "limit": PAGE},
                    headers=headers,
                ),
            )
            print(summary("first page", first))
            print(summary("next page (walking the queue by cursor)", following))
            print(summary("peer: REST media listing at the same depths (offset)", peer))
            print(
                f"RATIO next page: {statistics.median(peer) / statistics.median(following):.2f}x "
                f"the REST media listing (median wall); {load()}"
            )
            grades = grade_keystrokes(client, csrf, actions)
            if grades is not None:
                print(summary("grade keystroke to stored vote", grades))
            for label, values in (("first page", first), ("next page", following)):
                p99 = percentile(values, 0.99) * 1000
                print(f"target p99 < 150 ms, {label}: {'met' if p99 < 150 else 'NOT met'}")
            print(check("pages walked", len(cursors) == actions))


def grade_keystrokes(client: TestClient, csrf: str, actions: int) -> list[float] | None:
    """Grade the first `actions` stacks of the queue one keystroke at a time (the request the
    page's script sends), each answer coming back only once the vote is stored."""
    page = client.get(f"/cases/{CASE}/queue")
    shas = re.findall(r'data-sha256="([0-9a-f]{64})"', page.text)
    walked = page.text
    while len(shas) < actions:
        found = re.search(r'data-next="([^"]+)"', walked)
        if not found:
            break
        walked = client.get(found[1].replace("&amp;", "&")).text
        shas += re.findall(r'data-sha256="([0-9a-f]{64})"', walked)
    probe = client.post(
        f"/cases/{CASE}/grade",
        json={"items": [shas[0]], "category": "vics:0"},
        headers={"X-CSRF-Token": csrf},
    )
    if probe.status_code == 404:
        print("grade keystroke: the grading service is not installed in this build")
        return None

    def grade(i: int) -> None:
        answer = client.post(
            f"/cases/{CASE}/grade",
            json={"items": [shas[i]], "category": "vics:1"},
            headers={"X-CSRF-Token": csrf},
        )
        assert answer.status_code == 200, answer.text

    return timed_requests(min(actions, len(shas)), grade)


if __name__ == "__main__":
    main()
