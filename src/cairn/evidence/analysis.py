"""Turn the bytes of one entry into what Cairn records about it.

Every source (folder, archive member, disk-image file, carved run) goes through `analyse_stream`:
one read pass feeds the three digests and, for images and containers small enough, an in-memory
copy that is then decoded or opened. Nothing is ever written to disk. Failures become
`ErrorRecord`s beside the digests; only a failed read loses the digests, because partial
digests would be wrong.
"""

from __future__ import annotations

import errno
import io
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from cairn.core.records import ContentRecord, EntryRecord, ErrorRecord, ImageInfo, VideoInfo
from cairn.core.settings import AnalysisSettings
from cairn.core.types import Flag
from cairn.evidence.beneath import open_beneath, open_nofollow
from cairn.hashing.digests import CHUNK_SIZE, TripleHasher
from cairn.media.sniff import ContentType, extension_mismatch, sniff

log = logging.getLogger(__name__)

# One read buffer per worker process: analysis of an entry finishes reading before any nested
# member is analysed, so the buffer is never in use twice.
_BUFFER = bytearray(CHUNK_SIZE)


class Readable(Protocol):
    def readinto(self, buffer: memoryview) -> int | None: ...


@dataclass
class Analysis:
    """The outcome for one entry; `members` holds the records of anything nested in it."""

    content: ContentRecord | None = None
    errors: list[ErrorRecord] = field(default_factory=list)
    flags: set[Flag] = field(default_factory=set)
    members: list[EntryRecord] = field(default_factory=list)


class BlockStream(io.RawIOBase):
    """A readable stream over an iterable of byte blocks (an archive member's data)."""

    def __init__(self, blocks: Iterable[bytes]) -> None:
        self._blocks = iter(blocks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._pending = memoryview(block)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def error_text(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{errno.errorcode.get(exc.errno, exc.errno)}: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def analyse_stream(
    stream: Readable,
    path: bytes,
    depth: int,
    settings: AnalysisSettings,
    *,
    size: int | None = None,
    reopen: Callable[[], int] | None = None,
) -> Analysis:
    """Hash, type and analyse one entry's bytes.

    `reopen`, when given, returns a fresh read-only file descriptor on the same bytes; it lets
    a container too large to buffer be opened a second time instead of held in memory.
    """
    result = Analysis()
    hasher = TripleHasher()
    view = memoryview(_BUFFER)
    kept: bytearray | None = None
    content_type: ContentType | None = None
    first = True
    try:
        while True:
            n = stream.readinto(view)
            if not n:
                break
            chunk = view[:n]
            hasher.update(chunk)
            if first:
                first = False
                content_type = sniff(bytes(chunk[:8192]))
                # A video on disk is not buffered: it is decoded again through `reopen`.
                wanted = content_type is not None and (
                    content_type.is_image
                    or content_type.is_archive
                    or (content_type.is_video and reopen is None)
                )
                if wanted and (size is None or size <= settings.max_buffer_bytes):
                    kept = bytearray()
            if kept is not None:
                kept += chunk
                if len(kept) > settings.max_buffer_bytes:
                    kept = None
                    if reopen is None:
                        result.errors.append(
                            ErrorRecord("limit", "too large to analyse in memory; hashed only")
                        )
    except (OSError, EOFError) as exc:
        result.errors.append(ErrorRecord("read", error_text(exc)))
        return result
    except Exception as exc:  # a hostile container can make a reader fail in any way
        result.errors.append(ErrorRecord("read", error_text(exc)))
        return result

    digests = hasher.digests()
    image: ImageInfo | None = None
    video: VideoInfo | None = None
    if content_type is not None and extension_mismatch(path, content_type):
        result.flags.add(Flag.EXTENSION_MISMATCH)
    if content_type is not None and content_type.is_image:
        if kept is not None:
            from cairn.media.image import analyse_image

            data = bytes(kept)
            image, image_errors = analyse_image(data, content_type, settings)
            result.errors.extend(image_errors)
            if (
                settings.prnu and image is not None and image.pdq is not None
            ):  # decoded within limits
                from cairn.camera.storage import residual_of

                image = replace(image, prnu=residual_of(data))
            if content_type.may_be_animated:  # an animation is a video too (first frame: PDQ)
                from cairn.media.animation import analyse_animation

                video, video_errors = analyse_animation(data, content_type, settings)
                result.errors.extend(video_errors)
        elif size is not None and size > settings.max_buffer_bytes:
            result.errors.append(ErrorRecord("limit", "image too large to decode in memory"))
    elif content_type is not None and content_type.is_video:
        source: bytes | Callable[[], int] | None = bytes(kept) if kept is not None else reopen
        if source is not None:
            from cairn.media.video import analyse_video

            video, video_errors = analyse_video(source, settings)
            result.errors.extend(video_errors)
        elif size is not None and size > settings.max_buffer_bytes:
            result.errors.append(ErrorRecord("limit", "video too large to decode in memory"))
    elif content_type is not None and content_type.is_archive:
        if depth >= settings.max_archive_depth:
            result.errors.append(
                ErrorRecord("limit", f"container nested deeper than {settings.max_archive_depth}")
            )
        elif kept is not None or reopen is not None:
            from cairn.evidence.archive import expand_archive

            expanded = expand_archive(
                bytes(kept) if kept is not None else None,
                reopen,
                path,
                depth + 1,
                settings,
                analyse=analyse_stream,
                archive_size=digests.size,
            )
            result.members.extend(expanded.members)
            result.errors.extend(expanded.errors)
            result.flags.update(expanded.flags)
        elif size is None or size > settings.max_buffer_bytes:
            result.errors.append(ErrorRecord("limit", "container too large to open in memory"))
    key = settings.thumbnail_key
    if key is not None:  # bound to this content now that its SHA-256 is known (media.thumbnail)
        from cairn.media.thumbnail import bind

        if image is not None and image.thumbnail is not None:
            image = replace(image, thumbnail=bind(image.thumbnail, key, digests.sha256))
        if video is not None and video.contact_sheet is not None:
            video = replace(video, contact_sheet=bind(video.contact_sheet, key, digests.sha256))
    result.content = ContentRecord(
        digests=digests,
        mime=content_type.mime if content_type else None,
        image=image,
        video=video,
    )
    return result


_noatime_supported = True


def open_readonly(path: bytes, dir_fd: int | None = None) -> int:
    """Open a file (or folder) for reading without touching its access time where the system
    allows, and without following a symlink in any component of `path`: beneath `dir_fd`,
    or from `/` (a source's path was resolved once, when it was named; `evidence.beneath`).

    O_NOATIME needs ownership or CAP_FOWNER; without it Linux refuses with EPERM, and we fall
    back to a plain read-only open (logged once) rather than skip the evidence.
    """
    global _noatime_supported

    def opened(flags: int) -> int:
        if dir_fd is not None:
            return open_beneath(dir_fd, path, flags)
        return open_nofollow(os.path.abspath(path), flags)

    if _noatime_supported:
        try:
            return opened(os.O_RDONLY | os.O_NOATIME)
        except PermissionError as exc:
            if exc.errno != errno.EPERM:
                raise
            _noatime_supported = False
            log.warning("O_NOATIME refused (%s); reading without it: access times may change", exc)
    return opened(os.O_RDONLY)


def analyse_file(
    absolute: bytes, path: bytes, depth: int, settings: AnalysisSettings, size: int | None
) -> Analysis:
    """Analyse a file on a mounted file system, opened read-only."""
    try:
        fd = open_readonly(absolute)
    except OSError as exc:
        return Analysis(errors=[ErrorRecord("read", error_text(exc))])
    with open(fd, "rb", buffering=0) as stream:
        return analyse_stream(
            stream, path, depth, settings, size=size, reopen=lambda: open_readonly(absolute)
        )


def finish_entry(entry: EntryRecord, analysis: Analysis) -> tuple[EntryRecord, ...]:
    """The entry with what analysis found, followed by the records of its nested members."""
    done = replace(
        entry,
        content=analysis.content,
        flags=entry.flags | frozenset(analysis.flags),
        errors=entry.errors + tuple(analysis.errors),
    )
    return (done, *analysis.members)
