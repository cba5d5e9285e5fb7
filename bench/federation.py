"""Federation: match filters against a plain in-memory set, PDQ recall through a filter against
plain PDQ, and how long a person notice takes to come back as a hit across two servers.

1. Digest filters of N random SHA-256s (cryptographic digests are uniform, so random bytes
   stand for them), N = 1M and 10M (`--quick`: 1M only): bytes per hash and lookups/s of
   `MatchFilter` against a Python `set[bytes]` (RSS growth), on the same queries, half stored;
   the filter must find every stored one; its false-positive rate on the absent half is
   measured against the rate it states.
2. PDQ through a filter: synthetic photos (benign gradients and shapes) and transformed copies
   (downscale, JPEG 30, 5% crop, brightness, a 3° rotation, a border); plain PDQ (distance
   <= 31, the same rule matching uses) against the filter's confirmed (2 segments) and
   candidate (1 segment) answers, on the same copies. Unrelated photos and a filter padded
   with random PDQs give the false confirmations.
3. Notice to hit: two `cairn serve` processes on loopback; a notice made on one, fetched and
   imported by the other, hit by a messaging import there, and the hit fetched back until the
   owner's `GET /alerts/hits` shows it. Peer: the same alert made and hit on one server.

    .venv/bin/python bench/federation.py [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from _harness import Timing, check, load, machine, ratio, timed, versus
from cairn.hashing.pdq import pdq_from_image
from cairn.matching.match_filter import PDQ_CONFIRMING_SEGMENTS, MatchFilter
from cairn.media.synthetic import jpeg_bytes, synthetic_image

MIN_SECONDS = 1.0
PDQ_MATCH = 31  # PDQ's published match threshold, as matching uses it


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def digests(count: int, queries_total: int, runs: int) -> None:
    rng = np.random.default_rng(count)
    print(f"\n== digest filter: {count:,} SHA-256 stored, {queries_total:,} queries (half stored)")
    built = MatchFilter.sized(os.urandom(32), count, 0)
    plain: set[bytes] = set()
    present: list[bytes] = []
    plain_bytes = 0
    build_seconds = 0.0
    for start in range(0, count, 1 << 20):
        before = rss_bytes()  # the set's growth includes its bytes objects
        raw = rng.integers(0, 256, (min(1 << 20, count - start), 32), np.uint8).tobytes()
        keys = [raw[i : i + 32] for i in range(0, len(raw), 32)]
        del raw
        started = time.perf_counter()
        built.add_digests("sha256", keys)
        build_seconds += time.perf_counter() - started
        plain.update(keys)
        if start == 0:
            present = keys[: queries_total // 2]
        del keys
        plain_bytes += rss_bytes() - before
    absent_block = rng.integers(0, 256, (queries_total - len(present), 32), np.uint8).tobytes()
    absent = [absent_block[i : i + 32] for i in range(0, len(absent_block), 32)]
    queries = present + absent
    (found, ours), (answers, peer) = versus(
        lambda: built.contains_digests("sha256", queries),
        lambda: [key in plain for key in queries],
        runs=runs,
        min_seconds=MIN_SECONDS,
    )
    filter_bytes = built.digests.words.nbytes
    print(
        f"MatchFilter: build {build_seconds:.1f} s, {filter_bytes / count:.2f} bytes/hash, "
        f"{ours.rates(len(queries))}"
    )
    print(
        f"set[bytes]: about {plain_bytes / count:.0f} bytes/hash (RSS growth), "
        f"{peer.rates(len(queries))}"
    )
    print(check("every stored digest found by the filter", bool(found[: len(present)].all())))
    print(
        check(
            "the set's answers", all(answers[: len(present)]) and not any(answers[len(present) :])
        )
    )
    false = int(found[len(present) :].sum())
    print(
        f"false positives: {false:,} of {len(absent):,} absent = {false / len(absent):.2e}, "
        f"stated {built.digest_fpr:.2e}"
    )
    print(ratio(f"filter lookups at {count:,}", ours, peer, "set[bytes]"))
    print(f"memory: filter {plain_bytes / filter_bytes:.1f}x smaller than the set")


def _transforms(image: Image.Image) -> dict[str, Image.Image]:
    width, height = image.size
    crop = (width // 20, height // 20, width - width // 20, height - height // 20)
    return {
        "downscale 50%": image.resize((width // 2, height // 2)),
        "jpeg q30": Image.open(io.BytesIO(jpeg_bytes(image, quality=30))),
        "crop 5%": image.crop(crop),
        "brightness +20%": ImageEnhance.Brightness(image).enhance(1.2),
        "rotate 3°": image.rotate(3, expand=False),
        "border 10%": ImageOps.expand(image, border=width // 10, fill=(255, 255, 255)),
    }


def _pdq(image: Image.Image) -> bytes:
    return bytes.fromhex(pdq_from_image(image).hex)


def pdq_recall(photos: int, padding: int) -> None:
    print(
        f"\n== PDQ through a filter: {photos} photos, 6 transforms, filter padded to "
        f"{photos + padding:,} PDQs"
    )
    originals = [synthetic_image(seed, 640, 480) for seed in range(photos)]
    stored = [_pdq(image) for image in originals]
    rng = np.random.default_rng(3)
    filler = [bytes(row) for row in rng.integers(0, 256, (padding, 32), np.uint8)]
    built = MatchFilter.build(os.urandom(32), [], stored + filler)
    stored_ints = [int.from_bytes(p, "big") for p in stored]
    totals: dict[str, list[int]] = {}
    for n, image in enumerate(originals):
        for name, copy in _transforms(image).items():
            query = _pdq(copy)
            distance = (int.from_bytes(query, "big") ^ stored_ints[n]).bit_count()
            segments = built.pdq_segment_hits(query)
            row = totals.setdefault(name, [0, 0, 0, 0])
            row[0] += distance <= PDQ_MATCH  # plain PDQ finds it
            row[1] += segments >= PDQ_CONFIRMING_SEGMENTS  # the filter confirms it
            row[2] += segments >= 1  # the filter makes it a candidate
            row[3] += segments >= PDQ_CONFIRMING_SEGMENTS and distance <= PDQ_MATCH
    print(
        f"{'transform':<16} {'plain PDQ':>10} {'confirmed':>10} {'candidate':>10} "
        f"{'confirmed/plain':>16}"
    )
    all_plain = all_both = 0
    for name, (plain, confirmed, candidate, both) in totals.items():
        all_plain, all_both = all_plain + plain, all_both + both
        share = both / plain if plain else float("nan")
        print(
            f"{name:<16} {plain / photos:>10.1%} {confirmed / photos:>10.1%} "
            f"{candidate / photos:>10.1%} {share:>16.1%}"
        )
    print(
        f"RECALL PDQ through the filter: {all_both / max(all_plain, 1):.1%} of what plain PDQ "
        f"finds is confirmed (distance <= {PDQ_MATCH}); {load()}"
    )
    # Copies at a known distance: bits flipped at random, as far as PDQ's threshold.
    print(f"{'bits flipped':<16} {'confirmed':>10} {'candidate':>10}  (plain PDQ: all, <= 31)")
    for flipped in (8, 12, 16, 20, 24, 28, 31):
        found = [0, 0]
        for value in stored_ints:
            bits = rng.choice(256, flipped, replace=False).tolist()
            query = value ^ sum(1 << int(bit) for bit in bits)
            segments = built.pdq_segment_hits(query.to_bytes(32, "big"))
            found[0] += segments >= PDQ_CONFIRMING_SEGMENTS
            found[1] += segments >= 1
        print(f"{flipped:<16} {found[0] / photos:>10.1%} {found[1] / photos:>10.1%}")
    unrelated = [_pdq(synthetic_image(10_000 + seed, 640, 480)) for seed in range(photos)]
    confirmed = sum(built.pdq_segment_hits(p) >= PDQ_CONFIRMING_SEGMENTS for p in unrelated)
    candidates = sum(built.pdq_segment_hits(p) >= 1 for p in unrelated)
    near = sum(
        min((int.from_bytes(p, "big") ^ s).bit_count() for s in stored_ints) <= PDQ_MATCH
        for p in unrelated
    )
    print(
        f"unrelated photos: {confirmed} confirmed, {candidates} candidates, {near} within "
        f"{PDQ_MATCH} by plain PDQ (of {photos}); stated per-probe rate "
        f"{built.pdq_probe_fpr:.1e}"
    )


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server(root: Path) -> Iterator[str]:
    import httpx

    port = _port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cairn", "serve", "--workspace", str(root), "--port", str(port)],
        env={**os.environ, "CAIRN_DATABASE_URL": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        for _ in range(600):
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _instance(root: Path, agency: str, partner: str) -> dict[str, str]:
    from cairn.core.types import Role
    from cairn.services.cases import create_case
    from cairn.services.context import Context
    from cairn.services.identity import (
        create_agency,
        create_api_token_for,
        create_user,
    )
    from cairn.services.sharing.trust import export_public_key

    with closing(Context.open(root)) as ctx:
        agency_id = create_agency(ctx, agency, agency, agency[:2]).id
        create_user(ctx, "exam", agency, Role.EXAMINER, "benign bench password")
        create_user(ctx, partner, agency, Role.PARTNER, "benign bench password")
        create_case(ctx, f"{agency}-1", agency_id=agency_id)
        export_public_key(ctx, root / "public.key")
        return {
            "exam": create_api_token_for(ctx, "exam", "bench"),
            partner: create_api_token_for(ctx, partner, "bench"),
        }


def notice_latency(runs: int) -> None:
    import httpx

    from cairn.messaging.samples import CAROL, example_device, write_msgstore
    from cairn.services.context import Context
    from cairn.services.messaging.importing import import_path
    from cairn.services.sharing.trust import trust

    print("\n== notice to hit: two `cairn serve` on loopback")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        nl_root, be_root = root / "nl", root / "be"
        nl_tokens, be_tokens = _instance(nl_root, "NL-NP", "BE"), _instance(be_root, "BE-FP", "NL")
        with closing(Context.open(nl_root)) as nl, closing(Context.open(be_root)) as be:
            trust(nl, "BE", be_root / "public.key")
            trust(be, "NL", nl_root / "public.key")
        auth = {k: {"Authorization": f"Bearer {v}"} for k, v in nl_tokens.items()}
        be_auth = {k: {"Authorization": f"Bearer {v}"} for k, v in be_tokens.items()}
        with _server(nl_root) as nl_url, _server(be_root) as be_url:
            nl_api, be_api = httpx.Client(base_url=nl_url), httpx.Client(base_url=be_url)
            run = iter(range(10_000))

            def messaging_import(case: str) -> None:
                store = write_msgstore(
                    root / f"phone-{next(run)}" / "msgstore.db", example_device()
                )
                with closing(Context.open(be_root)) as be:
                    import_path(be, store, case, f"phone-{next(run)}")

            def across() -> int:
                made = nl_api.post(
                    "/alerts",
                    json={"kind": "phone", "value": CAROL.phone, "notice": True},
                    headers=auth["exam"],
                ).json()
                sent = nl_api.get("/share/notices", headers=auth["BE"])
                be_api.post("/share/import", content=sent.content, headers=be_auth["exam"])
                messaging_import("BE-FP-1")
                hits = be_api.get("/share/notice-hits", headers=be_auth["NL"])
                nl_api.post("/share/import", content=hits.content, headers=auth["exam"])
                seen = nl_api.get("/alerts/hits", headers=auth["exam"]).json()
                return sum(h["alert"] == made["id"] and h["remote"] == "BE" for h in seen)

            def local() -> int:
                made = be_api.post(
                    "/alerts", json={"kind": "phone", "value": CAROL.phone}, headers=be_auth["exam"]
                ).json()
                messaging_import("BE-FP-1")
                seen = be_api.get("/alerts/hits", headers=be_auth["exam"]).json()
                return sum(h["alert"] == made["id"] for h in seen)

            best: dict[str, Timing] = {}
            for name, work in (("across", across), ("local", local)):
                for _ in range(runs):
                    found, took = timed(work)
                    print(check(f"{name}: the hit is visible", found == 1))
                    if name not in best or took.wall < best[name].wall:
                        best[name] = took
            print(
                f"notice on NL -> hit visible on NL via BE: {best['across'].wall:.2f} s "
                f"(six requests, two imports, BE's messaging import); the same alert on one "
                f"server: {best['local'].wall:.2f} s"
            )
            print(ratio("notice to hit", best["across"], best["local"], "one server's alert"))
            nl_api.close()
            be_api.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M digests, 30 photos, 1 run")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each side")
    parser.add_argument(
        "--part", choices=("all", "digests", "pdq", "notices"), default="all", help="one part"
    )
    args = parser.parse_args()
    print(machine(f"numpy {np.__version__}"))
    sizes = (1_000_000,) if args.quick else (1_000_000, 10_000_000)
    if args.part in ("all", "digests"):
        for count in sizes:
            digests(count, 200_000 if args.quick else 1_000_000, args.runs)
    if args.part in ("all", "pdq"):
        pdq_recall(30 if args.quick else 200, 10_000 if args.quick else 100_000)
    if args.part in ("all", "notices"):
        notice_latency(1 if args.quick else 3)


if __name__ == "__main__":
    main()
