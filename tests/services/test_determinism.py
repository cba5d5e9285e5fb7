"""The same evidence gives the same findings on every run, whatever the worker count.

A finding that a second run does not reproduce cannot stand in court. One benign scene (the
demo device: photos and their altered copies, an archive, a corrupt file, a WhatsApp database,
a clip cut from a known film on the sampling grid and one cut off it) is ingested and matched
from scratch by separate `cairn` processes with different worker counts; everything they
report (per-occurrence digests, PDQ, triage and best match, video comparisons with their
offsets, messaging attribution scores, the review queue) must be identical.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from cairn.media.video import SyntheticVideo, write_synthetic_video
from cairn.messaging.scenario import demo_whatsapp
from cairn.services.demo import build_device, build_hash_sets
from cairn.services.video_matching.demo_films import DEMO_KNOWN_FILM, build_demo_videos

if TYPE_CHECKING:
    from conftest import Cli  # tests/conftest.py

CASE = "DET-1"
# The demo's known film (services.video_matching.build_demo_videos), cut 10.5 s in: off the
# one-second sampling grid, so only its offset line links it to the film.
DEMO_FILM = SyntheticVideo(seconds=20, fps=10, width=320, height=240, seed=505, scene_seconds=5)
LISTINGS = (
    ("triage",),
    ("queue",),
    ("videos",),
    ("messaging", "people"),
    ("messaging", "groups"),
    ("messaging", "media"),
)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The device and its hash sets, written once: every run reads the same bytes."""
    root = tmp_path_factory.mktemp("scene")
    device = build_device(root / "device")
    demo_whatsapp(device)
    sets = root / "sets"
    build_hash_sets(sets, device)
    build_demo_videos(device, sets)
    write_synthetic_video(
        device / "videos" / "off-grid.mp4", replace(DEMO_FILM, start=10.5, seconds=9.0)
    )
    return device, sets


def _run(run: Cli, workspace: Path, device: Path, sets: Path, workers: int) -> dict[str, Any]:
    """A fresh workspace: import the sets, ingest and match; everything the CLI reports."""

    def cli(*args: str | Path) -> str:
        code, out, err = run(workspace, *args, timeout=600)
        assert code in (0, 1), err  # 1: the device's corrupt file is a recorded per-file error
        return out

    cli("hashset", "import", sets / "demo-known.json", "--name", "known")
    cli("hashset", "import", sets / "demo-known-pdq.csv", "--name", "known-pdq")
    cli(
        "hashset", "import", sets / "demo-known-files.txt", "--name", "files", "--kind", "ignorable"
    )
    cli("hashset", "import-vpdq", sets / DEMO_KNOWN_FILM, "--name", "films", "--category", "vics:1")
    cli("case", "create", CASE)
    cli("ingest", "--case", CASE, device, "--workers", str(workers))  # matches at its end
    found: dict[str, Any] = {"hashes.csv": cli("export", "hashes", "--case", CASE)}
    for listing in LISTINGS:
        found[" ".join(listing)] = json.loads(cli(*listing, "--case", CASE, "--json"))
    return found


def test_runs_with_different_worker_counts_report_the_same_findings(
    scene: tuple[Path, Path], tmp_path: Path, cli: Cli
) -> None:
    device, sets = scene
    first = _run(cli, tmp_path / "in-process", device, sets, workers=0)
    second = _run(cli, tmp_path / "two-workers", device, sets, workers=2)
    for name in first:
        assert second[name] == first[name], name
    # The scene exercises what must not vary: near-duplicate and video matching, the
    # off-grid clip's offset line, and messaging attribution.
    rows = first["hashes.csv"].splitlines()
    assert any(",near-known," in row for row in rows)
    [off_grid] = [
        v
        for v in first["videos"]
        if v["known"] and any(path.endswith("off-grid.mp4") for path in v["paths"])
    ]
    assert off_grid["aligned_frames"] > 0 and off_grid["offset_seconds"] is not None
    assert first["messaging people"]
