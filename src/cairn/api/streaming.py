"""Streaming a service that writes text (an export) to an HTTP response, chunk by chunk.

Exports write to a TextIO in one database session. Here that runs in a worker thread whose
writes go, in chunks, through a small bounded queue to the response: memory stays bounded
however large the export, and a client that disconnects stops the writer at its next chunk.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, TextIO

CHUNK_CHARS = 64 * 1024
QUEUED_CHUNKS = 8
_DONE = object()


class _Closed(Exception):
    """The response is gone: stops the writing thread."""


class _QueueWriter(io.TextIOBase):
    def __init__(self, chunks: queue.Queue[object], closed: threading.Event) -> None:
        self._chunks = chunks
        self._closed = closed
        self._buffer: list[str] = []
        self._size = 0

    def write(self, text: str) -> int:
        self._buffer.append(text)
        self._size += len(text)
        if self._size >= CHUNK_CHARS:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if not self._buffer:
            return
        # surrogateescape: name bytes that are not UTF-8 pass through unchanged (docs/formats.md)
        data = "".join(self._buffer).encode("utf-8", "surrogateescape")
        self._buffer, self._size = [], 0
        while True:
            if self._closed.is_set():
                raise _Closed
            try:
                self._chunks.put(data, timeout=0.5)
                return
            except queue.Full:
                continue


def stream_text(write: Callable[[TextIO], object]) -> Iterator[bytes]:
    """The bytes `write(out)` writes, as an iterator for a StreamingResponse."""
    chunks: queue.Queue[object] = queue.Queue(QUEUED_CHUNKS)
    closed = threading.Event()

    def produce() -> None:
        out = _QueueWriter(chunks, closed)
        try:
            write(out)  # type: ignore[arg-type]  # a TextIOBase is what TextIO stands for
            out.flush()
            result: object = _DONE
        except _Closed:
            return
        except BaseException as exc:  # handed to the response, which ends in error
            result = exc
        while not closed.is_set():
            try:
                chunks.put(result, timeout=0.5)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=produce, name="cairn-export", daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item
    finally:
        closed.set()
        thread.join(timeout=5)


class _BytesAsText(io.RawIOBase):
    """A binary stream over `stream_text`'s writer. Bytes pass as surrogate-escaped text, which
    the writer encodes back to exactly the same bytes (every byte sequence round-trips through
    surrogateescape, a multi-byte character cut between two writes included)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._out.write(chunk.decode("utf-8", "surrogateescape"))
        return len(chunk)


def stream_bytes(write: Callable[[BinaryIO], object]) -> Iterator[bytes]:
    """The bytes `write(out)` writes to a binary stream (a zip, say), as `stream_text` does."""
    return stream_text(lambda out: write(_BytesAsText(out)))  # type: ignore[arg-type]
