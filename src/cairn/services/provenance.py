"""The versions of everything that can change a result, for each processing record."""

from __future__ import annotations

import functools
from importlib import metadata
from typing import Any

import cairn

_PACKAGES = (
    "pdqhash",
    "pillow",
    "pillow-heif",
    "libarchive-c",
    "sqlalchemy",
    "av",
    "vpdq",
    "faiss-cpu",
    "pytsk3",
    "libewf-python",
    "numpy",
    "opencv-python-headless",
)


@functools.cache
def library_versions() -> dict[str, Any]:
    versions: dict[str, Any] = {"cairn": cairn.__version__}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        from PIL import features

        versions["libjpeg"] = features.version("jpg")
        versions["zlib"] = features.version("zlib")
    except Exception:  # a Pillow without feature reporting: the package version still stands
        pass
    return versions
