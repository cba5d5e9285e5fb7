"""Opening a disk image of either format, and the read errors TSK reports on one."""

from __future__ import annotations

from pathlib import Path

from cairn.evidence.diskimage.ewf import EwfImage, has_ewf_signature
from cairn.evidence.diskimage.raw import RawImage, raw_segments

Image = RawImage | EwfImage


def open_image(path: Path) -> Image:
    """The image behind `path`: an E01 set when it has the EWF signature, else raw."""
    if has_ewf_signature(path):
        return EwfImage(path)
    return RawImage(raw_segments(path))


def tsk_failure(image: Image | None, message: str) -> str:
    """A TSK error message, with the image read error behind it when there was one."""
    if image is None:
        return message
    cause, image.last_error = image.last_error, None
    return f"{message} (reading the image: {cause})" if cause else message
