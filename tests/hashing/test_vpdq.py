"""vPDQ: the frame PDQ kernel against pdqhash, the vPDQ file format, the two-way comparison."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from cairn.core.records import FrameHash
from cairn.hashing.pdq import ZERO_HEX, PdqHash, hamming, pdq_from_luma
from cairn.hashing.vpdq import (
    FrameArrays,
    VideoMatchSettings,
    compare_videos,
    format_vpdq,
    line_tolerance,
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
    strict = VideoMatchSettings(aligned_distance=0)
    at_31 = compare_videos(_frames([_flip(h, 31) for h in known]), _frames(known), strict)
    at_32 = compare_videos(_frames([_flip(h, 32) for h in known]), _frames(known), strict)
    assert (at_31.query_matched, at_31.distance, at_32.query_matched) == (4, 31, 0)
    # With alignment (the default) the same 32-bit frames count: all four are on one line.
    aligned = compare_videos(_frames([_flip(h, 32) for h in known]), _frames(known))
    assert (aligned.query_matched, aligned.aligned, aligned.offset) == (4, 4, 0.0)
    stricter = compare_videos(
        _frames([_flip(h, 11) for h in known]),
        _frames(known),
        VideoMatchSettings(distance=10, aligned_distance=0),
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
    assert compare_videos([], _frames(still)).query_share == 0.0
    # Frames out of time order (sets in the wild) are compared in time order.
    shuffled = compare_videos(_frames(still[:1]), _frames(still)[::-1])
    assert shuffled == comparison


def _timed(hashes: list[str], start: float) -> list[FrameHash]:
    return [FrameHash(i, 100, h, start + i) for i, h in enumerate(hashes)]


def test_a_clip_off_the_sampling_grid_is_found_on_its_offset_line() -> None:
    # The query was cut at 10.5 s of the known film: each of its frames lies between two
    # known frames and is 40-60 bits from the nearer, never within 31 (half a second of motion).
    known = _random_hashes(40, 6)
    query = [_flip(known[10 + i + i % 2], 40 + i) for i in range(20)]
    strict = VideoMatchSettings(aligned_distance=0)
    assert compare_videos(_frames(query), _frames(known), strict).query_matched == 0
    clip = compare_videos(_frames(query), _frames(known))
    assert (clip.query_matched, clip.aligned, clip.compared_matched) == (20, 20, 11)
    assert clip.offset == 10.5  # the neighbours either side average out to the cut
    assert clip.verdict(VideoMatchSettings()) == "clip"
    assert clip.distance == 49  # the median of 40..59


def test_loose_pairs_off_the_line_do_not_count() -> None:
    known = _random_hashes(400, 7)
    # Loose pairs at scattered offsets (every frame a different place in the film): no line.
    scattered = [_flip(known[(37 * i) % 400], 50) for i in range(20)]
    comparison = compare_videos(_frames(scattered), _frames(known))
    assert (comparison.query_matched, comparison.aligned, comparison.offset) == (0, 0, None)
    # Too few frames on a line (min_aligned = 2), and pairs past 63 bits even on a line.
    one = compare_videos(_frames([_flip(known[0], 50)]), _frames(known))
    far = compare_videos(_frames([_flip(h, 64) for h in known[:10]]), _frames(known))
    assert (one.query_matched, far.query_matched) == (0, 0)
    at_63 = compare_videos(_frames([_flip(h, 63) for h in known[:10]]), _frames(known))
    assert at_63.query_matched == 10
    # Strict pairs count wherever they are; the line only adds to them.
    mixed = [_flip(known[300], 5)] + [_flip(h, 50) for h in known[100:110]]
    both = compare_videos(_timed(mixed, 99.0), _frames(known))
    assert (both.query_matched, both.aligned, both.offset) == (11, 10, 0.0)


def test_alignment_tolerance_follows_the_sparser_sampling() -> None:
    hashes = np.zeros((6, 32), np.uint8)
    assert FrameArrays.from_hashes(hashes, [9.0, 2.0, 4.0, 4.0, 6.0, 0.0]).interval == 2.0
    assert FrameArrays.from_hashes(hashes[:1], [5.0]).interval == 0.0
    every_second = FrameArrays.from_hashes(hashes, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    quarters = FrameArrays.from_hashes(hashes, [0.0, 0.25, 0.5, 0.75, 1.0, 1.25])
    assert line_tolerance(quarters, every_second) == pytest.approx(1.1)
    # A query sampled every 0.25 s against a film sampled every second, cut at 10.5 s.
    known = _random_hashes(40, 8)
    query = [
        FrameHash(i, 100, _flip(known[10 + int(0.25 * i + 1.0)], 45), i * 0.25) for i in range(40)
    ]
    comparison = compare_videos(query, _frames(known))
    assert (comparison.query_matched, comparison.aligned) == (40, 40)
    assert comparison.offset is not None and abs(comparison.offset - 10.5) <= 0.25


def test_no_other_sample_video_family_is_drawn_onto_a_line() -> None:
    """The reference hash files of the TMK sample videos (every frame): alignment links only
    videos of the same footage (chair with chair, pattern with pattern), and those more."""
    files = {
        p.stem: parse_vpdq(p.read_text())[0]
        for p in sorted(SAMPLE_HASHES.glob("*.txt"))
        if "128x128" not in p.stem
    }
    strict = VideoMatchSettings(aligned_distance=0)
    for query_name, query in files.items():
        for compared_name, compared in files.items():
            if query_name == compared_name:
                continue
            aligned = compare_videos(query, compared)
            plain = compare_videos(query, compared, strict)
            if query_name.split("-")[0] != compared_name.split("-")[0]:
                assert aligned.query_matched == plain.query_matched == 0, (
                    query_name,
                    compared_name,
                )
            else:
                assert aligned.query_matched >= plain.query_matched
    # A copy under a large logo was lost to plain vPDQ and is found on its line.
    logo = compare_videos(files["chair-22-with-large-logo-bar"], files["chair-orig-22-sd-bar"])
    assert logo.verdict(VideoMatchSettings()) == "possible"
    assert logo.offset is not None and abs(logo.offset) < 0.05
    assert (
        compare_videos(
            files["chair-22-with-large-logo-bar"], files["chair-orig-22-sd-bar"], strict
        ).verdict(strict)
        is None
    )


def _between(first: str, second: str, noise: int, rng: np.random.Generator) -> str:
    """A hash halfway from `first` to `second` (half of the bits where they differ taken from
    `second`), with `noise` of the bits where they agree flipped."""
    a, b = int(first, 16), int(second, 16)
    differ = [bit for bit in range(256) if (a ^ b) >> bit & 1]
    agree = [bit for bit in range(256) if not (a ^ b) >> bit & 1]
    value = a
    for bit in rng.choice(differ, len(differ) // 2, replace=False):
        value ^= 1 << int(bit)
    for bit in rng.choice(agree, noise, replace=False):
        value ^= 1 << int(bit)
    return f"{value:064x}"


def test_frames_between_their_bracketing_frames_count_on_the_line() -> None:
    """Fast motion: each query frame, half a second off the grid, is over 63 bits from both
    known neighbours but keeps what they share. Two loose pairs set the line."""
    rng = np.random.default_rng(9)
    known = _random_hashes(40, 9)
    anchors = [_flip(known[11], 50), _flip(known[12], 55)]  # at 0.5 s and 1.5 s of the query
    halfway = [_between(known[12 + i], known[13 + i], 20, rng) for i in range(10)]
    times = [0.5, 1.5] + [2.0 + i for i in range(10)]
    query = [
        FrameHash(i, 100, h, t)
        for i, (h, t) in enumerate(zip(anchors + halfway, times, strict=True))
    ]
    assert all(hamming(h, known[12 + i]) > 63 for i, h in enumerate(halfway))
    comparison = compare_videos(query, _frames(known))
    assert (comparison.query_matched, comparison.aligned) == (12, 12)
    assert comparison.offset == 10.5
    assert comparison.verdict(VideoMatchSettings()) == "clip"
    # An unrelated frame in the same place is not between them; nor is anything off the line.
    query[5] = FrameHash(5, 100, _random_hashes(1, 10)[0], times[5])
    assert compare_videos(query, _frames(known)).query_matched == 11
    no_line = compare_videos(query[2:], _frames(known))
    assert no_line.query_matched == 0


def test_compared_frames_between_sparse_query_frames_count_too() -> None:
    """A query sampled every 2 s (keyframes only) against a film sampled every second: the
    film's odd seconds lie between two query frames and count toward the compared share."""
    rng = np.random.default_rng(11)
    even = _random_hashes(11, 11)
    film = [
        even[t // 2] if t % 2 == 0 else _between(even[t // 2], even[t // 2 + 1], 10, rng)
        for t in range(21)
    ]
    query = [FrameHash(i, 100, _flip(h, 10), 2.0 * i) for i, h in enumerate(even)]
    comparison = compare_videos(query, _frames(film))
    assert (comparison.query_matched, comparison.compared_matched) == (11, 21)
    assert (comparison.aligned, comparison.offset, comparison.compared_share) == (0, 0.0, 1.0)
    plain = compare_videos(query, _frames(film), VideoMatchSettings(aligned_distance=0))
    assert (plain.compared_matched, plain.offset) == (11, None)


def test_long_videos_are_compared_in_blocks_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pairs are computed a block of rows at a time and only those within reach are kept, so
    a long known video (every frame hashed) costs no (Q x C) matrix; blocks change nothing."""
    import cairn.hashing.vpdq as vpdq_module

    known = _random_hashes(300, 12)
    query = [_flip(known[40 + i + i % 2], 40 + i % 20) for i in range(60)]
    query += [_flip(h, 3) for h in known[200:210]]  # and some exact frames further on
    whole = compare_videos(_frames(query), _frames(known))
    monkeypatch.setattr(vpdq_module, "PAIR_BLOCK", 1)  # one query row per block
    assert compare_videos(_frames(query), _frames(known)) == whole
    assert (whole.query_matched, whole.offset) == (70, 40.5)
