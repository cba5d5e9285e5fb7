"""Load on `cairn serve` over PostgreSQL: many clients searching by hash and listing triage.

Builds the benign demo workspace (`cairn demo`'s synthetic device, hash sets and login) in a
fresh PostgreSQL database on loopback, starts `cairn serve` (uvicorn) as its own process, and
lets N concurrent clients (httpx, one asyncio loop) run a mix of hash searches (SHA-256, MD5,
PDQ within 31) and triage listings for a while. Prints throughput, p50/p99 latency per kind,
the error count, then `cairn audit verify` of the chain the load wrote. The peer: the same
searches called in-process (services.search.search_hash, audit included), against one
sequential API client, which gives the API's overhead ratio: both warmed on the first 20
searches, then three alternating passes, the best pass's median latency of each; both must
find the same hits for every search.

    .venv/bin/python bench/api_load.py [--clients 50] [--seconds 60] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select, text

from _harness import check, load, machine

PG_ADMIN_URL = os.environ.get(
    "CAIRN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
CAIRN = [sys.executable, "-m", "cairn"]


@dataclass(frozen=True)
class Query:
    kind: str  # sha256, md5, pdq or triage
    value: str


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def create_database() -> tuple[str, str]:
    name = f"cairn_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def build_workspace(workspace: Path) -> list[Query]:
    """The demo case and sets; returns the queries: every media item's digests and PDQ."""
    from cairn.services.context import Context
    from cairn.services.demo import DEMO_CASE, run_demo
    from cairn.store.models import Media

    ctx = Context.open(workspace)
    try:
        started = time.perf_counter()
        run_demo(ctx, workspace / "demo-device", workers=1)
        print(f"demo workspace built in {time.perf_counter() - started:.0f} s")
        with ctx.db.session() as session:
            media = session.execute(select(Media.sha256, Media.md5, Media.pdq)).all()
    finally:
        ctx.close()
    queries = [Query("triage", DEMO_CASE)]
    for sha256, md5, pdq in media:
        queries += [Query("sha256", sha256), Query("md5", md5)]
        if pdq:
            queries.append(Query("pdq", pdq))
    return queries


def request_of(query: Query) -> tuple[str, dict[str, str]]:
    if query.kind == "triage":
        return f"/api/v1/cases/{query.value}/triage", {}
    params = {query.kind: query.value}
    if query.kind == "pdq":
        params["distance"] = "31"
    return "/api/v1/search", params


def pick(rng: random.Random, queries: list[Query]) -> Query:
    """One request of the mix: a quarter triage listings, the rest hash searches."""
    if rng.random() < 0.25:
        return queries[0]
    return rng.choice(queries[1:])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (the server), from /proc."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [*CAIRN, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("cairn serve did not come up")


async def run_load(
    base: str, token: str, queries: list[Query], clients: int, seconds: float
) -> tuple[dict[str, list[float]], int, float]:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as http:

        async def client(n: int, stop: float) -> None:
            nonlocal errors
            rng = random.Random(n)
            while time.perf_counter() < stop:
                query = pick(rng, queries)
                path, params = request_of(query)
                began = time.perf_counter()
                try:
                    answer = await http.get(path, params=params)
                    ok = answer.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies[query.kind].append(time.perf_counter() - began)
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(client(n, started + seconds) for n in range(clients)))
        wall = time.perf_counter() - started
    return latencies, errors, wall


Hits = tuple[int, int]  # (case hits, known hits) of one search


def sequential_api(base: str, token: str, searches: list[Query]) -> tuple[list[float], list[Hits]]:
    times, hits = [], []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
        for query in searches:
            path, params = request_of(query)
            began = time.perf_counter()
            answer = http.get(path, params=params)
            times.append(time.perf_counter() - began)
            answer.raise_for_status()
            found = answer.json()
            hits.append((len(found["case_hits"]), len(found["known_hits"])))
    return times, hits


def in_process(workspace: Path, searches: list[Query]) -> tuple[list[float], list[Hits]]:
    from cairn.services import identity
    from cairn.services.context import Context
    from cairn.services.demo import DEMO_PASSWORD, DEMO_USER
    from cairn.services.search import search_hash

    ctx = Context.open(workspace)
    try:
        principal = identity.authenticate(ctx, DEMO_USER, DEMO_PASSWORD, "bench")
        assert principal is not None
        ctx = Context(ctx.workspace, ctx.db, identity.actor_for(principal, "bench"))
        times, hits = [], []
        for query in searches:
            began = time.perf_counter()
            found = search_hash(
                ctx, principal, query.kind, query.value, 31 if query.kind == "pdq" else None
            )
            times.append(time.perf_counter() - began)
            hits.append((len(found.case_hits), len(found.known_hits)))
        return times, hits
    finally:
        ctx.close()


def one_at_a_time(
    base: str, token: str, workspace: Path, searches: list[Query], passes: int = 3
) -> tuple[float, float]:
    """(API p50, in-process p50) of the searches one at a time: both warmed, then `passes`
    alternating passes, the best pass's median each; their hits must be equal."""
    sequential_api(base, token, searches[:20])
    in_process(workspace, searches[:20])
    api_p50 = local_p50 = float("inf")
    for _ in range(passes):
        api_times, api_hits = sequential_api(base, token, searches)
        local_times, local_hits = in_process(workspace, searches)
        print(check("hits of each search, API and in-process", api_hits == local_hits))
        api_p50 = min(api_p50, statistics.median(api_times))
        local_p50 = min(local_p50, statistics.median(local_times))
    return api_p50, local_p50


def report(latencies: dict[str, list[float]], errors: int, wall: float, clients: int) -> float:
    total = sum(len(v) for v in latencies.values())
    print(f"\n== {clients} clients, {wall:.0f} s: {total:,} requests, {total / wall:,.0f} req/s")
    print(f"errors: {errors}")
    everything = [t for values in latencies.values() for t in values]
    for kind, values in [*sorted(latencies.items()), ("all", everything)]:
        if values:
            print(
                f"  {kind:7} {len(values):7,}  p50 {percentile(values, 0.5) * 1e3:7.1f} ms"
                f"  p99 {percentile(values, 0.99) * 1e3:7.1f} ms"
            )
    searches = [t for kind, values in latencies.items() if kind != "triage" for t in values]
    return percentile(searches, 0.5) if searches else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="10 clients for 10 s")
    args = parser.parse_args()
    clients, seconds = (10, 10.0) if args.quick else (args.clients, args.seconds)
    print(machine())
    name, url = create_database()
    server = None
    try:
        with tempfile.TemporaryDirectory() as folder:
            workspace = Path(folder) / "workspace"
            env = {
                **os.environ,
                "CAIRN_WORKSPACE": str(workspace),
                "CAIRN_DATABASE_URL": url,
            }
            os.environ.update(CAIRN_WORKSPACE=str(workspace), CAIRN_DATABASE_URL=url)
            queries = build_workspace(workspace)
            rng = random.Random(7)
            searches = [rng.choice(queries[1:]) for _ in range(300)]
            print(f"{len(queries) - 1} distinct hash queries over the demo case's media")
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            server = start_server(env, port)
            from cairn.services.demo import DEMO_PASSWORD, DEMO_USER

            login = httpx.post(
                f"{base}/api/v1/auth/token",
                data={"username": DEMO_USER, "password": DEMO_PASSWORD},
            )
            login.raise_for_status()
            token = login.json()["access_token"]
            api_p50, local_p50 = one_at_a_time(base, token, workspace, searches)
            cpu_before = cpu_seconds(server.pid)
            latencies, errors, wall = asyncio.run(run_load(base, token, queries, clients, seconds))
            server_cpu = cpu_seconds(server.pid) - cpu_before
            loaded_p50 = report(latencies, errors, wall, clients)
            share = server_cpu / wall
            print(f"server process CPU: {server_cpu:.0f} s in {wall:.0f} s ({share:.0%} of a core)")
            print(f"after the load: {load()}")
            server.terminate()
            server.wait(timeout=60)
            server = None
            print(f"\n== hash search, {len(searches)} queries one at a time (best of 3 passes)")
            print(f"  in-process search_hash  p50 {local_p50 * 1e3:6.2f} ms")
            print(f"  API, one client         p50 {api_p50 * 1e3:6.2f} ms")
            print(f"  API overhead ratio (one client / in-process): {api_p50 / local_p50:.2f}x")
            print(f"  ({load()})")
            print(f"  under load ({clients} clients) p50 {loaded_p50 * 1e3:.1f} ms")
            verified = subprocess.run(
                [*CAIRN, "audit", "verify", "--json"], env=env, capture_output=True, check=False
            )
            chain = json.loads(verified.stdout)
            print(
                f"\naudit verify: exit {verified.returncode}, ok={chain['ok']}, "
                f"{chain['events']:,} events, anchored={chain['anchored']}"
            )
    finally:
        if server is not None:
            server.kill()
        drop_database(name)


if __name__ == "__main__":
    main()
