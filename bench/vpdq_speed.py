"""vPDQ hashing speed: Cairn's video sampler against Meta's `vpdq` package, in one run.

Corpus (generated once with cairn.media.video.write_synthetic_video, pinned by its parameters
and cached under ~/.cache/cairn-bench/; every file's SHA-256 is printed): H.264, 30 fps, at
360p (60 s), 720p (30 s) and 1080p (20 s), each encoded twice: x264 defaults (preset medium:
B-frames, keyint 250 and scene cuts) and phone-like (one-second GOP, no B-frames).

Peers, on the same files, in the same process, runs interleaved, best of three:
  reference  vpdq.computeHash(path, seconds_per_hash=1): its own FFmpeg 5.1 decode of every
             frame, its thread pool (all cores)
  cairn      cairn.media.video.analyse_video on the file (default "fast" sampling, one frame
             per second), reading through a file descriptor as ingest does
  keyframes  the same with video_sampling="keyframes" (labelled: it samples other instants)

Prints seconds of video hashed per wall second (and the CPU seconds of each run), the ratio to
the reference, and agreement: the frames sampled (must be the reference's frame numbers) and
the bit distance of each to the reference's frame at that timestamp (target: all <= 16).
Then the verdicts of both modes on clip-in-video tests (clips cut on and off the one-second
grid, a compilation, a re-encode, an unrelated film; the comparison counts frames on a clip's
time-offset line, see cairn.hashing.vpdq), how often keyframe mode agrees, and
a folder of the corpus through `cairn ingest --workers 2` against the reference run in two
processes. The machine is shared: the load average is printed with the results.

    .venv/bin/python bench/vpdq_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from fractions import Fraction
from functools import partial
from pathlib import Path

import av
import vpdq

from _harness import Timing, best_of, load, machine, ratio
from cairn.core.records import FrameHash, VideoInfo
from cairn.core.settings import AnalysisSettings
from cairn.hashing.pdq import hamming
from cairn.hashing.vpdq import VideoMatchSettings, compare_videos
from cairn.media.video import SyntheticVideo, analyse_video, write_synthetic_video
from ingest_digests import Workspaces, become_subreaper, run

GENERATOR = 2  # bump when write_synthetic_video changes what it writes
TARGET_RATIO = 1.25
TARGET_BITS = 16
CORPUS = {
    f"{name}-{kind}": SyntheticVideo(
        seconds=seconds,
        fps=30,
        width=width,
        height=height,
        seed=20_261_129,
        scene_seconds=7,
        gop=30 if kind == "phone" else None,
        bframes=0 if kind == "phone" else None,
    )
    for name, seconds, width, height in (
        ("360p", 60, 640, 360),
        ("720p", 30, 1280, 720),
        ("1080p", 20, 1920, 1080),
    )
    for kind in ("x264", "phone")
}
CACHE = Path(os.environ.get("CAIRN_BENCH_CACHE", Path.home() / ".cache" / "cairn-bench"))
FAST = AnalysisSettings()
KEYFRAMES = AnalysisSettings(video_sampling="keyframes")


def corpus(names: list[str]) -> dict[str, Path]:
    """The pinned corpus files, generated on first use; their SHA-256 printed."""
    pinned: dict[str, object] = {n: asdict(CORPUS[n]) for n in sorted(CORPUS)}
    pinned["generator"] = {"version": GENERATOR, "av": av.__version__}
    key = hashlib.sha256(json.dumps(pinned).encode()).hexdigest()[:12]
    folder = CACHE / f"vpdq-corpus-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in names:
        path = folder / f"{name}.mp4"
        if not path.exists():
            started = time.perf_counter()
            unfinished = path.with_suffix(".part")
            write_synthetic_video(unfinished, CORPUS[name])
            unfinished.rename(path)
            print(f"  generated {name} in {time.perf_counter() - started:.0f} s", flush=True)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(
            f"  {name:12s} {CORPUS[name].seconds:3.0f} s  {path.stat().st_size / 1e6:6.1f} MB  "
            f"sha256 {digest[:16]}"
        )
        paths[name] = path
    return paths


def cairn_hash(path: Path, settings: AnalysisSettings) -> VideoInfo:
    info, errors = analyse_video(lambda: os.open(path, os.O_RDONLY), settings)
    assert info is not None and not errors, errors
    return info


def per_video(paths: dict[str, Path], rounds: int) -> bool:
    print(
        f"\nPer video, one frame per second, warmed, best of {rounds} (video s per wall s; "
        f"CPU s); {load()}:"
    )
    print(
        f"  {'file':12s} {'reference':>16s} {'cairn':>16s} {'ratio':>6s} {'keyframes':>16s} "
        f"{'ratio':>6s}  agreement with the reference"
    )
    met = True
    for name, path in paths.items():
        seconds = CORPUS[name].seconds
        # Each warmed on the file first: the compiled PDQ kernel, the codecs, the page cache.
        measured = best_of(
            {
                "reference": partial(vpdq.computeHash, str(path), seconds_per_hash=1),
                "cairn": partial(cairn_hash, path, FAST),
                "keyframes": partial(cairn_hash, path, KEYFRAMES),
            },
            runs=rounds,
        )
        times = {peer: timing for peer, (_, timing) in measured.items()}
        ref, ours = measured["reference"][0], measured["cairn"][0]
        assert isinstance(ours, VideoInfo) and isinstance(ref, list)
        reference = {f.frame_number: (f.hex, f.timestamp) for f in ref}
        same = [f.frame_number for f in ours.frames] == sorted(reference)
        bits = [
            hamming(f.pdq, reference[f.frame_number][0])
            for f in ours.frames
            if f.frame_number in reference
        ]
        speed = times["reference"].wall / times["cairn"].wall
        kf_speed = times["reference"].wall / times["keyframes"].wall
        met = met and same and max(bits) <= TARGET_BITS and speed >= TARGET_RATIO

        def rate(t: Timing, s: float = seconds) -> str:
            return f"{s / t.wall:6.1f} ({t.cpu:5.2f})"

        print(
            f"  {name:12s} {rate(times['reference']):>16s} {rate(times['cairn']):>16s} "
            f"{speed:5.2f}x {rate(times['keyframes']):>16s} {kf_speed:5.2f}x  "
            f"{'same' if same else 'OTHER'} {len(bits)} frames, bits max {max(bits)} "
            f"median {statistics.median(bits):.0f}; decoded {ours.frames_decoded} of "
            f"{round(seconds * CORPUS[name].fps)}"
        )
    return met


def _transcode(out: Path, pieces: list[tuple[Path, float, float]], width: int, gop: int) -> None:
    """Cut and join pieces (source, start s, end s), re-encoded at another size and GOP."""
    with av.open(out, "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, width * 9 // 16, "yuv420p"
        params = f"keyint={gop}:min-keyint={gop}:bframes=0:threads=1:sync-lookahead=0"
        stream.options = {"x264-params": params}  # one thread: reproducible
        count = 0
        for source, start, end in pieces:
            with av.open(source) as video:
                for frame in video.decode(video=0):
                    if frame.time is not None and start - 1e-6 <= frame.time < end - 1e-6:
                        small = frame.reformat(
                            width=stream.width, height=stream.height, format="yuv420p"
                        )
                        small.pts, small.time_base = count, Fraction(1, 30)
                        count += 1
                        for packet in stream.encode(small):
                            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def clip_tests(known: Path, other: Path, scratch: Path, quick: bool) -> None:
    """Queries against a known film hashed per second (as a vPDQ set would hold it): clips at
    aligned and unaligned offsets, a compilation, unrelated films. Verdicts per mode."""
    cases: list[tuple[str, list[tuple[Path, float, float]], str | None]] = [
        ("clip 5-17 s", [(known, 5, 17)], "clip"),
        ("clip 10.5-25.5 s", [(known, 10.5, 25.5)], "clip"),
        ("clip 31.3-43.3 s", [(known, 31.3, 43.3)], "clip"),
        ("compilation", [(other, 0, 6), (known, 0, 60), (other, 6, 12)], "match"),
        ("re-encode", [(known, 0, 60)], "match"),
        ("unrelated", [(other, 0, 20)], None),
    ]
    if quick:
        cases = cases[:2] + cases[-1:]
    settings = VideoMatchSettings()
    reference = list(cairn_hash(known, FAST).frames)
    print(
        "\nClip-in-video tests (query hashed per second vs keyframes only; known film per "
        "second; shares query/known):"
    )
    agree, correct = 0, {"per-second": 0, "keyframes": 0}
    for label, pieces, expected in cases:
        query = scratch / f"{label.replace(' ', '_')}.mp4"
        _transcode(query, pieces, width=512, gop=60)  # rows without padding: reproducible
        line = f"  {label:17s} expected {expected or '-':6s}"
        verdicts = {}
        for mode, settings_ in (("per-second", FAST), ("keyframes", KEYFRAMES)):
            frames: list[FrameHash] = list(cairn_hash(query, settings_).frames)
            comparison = compare_videos(frames, reference, settings)
            verdict = comparison.verdict(settings)
            verdicts[mode] = verdict
            correct[mode] += verdict == expected
            line += (
                f" | {mode}: {verdict or '-':8s} {comparison.query_share:4.0%}/"
                f"{comparison.compared_share:4.0%} ({len(frames)} frames)"
            )
        agree += verdicts["per-second"] == verdicts["keyframes"]
        print(line)
    print(
        f"  keyframe mode agrees with per-second mode on {agree} of {len(cases)}; right "
        f"verdicts: per-second {correct['per-second']}/{len(cases)}, keyframes "
        f"{correct['keyframes']}/{len(cases)}"
    )


REFERENCE_POOL = """
import sys, vpdq
from multiprocessing import Pool
def run(path):
    return len(vpdq.computeHash(path, seconds_per_hash=1))
if __name__ == "__main__":
    with Pool(2) as pool:
        print(sum(pool.map(run, sys.argv[1:])))
"""


def ingest_folder(paths: dict[str, Path], scratch: Path, rounds: int) -> None:
    folder = scratch / "device"
    folder.mkdir()
    for name, path in paths.items():
        shutil.copyfile(path, folder / f"{name}.mp4")
    total = sum(CORPUS[name].seconds for name in paths)
    empty = scratch / "empty"
    empty.mkdir()
    become_subreaper()
    workspaces = Workspaces(scratch, 2 * (rounds + 1))
    reference_pool = [sys.executable, "-c", REFERENCE_POOL, *map(str, paths.values())]
    measured = best_of(
        {
            "cairn": lambda: workspaces.ingest(folder, "--workers", "2"),
            "empty": lambda: workspaces.ingest(empty, "--workers", "2"),
            "reference": lambda: run(reference_pool),
        },
        runs=rounds,
    )
    cairn, empty_time, reference = (measured[n][1] for n in ("cairn", "empty", "reference"))
    print(
        f"\nA folder of {len(paths)} videos ({total:.0f} s of video), two cores, warmed, best "
        f"of {rounds}, whole processes:"
    )
    print(
        f"  cairn ingest --workers 2:        {total / cairn.wall:6.1f} video s per s  "
        f"({cairn.wall:.1f} s; digests, metadata, the store included)"
    )
    print(
        f"  vpdq.computeHash, 2 processes:   {total / reference.wall:6.1f} video s per s  "
        f"({reference.wall:.1f} s)"
    )
    print(ratio("cairn ingest of the folder", cairn, reference, "vpdq.computeHash x2"))
    print(
        f"  of cairn's time, {empty_time.wall:.1f} s is the fixed cost of an ingest (start-up, "
        "workers, new workspace: an empty folder)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="360p only, two rounds")
    args = parser.parse_args()
    names = [n for n in CORPUS if n.startswith("360p")] if args.quick else list(CORPUS)
    rounds = 2 if args.quick else 3
    print(
        machine(
            f"vpdq {vpdq.__file__.rsplit('/', 1)[-1]}",
            f"PyAV {av.__version__} (FFmpeg "
            f"{'.'.join(map(str, av.library_versions['libavcodec']))} libavcodec)",
        )
    )
    print("Corpus:")
    paths = corpus(names)
    per_video_met = per_video(paths, rounds)
    scratch = Path(tempfile.mkdtemp(prefix="cairn-vpdq-bench-"))
    try:
        known = paths["360p-x264"]
        other = scratch / "other.mp4"
        write_synthetic_video(
            other,
            SyntheticVideo(seconds=20, fps=30, width=640, height=360, seed=99, scene_seconds=5),
        )
        clip_tests(known, other, scratch, args.quick)
        ingest_folder(paths, scratch, rounds)
    finally:
        shutil.rmtree(scratch)
    print(
        f"\nper-video target (>= {TARGET_RATIO}x, every frame within {TARGET_BITS} bits): "
        f"{'met' if per_video_met else 'NOT met'}; at the end {load()}"
    )


if __name__ == "__main__":
    main()
