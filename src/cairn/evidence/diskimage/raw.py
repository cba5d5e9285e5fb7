"""Raw disk images: one dd file, or a split set (`disk.001`, `disk.002`, …) read end to end."""

from __future__ import annotations

import bisect
import errno
import os
import re
from pathlib import Path

import pytsk3

from cairn.evidence.analysis import open_readonly
from cairn.evidence.diskimage.ewf import tsk_read

_SPLIT_RAW = re.compile(r"^(?P<stem>.*\.)(?P<number>[0-9]{3,})$")


class RawImage(pytsk3.Img_Info):  # type: ignore[misc]  # pytsk3 ships no type information
    """One raw image file, or the segments of a split one (`.001`, `.002`, …) end to end.

    Read with pread on descriptors opened read-only without touching access times, which TSK's
    own raw reader does not promise.
    """

    last_error: str | None = None  # see tsk_read

    def __init__(self, segments: list[Path]) -> None:
        self.segments = segments
        self._fds: list[int] = []
        self._starts: list[int] = []
        self.media_size = 0
        try:
            for segment in segments:
                fd = open_readonly(os.fsencode(segment))
                self._fds.append(fd)
                self._starts.append(self.media_size)
                self.media_size += os.fstat(fd).st_size
        except OSError:
            self.close()
            raise
        super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

    def read(self, offset: int, size: int) -> bytes:
        return tsk_read(self, offset, size)

    def pread(self, offset: int, size: int) -> bytes:
        """Bytes at `offset`, short only at the end of the image."""
        parts: list[bytes] = []
        end = min(offset + size, self.media_size)
        index = max(0, bisect.bisect_right(self._starts, offset) - 1)
        while offset < end:
            start = self._starts[index]
            data = os.pread(self._fds[index], end - offset, offset - start)
            if not data:  # the segment shrank since it was opened
                raise OSError(errno.EIO, f"short read at byte {offset} of the image")
            parts.append(data)
            offset += len(data)
            if index + 1 < len(self._starts) and offset >= self._starts[index + 1]:
                index += 1
        return b"".join(parts)

    def get_size(self) -> int:
        return self.media_size

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()


def raw_segments(first: Path) -> list[Path]:
    """`first` and, when it is named like `disk.001`, its numbered successors that exist."""
    match = _SPLIT_RAW.match(first.name)
    if match is None:
        return [first]
    stem, number = match["stem"], match["number"]
    segments = [first]
    for n in range(int(number) + 1, 10 ** len(number)):
        following = first.with_name(f"{stem}{n:0{len(number)}d}")
        if not following.is_file():
            break
        segments.append(following)
    return segments
