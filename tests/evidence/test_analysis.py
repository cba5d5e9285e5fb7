"""One entry's analysis: an animated GIF or WebP is an image (its first frame's PDQ) and a video
(vPDQ frames); a single frame is an image only; a damaged animation keeps its digests.
Animations are made here with Pillow from benign synthetic frames."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from cairn.core.records import ErrorRecord
from cairn.core.settings import AnalysisSettings
from cairn.evidence.analysis import Analysis, analyse_file, analyse_stream
from cairn.hashing.pdq import pdq_from_image
from cairn.media.video import SyntheticVideo, synthetic_frames

FILM = SyntheticVideo(seconds=3, fps=10, width=160, height=120, seed=41)


def _animation(fmt: str, frames: int) -> bytes:
    pictures = [Image.fromarray(p) for p in synthetic_frames(FILM)][:frames]
    out = io.BytesIO()
    pictures[0].save(out, fmt, save_all=True, append_images=pictures[1:], duration=100, loop=0)
    return out.getvalue()


def _first_frame_pdq(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as img:
        return pdq_from_image(img).hex


def _analyse(data: bytes, name: bytes) -> Analysis:
    return analyse_stream(io.BytesIO(data), name, 0, AnalysisSettings(), size=len(data))


@pytest.mark.parametrize(("fmt", "mime"), [("GIF", "image/gif"), ("WEBP", "image/webp")])
def test_an_animation_is_an_image_and_a_video(fmt: str, mime: str, tmp_path: Path) -> None:
    data = _animation(fmt, 30)
    path = tmp_path / f"a.{fmt.lower()}"
    path.write_bytes(data)
    for result in (
        _analyse(data, path.name.encode()),
        analyse_file(bytes(path), path.name.encode(), 0, AnalysisSettings(), len(data)),
    ):
        assert result.errors == []
        content = result.content
        assert content is not None and content.mime == mime
        assert content.digests.sha256 == hashlib.sha256(data).hexdigest()
        # The image path is unchanged: the first frame's PDQ, as a still of it has.
        assert content.image is not None and content.image.pdq == _first_frame_pdq(data)
        assert content.video is not None
        assert (content.video.duration, content.video.container) == (3.0, fmt.lower())
        assert [f.frame_number for f in content.video.frames] == [0, 10, 20]


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_a_single_frame_is_an_image_only(fmt: str) -> None:
    data = _animation(fmt, 1)
    result = _analyse(data, b"still")
    assert result.errors == []
    assert result.content is not None and result.content.video is None
    assert result.content.image is not None and result.content.image.pdq == _first_frame_pdq(data)


def test_a_truncated_animation_keeps_its_digests_and_frames_before_the_cut() -> None:
    data = _animation("GIF", 30)
    with Image.open(io.BytesIO(data)) as img:
        img.seek(20)
        cut = data[: img.tile[0].offset + 50]  # inside frame 21
    result = _analyse(cut, b"cut.gif")
    content = result.content
    assert content is not None and content.digests.sha256 == hashlib.sha256(cut).hexdigest()
    assert content.image is not None and content.image.pdq == _first_frame_pdq(data)
    assert content.video is not None
    assert [f.frame_number for f in content.video.frames] == [0, 10]
    assert result.errors[0] == ErrorRecord(
        "decode", "truncated animation: the data ends inside frame 21"
    )
    assert result.errors[1].message.startswith("frame 21 of 21 could not be decoded: OSError")
    assert len(result.errors) == 2
