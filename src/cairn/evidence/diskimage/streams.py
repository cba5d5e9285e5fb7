"""Readers that hand content inside a disk image to the analysis, in order."""

from __future__ import annotations

import errno

import pytsk3

from cairn.evidence.diskimage.image import Image, tsk_failure


class TskStream:
    """One attribute (data stream) of a file in the image, read in order for analysis."""

    def __init__(
        self, image: Image, file: pytsk3.File, attr_type: int, attr_id: int, size: int
    ) -> None:
        self._image, self._file = image, file
        self._type, self._id, self._size = attr_type, attr_id, size
        self._pos = 0

    def readinto(self, buffer: memoryview) -> int:
        n = min(len(buffer), self._size - self._pos)
        if n <= 0:
            return 0
        try:
            data = self._file.read_random(self._pos, n, self._type, self._id)
        except OSError as exc:
            raise OSError(tsk_failure(self._image, str(exc))) from exc
        if not data:
            message = f"TSK read no data at byte {self._pos} of {self._size}"
            raise OSError(tsk_failure(self._image, message))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


class ImageStream:
    """A byte range of the image (a carved file), read in order for analysis."""

    def __init__(self, image: Image, offset: int, size: int) -> None:
        self._image, self._pos, self._end = image, offset, offset + size

    def readinto(self, buffer: memoryview) -> int:
        n = min(len(buffer), self._end - self._pos)
        if n <= 0:
            return 0
        data = self._image.pread(self._pos, n)
        if not data:
            raise OSError(errno.EIO, f"image ends at byte {self._pos}")
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)
