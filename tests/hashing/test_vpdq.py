"""vPDQ: the frame PDQ kernel against pdqhash, the vPDQ file format, the two-way comparison."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from cairn.core.records import FrameHash
from cairn.hashing.pdq import ZERO_HEX, PdqHash, pdq_from_luma
from cairn.hashing.vpdq import (
    VideoMatchSettings,
    compare_videos,
    comparison_from_pairs,
    format_vpdq,
    parse_vpdq,
    pdq_from_luma_plane,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
SAMPLE_VIDEOS = SHARED_DATA / "threatexchange" / "tmk" / "sample-videos"
SAMPLE_HASHES = SHARED_DATA / "threatexchange" / "vpdq" / "sample-hashes"


@pytest.mark.parametrize(
    "shape", [(5, 5), (6, 9), (64, 64), (100, 37), (480, 640), (721, 1279), (1080, 1920)]
)
def test_frame_pdq_is_pdqhash_bit_for_bit_on_noise(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    luma = rng.integers(0, 256, shape, np.uint8)
    padded = np.zeros((shape[0], shape[1] + 48), np.uint8)  # a decoder's padded rows
    padded[:, : shape[1]] = luma
    assert pdq_from_luma_plane(padded[:, : shape[1]]) == pdq_from_luma(luma)


def test_frame_pdq_is_pdqhash_bit_for_bit_on_video_frames() -> None:
    checked = 0
    for path in sorted(SAMPLE_VIDEOS.glob("*.mp4")):
        with av.open(path) as video:
            for number, frame in enumerate(video.decode(video=0)):
                if number % 90 == 0:
                    plane = frame.planes[0]
                    rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
                    luma = rows[: frame.height, : frame.width]
                    assert pdq_from_luma_plane(luma) == pdq_from_luma(np.ascontiguousarray(luma))
                    checked += 1
    assert checked == 73


def test_frame_pdq_of_tiny_frames_is_zero() -> None:
    assert pdq_from_luma_plane(np.zeros((4, 100), np.uint8)) == PdqHash(ZERO_HEX, 0)


def test_reference_files_round_trip() -> None:
    text = (SAMPLE_HASHES / "chair-19-sd-bar.txt").read_text()
    frames, errors = parse_vpdq(text)
    assert errors == []
    assert len(frames) == 564
    assert frames[1] == FrameHash(
        1, 100, "c0f11178372c6aaccddea259648fbfd62f434c89c9e99b249772be216c8d055c", 0.033
    )
    assert format_vpdq(frames) == text


def test_bad_lines_are_reported_with_their_numbers() -> None:
    pdq = "ab" * 32
    text = "\n".join(
        [
            f"0,100,{pdq},0.000",
            "",
            f"1,100,{pdq}",
            f"x,100,{pdq},0.1",
            f"2,101,{pdq},0.1",
            f"3,90,{pdq[:-1]}g,0.1",
            f"4,90,{pdq},-1",
            f"5,90,{pdq},nan",
            f"6,90,{pdq[:10]},0.2",
            f" 7 , 90 , {pdq.upper()} , 0.25 ",
        ]
    )
    frames, errors = parse_vpdq(text)
    assert frames == [FrameHash(0, 100, pdq, 0.0), FrameHash(7, 90, pdq, 0.25)]
    assert errors == [
        f"line 3: expected frame_number,quality,pdq_hex,timestamp_sec, got '1,100,{pdq}'",
        "line 4: invalid literal for int() with base 10: 'x'",
        "line 5: frame number 2 or quality 101 out of range",
        "line 6: non-hexadecimal number found in fromhex() arg at position 63",
        "line 7: timestamp '-1' is not a time",
        "line 8: timestamp 'nan' is not a time",
        f"line 9: a PDQ hash is 64 hex characters, got '{pdq[:10]}'",
    ]


def _frames(hashes: list[str], quality: int = 100) -> list[FrameHash]:
    return [FrameHash(i, quality, h, float(i)) for i, h in enumerate(hashes)]


def _flip(pdq: str, bits: int) -> str:
    """`pdq` with its lowest `bits` bits inverted: exactly that Hamming distance away."""
    return f"{int(pdq, 16) ^ ((1 << bits) - 1):064x}"


def _random_hashes(count: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [rng.bytes(32).hex() for _ in range(count)]


def test_shares_both_ways_and_verdicts() -> None:
    known = _random_hashes(10, 1)
    other = _random_hashes(5, 2)
    settings = VideoMatchSettings()
    # A clip: 4 frames of the known video, re-encoded (a few bits off).
    clip = compare_videos(_frames([_flip(h, 7) for h in known[3:7]]), _frames(known))
    assert (clip.query_frames, clip.query_matched, clip.compared_frames) == (4, 4, 10)
    assert (clip.query_share, clip.compared_share, clip.distance) == (1.0, 0.4, 7)
    assert clip.verdict(settings) == "clip"
    # A compilation: the whole known video between unrelated frames.
    compilation = compare_videos(_frames(other[:3] + known + other[3:]), _frames(known))
    assert (compilation.query_share, compilation.compared_share) == (10 / 15, 1.0)
    assert compilation.verdict(settings) == "match"
    # Half of each: for a human.
    half = compare_videos(_frames(known[:5] + other), _frames(known))
    assert (half.query_share, half.compared_share) == (0.5, 0.5)
    assert half.verdict(settings) == "possible"
    assert half.verdict(VideoMatchSettings(possible_share=0.6)) is None
    assert compare_videos(_frames(other), _frames(known)).verdict(settings) is None


def test_distance_threshold_is_inclusive_and_low_quality_frames_are_dropped() -> None:
    known = _random_hashes(4, 3)
    at_31 = compare_videos(_frames([_flip(h, 31) for h in known]), _frames(known))
    at_32 = compare_videos(_frames([_flip(h, 32) for h in known]), _frames(known))
    assert (at_31.query_matched, at_31.distance, at_32.query_matched) == (4, 31, 0)
    stricter = compare_videos(
        _frames([_flip(h, 11) for h in known]), _frames(known), VideoMatchSettings(distance=10)
    )
    assert stricter.query_matched == 0
    noisy = _frames(known) + _frames(_random_hashes(6, 4), quality=49)
    dropped = compare_videos(noisy, _frames(known))
    assert (dropped.query_frames, dropped.query_share) == (4, 1.0)
    assert compare_videos(_frames(known, quality=10), _frames(known)).query_frames == 0


def test_a_frame_matching_many_counts_once() -> None:
    still = _random_hashes(1, 5) * 6  # one picture held for six samples
    comparison = compare_videos(_frames(still[:1]), _frames(still))
    assert (comparison.query_matched, comparison.compared_matched) == (1, 6)
    assert comparison_from_pairs(3, 2, [0, 0, 2], [1, 1, 0], [5, 3, 9]) == comparison_from_pairs(
        3, 2, [2, 0], [0, 1], [9, 3]
    )
    assert comparison_from_pairs(3, 2, [], [], []).query_share == 0.0
