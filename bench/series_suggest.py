"""Series proposals on a generated workspace: precision and recall per link kind, and the time
of `cairn series suggest` for one case.

The workspace (rows written straight into a fresh SQLite store: no images are decoded) holds
SERIES existing series of MEMBERS media each, in an earlier case, and one new case of CASE
media: planted groups of four new items joined by one kind of link each (`pdq`
near-duplicates within 12 bits, one `camera-serial`, `gps-time` within 20 minutes and 30 m, a
small `folder`), items that belong to existing series (an exact copy of a member, or a PDQ
within 12 bits of one), and distractors built to look close without being linked: PDQs 40 to
60 bits from a planted group, the same GPS position as a group hours later, camera rolls of
hundreds of items, cameras of their own.

For each link kind: recall = planted pairs (each group member with the group's first) that
end in one proposed cluster; precision = reported links of that kind that join items of one
planted group. Series hits: recall = planted (item, series) pairs proposed; precision =
proposed pairs that were planted. Peer for speed: the all-pairs PDQ comparison (numpy XOR and
popcount) that finds the same near-duplicate pairs without an index, on the case's PDQs.

    .venv/bin/python bench/series_suggest.py [--quick] [--runs N]

Full size: 500 series of 100 members (50,000 media) and a case of 5,000. --quick: 50 series
of 20 and a case of 1,000.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from _harness import check, machine, ratio, timed, versus
from cairn.services.context import Context
from cairn.services.series_suggest import pdq_pairs, suggest
from cairn.store.models import Case, Evidence, Media, Occurrence
from cairn.store.series_models import Series, SeriesMedia

KINDS = ("pdq", "camera-serial", "gps-time", "folder")
GROUP = 4
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _sha(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _flip(pdq: int, bits: int, rng: np.random.Generator) -> int:
    for bit in rng.choice(256, bits, replace=False).tolist():
        pdq ^= 1 << bit
    return pdq


def _media(sha: str, pdq: int | None, **exif: object) -> dict[str, object]:
    return {
        "sha256": sha,
        "md5": sha[:32],
        "sha1": sha[:40],
        "size": 1000,
        "mime": "image/jpeg",
        "pdq": None if pdq is None else f"{pdq:064x}",
        "pdq_quality": None if pdq is None else 100,
        "exif_thumbnail": False,
        # every row names every column: an executemany takes its columns from the first row
        **dict.fromkeys(
            ("exif_make", "exif_serial", "exif_datetime_original", "gps_lat", "gps_lon")
        ),
        **exif,
    }


class World:
    """The generated rows and the truth: which items belong together."""

    def __init__(self, series: int, members: int, case_size: int, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        self.rng = rng
        self.media: dict[str, dict[str, object]] = {}
        self.old: list[tuple[str, str]] = []  # (sha, path) in the earlier case
        self.new: list[tuple[str, str]] = []  # (sha, path) in the new case
        self.members: dict[int, list[str]] = {}
        self.group_of: dict[str, tuple[str, int]] = {}  # new item -> (kind, planted group)
        self.groups: dict[tuple[str, int], list[str]] = defaultdict(list)
        self.planted_hits: set[tuple[str, int]] = set()  # (new item, series index)
        for s in range(series):
            base = int.from_bytes(rng.bytes(32), "big")
            shas = []
            for m in range(members):
                sha = _sha("member", s, m)
                self.media[sha] = _media(sha, _flip(base, int(rng.integers(0, 10)), rng))
                self.old.append((sha, f"series{s}/{m}.jpg"))
                shas.append(sha)
            self.members[s] = shas
        hits = case_size // 10
        for h in range(hits):  # half exact copies, half near-duplicates of a member
            s = int(rng.integers(0, series))
            member = self.members[s][int(rng.integers(0, members))]
            if h % 2 == 0:
                sha = member
            else:
                sha = _sha("near", h)
                pdq = int(str(self.media[member]["pdq"]), 16)
                self.media[sha] = _media(sha, _flip(pdq, 12, rng))
            self.new.append((sha, f"DCIM{h % 7}/hit{h}.jpg"))
            self.planted_hits.add((sha, s))
            self.group_of[sha] = ("series", s)
        groups = case_size // 5 // GROUP
        for g in range(groups):
            kind = KINDS[g % len(KINDS)]
            self._plant(kind, g)
        distractors = case_size - len(self.new)
        self._distract(distractors)

    def _plant(self, kind: str, g: int) -> None:
        rng = self.rng
        base = int.from_bytes(rng.bytes(32), "big")
        self.bases.append(base) if hasattr(self, "bases") else setattr(self, "bases", [base])
        for i in range(GROUP):
            sha = _sha(kind, g, i)
            exif: dict[str, object] = {}
            pdq = int.from_bytes(rng.bytes(32), "big")  # unrelated pictures...
            folder = f"DCIM{g % 7}"  # a camera roll far too big to be an event
            if kind == "pdq":
                pdq = _flip(base, int(rng.integers(0, 13)), rng)  # ...except near-duplicates
            elif kind == "camera-serial":
                exif = {"exif_make": "Bench", "exif_serial": f"CAM-{g}"}
            elif kind == "gps-time":
                exif = {
                    "exif_datetime_original": f"2024:03:{1 + g % 28:02d} 1{g % 10}:{i * 5:02d}:00",
                    "gps_lat": 10 + g * 0.01 + i * 0.00005,
                    "gps_lon": 20 + g * 0.01,
                }
            elif kind == "folder":
                folder = f"event{g}"
            self.media[sha] = _media(sha, pdq, **exif)
            self.new.append((sha, f"{folder}/{kind}{g}-{i}.jpg"))
            self.group_of[sha] = (kind, g)
            self.groups[(kind, g)].append(sha)

    def _distract(self, count: int) -> None:
        rng = self.rng
        bases = getattr(self, "bases", [])
        for d in range(count):
            sha = _sha("distractor", d)
            exif: dict[str, object] = {"exif_make": "Bench", "exif_serial": f"LONE-{d}"}
            if bases and d % 3 == 0:  # looks like a planted group, 40-60 bits away
                pdq = _flip(bases[d % len(bases)], int(rng.integers(40, 61)), rng)
            else:
                pdq = int.from_bytes(rng.bytes(32), "big")
            if d % 5 == 1:  # where a gps-time group was, hours later
                g = (d * 7) % max(1, len(bases))
                later = datetime(2024, 4, 1) + timedelta(hours=2 * d)  # apart from all else
                exif.update(
                    exif_datetime_original=later.strftime("%Y:%m:%d %H:%M:%S"),
                    gps_lat=10 + g * 0.01,
                    gps_lon=20 + g * 0.01,
                )
            self.media[sha] = _media(sha, pdq, **exif)
            self.new.append((sha, f"DCIM{d % 7}/IMG_{d}.jpg"))


def store(world: World, root: Path) -> Context:
    ctx = Context.open(root / "workspace")
    with ctx.db.engine.begin() as connection:
        for case_id, ref in ((1, "OLD"), (2, "NEW")):
            connection.execute(
                insert(Case), [{"id": case_id, "ref": ref, "created_at": NOW, "created_by": "b"}]
            )
            connection.execute(
                insert(Evidence),
                [
                    {
                        "id": case_id,
                        "case_id": case_id,
                        "label": ref.lower(),
                        "source_path": f"/bench/{ref}",
                        "source_kind": "directory",
                        "added_at": NOW,
                        "added_by": "b",
                    }
                ],
            )
        rows = list(world.media.values())
        for start in range(0, len(rows), 5000):
            connection.execute(insert(Media), rows[start : start + 5000])
        occurrences = [
            {"evidence_id": evidence, "path": path.encode(), "kind": "file", "media_sha256": sha}
            for evidence, items in ((1, world.old), (2, world.new))
            for sha, path in items
        ]
        for start in range(0, len(occurrences), 5000):
            connection.execute(insert(Occurrence), occurrences[start : start + 5000])
        connection.execute(
            insert(Series),
            [
                {
                    "id": s + 1,
                    "agency_id": None,
                    "name": f"series {s}",
                    "shared": False,
                    "notes": "",
                    "created_at": NOW,
                    "created_by": "b",
                    "status": "unidentified",
                    "contact": "",
                }
                for s in world.members
            ],
        )
        members = [
            {
                "series_id": s + 1,
                "media_sha256": sha,
                "case_id": 1,
                "added_at": NOW,
                "added_by": "b",
            }
            for s, shas in world.members.items()
            for sha in shas
        ]
        for start in range(0, len(members), 5000):
            connection.execute(insert(SeriesMedia), members[start : start + 5000])
    return ctx


def score(world: World, found: list) -> None:  # type: ignore[type-arg]
    cluster_of: dict[str, int] = {}
    links_by_kind: dict[str, list[tuple[str, str]]] = defaultdict(list)
    hits: set[tuple[str, int]] = set()
    for n, proposal in enumerate(found):
        if proposal.series is None:
            for m in proposal.media:
                cluster_of[m.sha256] = n
            for link in proposal.links:
                links_by_kind[link.method].append((link.a, link.b))
        else:
            hits.update((m.sha256, int(proposal.series_id) - 1) for m in proposal.media)
    print(f"{'link kind':<14} {'planted pairs':>13} {'recall':>8} {'links':>7} {'precision':>10}")
    for kind in KINDS:
        pairs = [
            (shas[0], other)
            for (k, _g), shas in world.groups.items()
            if k == kind
            for other in shas[1:]
        ]
        joined = sum(
            1 for a, b in pairs if a in cluster_of and cluster_of.get(a) == cluster_of.get(b)
        )
        links = links_by_kind.get(kind, [])
        right = sum(
            1
            for a, b in links
            if a in world.group_of and world.group_of[a] == world.group_of.get(b)
        )
        recall = joined / len(pairs) if pairs else 1.0
        precision = right / len(links) if links else 1.0
        print(f"{kind:<14} {len(pairs):>13,} {recall:>8.1%} {len(links):>7,} {precision:>10.1%}")
    right = len(hits & world.planted_hits)
    print(
        f"{'series hits':<14} {len(world.planted_hits):>13,} "
        f"{right / max(1, len(world.planted_hits)):>8.1%} {len(hits):>7,} "
        f"{right / max(1, len(hits)):>10.1%}"
    )


def brute_force_pairs(pdqs: dict[str, str]) -> set[tuple[str, str]]:
    """All pairs within 31 bits, by comparing every PDQ with every other (numpy)."""
    names = sorted(pdqs)
    bits = np.unpackbits(
        np.frombuffer(b"".join(bytes.fromhex(pdqs[n]) for n in names), np.uint8).reshape(-1, 32),
        axis=1,
    ).astype(np.uint8)
    found = set()
    for i in range(len(names)):
        distances = (bits[i + 1 :] != bits[i]).sum(axis=1)
        for j in np.nonzero(distances <= 31)[0].tolist():
            found.add((names[i], names[i + 1 + j]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    series, members, case_size = (50, 20, 1000) if args.quick else (500, 100, 5000)
    print(machine())
    world, generated = timed(lambda: World(series, members, case_size))
    print(
        f"workspace: {series} series x {members} members ({series * members:,} media), "
        f"a case of {len(world.new):,} media; generated in {generated.wall:.1f} s"
    )
    with tempfile.TemporaryDirectory() as folder:
        ctx, stored = timed(lambda: store(world, Path(folder)))
        print(f"stored in {stored.wall:.1f} s")
        new_pdqs = {sha: str(world.media[sha]["pdq"]) for sha, _path in world.new}
        (ours, cairn_time), (peer, peer_time) = versus(
            lambda: {
                (min(a, b), max(a, b))
                for (a, b) in pdq_pairs(new_pdqs, {s: [p] for s, p in new_pdqs.items()})
            },
            lambda: brute_force_pairs(new_pdqs),
            runs=args.runs,
        )
        print(check("near-duplicate pairs of the case, index vs all pairs", ours == peer))
        print(ratio("near-duplicate pairs of a case", cairn_time, peer_time, "all-pairs numpy"))
        found, suggested = timed(lambda: suggest(ctx, None, "NEW"))
        print(
            f"series suggest for a case of {len(world.new):,} media: {suggested.wall:.1f} s wall, "
            f"{suggested.cpu:.1f} CPU-s (target: < 30 s for 5,000)"
        )
        score(world, found)
        ctx.close()


if __name__ == "__main__":
    main()
