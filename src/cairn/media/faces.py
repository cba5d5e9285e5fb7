"""Face detection for crops that are to be published (Trace an Object): an optional detector,
so that a published crop says whether one ran and a face it finds blocks the export.

dlib's HOG frontal-face detector is built into dlib itself (no weights to fetch); it is in
the `faces` extra (`pip install 'cairn[faces]'`). Without it, `detector()` is None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PIL.Image import Image


class FaceDetector(Protocol):
    name: str

    def count(self, image: Image) -> int:
        """How many faces the detector finds in the image."""
        ...


@dataclass
class DlibFaces:
    name: str
    _detect: Any

    def count(self, image: Image) -> int:
        import numpy as np

        # Upsample once: a crop is small, and faces in it may be smaller than HOG's 80 px.
        return len(self._detect(np.asarray(image.convert("RGB")), 1))


def detector() -> FaceDetector | None:
    """The installed face detector, or None when no detector package is installed."""
    try:
        import dlib
    except ImportError:
        return None
    return DlibFaces(
        f"dlib {dlib.__version__} HOG frontal face detector", dlib.get_frontal_face_detector()
    )
