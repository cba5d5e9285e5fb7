"""An image's residual as it is stored: compact bytes, or the reason there are none."""

from __future__ import annotations

from cairn.camera.compact import pack
from cairn.camera.residual import Untestable, image_residual, read_plane
from cairn.core.records import PrnuResidual


def residual_of(data: bytes) -> PrnuResidual:
    """Never raises: an image unfit for a residual, or undecodable, gives the reason."""
    try:
        return PrnuResidual(pack(image_residual(read_plane(data))))
    except Untestable as exc:
        return PrnuResidual(None, str(exc))
    except Exception as exc:  # truncated or hostile data fails deep inside the codecs
        return PrnuResidual(None, f"not decodable: {type(exc).__name__}: {exc}")
