"""Expand a container into its members without extracting anything.

libarchive (through libarchive-c) reads zip, tar (plain, gzip, bzip2, xz), 7z and RAR; a lone
gzip, bzip2 or xz stream is a container of one member. Each member's bytes stream straight into
`analyse`, the function that analyses every file, so nested containers recurse through it and
nothing is ever written to disk.

Three things matter more here than in an ordinary extractor:

* Names are evidence. A member keeps the name bytes of its header, never decoded, cleaned or
  joined: `a.zip!../../x.jpg` stays so and is flagged. libarchive rewrites some zip names
  (backslashes to slashes, UTF-8 names to NFC, undecodable ones to nothing), so zip names are
  read back from the local headers themselves.
* Hostile input. Caps shared by a top-level archive and everything nested in it stop zip
  bombs; reading stops where a cap trips and what was recorded until then is kept.
* Partial results. A damaged archive keeps the members read before the damage, and the damage
  is an error record, never an exception.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import locale
import os
import re
import struct
import unicodedata
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn, Protocol

from libarchive import ffi
from libarchive.exception import ArchiveError

from cairn.core.records import EntryRecord, ErrorRecord, FileTimes
from cairn.core.settings import AnalysisSettings
from cairn.core.types import EntryKind, Flag

# analysis.py imports this module only inside analyse_stream, so this import makes no cycle.
from cairn.evidence.analysis import Analysis, BlockStream, Readable, error_text, finish_entry
from cairn.hashing.digests import CHUNK_SIZE
from cairn.media.sniff import BZIP2, GZIP, SNIFF_BYTES, XZ, sniff

# libarchive reads an evidence file in blocks of this size and we hand members to the hasher in
# slices of it: large enough for hashlib to release the GIL, small enough to keep memory flat.
BLOCK_SIZE = CHUNK_SIZE
# The expansion ratio is only judged past this many expanded bytes: small archives of text or
# zeros legitimately compress a thousandfold, and such a small expansion costs nothing.
RATIO_FLOOR = 64 << 20

# Only the formats Cairn means to open, and only in-process decompressors: libarchive's "all"
# would also register mtree (whose entries name files on *this* machine to read) and filters
# that run external programs (lrzip, lzop, grzip) on hostile input.
_FORMATS = ("zip", "tar", "7zip", "rar", "rar5")
_FILTERS = ("gzip", "bzip2", "xz", "lzma")
# A bare compressed stream is a one-member container (libarchive's "raw" format); its member is
# named after the container without this suffix when the stream does not name it.
_RAW_SUFFIXES = {
    b".gz": b"",
    b".tgz": b".tar",
    b".bz2": b"",
    b".tbz": b".tar",
    b".tbz2": b".tar",
    b".xz": b"",
    b".txz": b".tar",
}
_RAW_PLACEHOLDER = b"data"  # libarchive's name for a raw stream that carries none
# Largest zip central directory read to recover names: a million members with long names.
_MAX_ZIP_DIRECTORY = 256 << 20
_EOCD_SEARCH = 0xFFFF + 22  # a zip's end record: 22 bytes plus a comment of up to 64 KiB

# From archive.h / archive_entry.h (libarchive 3.x, stable ABI).
_ARCHIVE_EOF = 1
_ARCHIVE_OK = 0
_ARCHIVE_WARN = -20
_ARCHIVE_FATAL = -30
_FORMAT_MASK = 0xFF0000
_FORMAT_ZIP = 0x50000
_FORMAT_RAW = 0x90000
_FORMAT_RAR = 0xD0000
_FORMAT_RAR5 = 0x100000
# libarchive reports 0 as a *set* atime/ctime for zip and RAR members whose headers carry none.
_ZERO_TIME_UNSET = frozenset({_FORMAT_ZIP, _FORMAT_RAR, _FORMAT_RAR5})
_AE_IFMT = 0o170000
_NON_REGULAR = {
    0o040000: EntryKind.DIRECTORY,
    0o120000: EntryKind.SYMLINK,
    0o010000: EntryKind.FIFO,
    0o020000: EntryKind.DEVICE,
    0o060000: EntryKind.DEVICE,
    0o140000: EntryKind.SOCKET,
}

# libarchive fails some damaged archives (a truncated 7z, a zeroed zip header) without a message.
_NO_REASON = "damaged or truncated archive (libarchive gave no reason)"
_ENCRYPTION = re.compile(r"encrypt|passphrase|password", re.IGNORECASE)
_DRIVE = re.compile(rb"[A-Za-z]:")
_ZEROS = bytes(BLOCK_SIZE)


def _bind(name: str, argtypes: list[type], restype: type) -> Callable[..., int]:
    """A libarchive function without libarchive-c's error check.

    libarchive-c logs every ARCHIVE_WARN and raises on errors; for reading headers and data we
    need the status itself, and warnings belong in the member's record, not in the log. The
    private handle keeps these prototypes apart from libarchive-c's own.
    """
    function: Callable[..., int] = getattr(_LIB, "archive_" + name)
    function.argtypes = argtypes  # type: ignore[attr-defined]
    function.restype = restype  # type: ignore[attr-defined]
    return function


_LIB = ctypes.CDLL(ffi.libarchive_path)
_P = ctypes.c_void_p
_next_header = _bind("read_next_header2", [_P, _P], ctypes.c_int)
_read_block = _bind(
    "read_data_block",
    [_P, ctypes.POINTER(_P), ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_longlong)],
    ctypes.c_int,
)
_is_encrypted = _bind("entry_is_encrypted", [_P], ctypes.c_int)
_format_code = _bind("format", [_P], ctypes.c_int)


class AnalyseStream(Protocol):
    """The signature of `analysis.analyse_stream`, passed in so members are analysed like files."""

    def __call__(
        self,
        stream: Readable,
        path: bytes,
        depth: int,
        settings: AnalysisSettings,
        *,
        size: int | None = None,
        reopen: Callable[[], int] | None = None,
    ) -> Analysis: ...


class _Budget:
    """Zip-bomb caps shared by one top-level archive and everything nested in it.

    A nested archive's expansion counts against its top-level archive's total, so a zip of zips
    (42.zip) cannot multiply its way past the caps one level at a time.
    """

    def __init__(self, settings: AnalysisSettings, archive_size: int) -> None:
        self.settings = settings
        self.archive_size = archive_size
        self.headers = 0
        self.expanded = 0
        self.exhausted: str | None = None  # why expansion stopped, once a cap has tripped

    def admit_header(self) -> bool:
        """Count one member header (directories and unreadable ones too: each costs work)."""
        self.headers += 1
        cap = self.settings.max_archive_members
        if self.headers > cap:
            self._exhaust(f"zip bomb: more than {cap} members (max_archive_members)")
        return self.exhausted is None

    def charge(self, n: int) -> bool:
        """Count `n` expanded bytes; False once a cap has tripped."""
        self.expanded += n
        settings = self.settings
        if self.expanded > settings.max_expanded_bytes:
            self._exhaust(
                f"zip bomb: more than {settings.max_expanded_bytes} bytes expanded "
                "(max_expanded_bytes)"
            )
        elif (
            self.expanded > RATIO_FLOOR
            and self.expanded > settings.max_expansion_ratio * self.archive_size
        ):
            self._exhaust(
                f"zip bomb: expanded more than {settings.max_expansion_ratio} times the "
                f"archive's {self.archive_size} bytes (max_expansion_ratio)"
            )
        return self.exhausted is None

    def _exhaust(self, reason: str) -> None:
        if self.exhausted is None:
            self.exhausted = reason


_BUDGET: ContextVar[_Budget | None] = ContextVar("cairn_archive_budget", default=None)


def expand_archive(
    data: bytes | None,
    reopen: Callable[[], int] | None,
    path: bytes,
    depth: int,
    settings: AnalysisSettings,
    *,
    analyse: AnalyseStream,
    archive_size: int,
) -> Analysis:
    """Record every member of the container at `path`; `depth` is the members' depth.

    `data` is the whole container when it fitted in memory; otherwise `reopen` opens it again
    as a read-only file descriptor. The caps are shared through a context variable because the
    nested calls come back through `analyse`, which knows nothing about them.
    """
    if data is None and reopen is None:
        raise ValueError("expand_archive needs the archive's bytes or a way to reopen it")
    budget = _BUDGET.get()
    if budget is not None:
        return _Expansion(path, depth, settings, analyse, budget).run(data, reopen)
    budget = _Budget(settings, archive_size)
    token = _BUDGET.set(budget)
    try:
        return _Expansion(path, depth, settings, analyse, budget).run(data, reopen)
    finally:
        _BUDGET.reset(token)


@dataclass(frozen=True)
class _Source:
    """Random access to the container's own bytes, for sniffing and for zip names."""

    data: bytes | None
    fd: int | None
    size: int

    def read_at(self, offset: int, length: int) -> bytes:
        if offset < 0 or length <= 0:
            return b""
        if self.data is not None:
            return self.data[offset : offset + length]
        assert self.fd is not None
        return os.pread(self.fd, length, offset)


_LC_CTYPE_MASK = 1 << 0  # glibc: LC_CTYPE is category 0


@functools.cache
def _uselocale_utf8() -> tuple[Callable[[int | None], int | None], int] | None:
    """uselocale(3) and a C.UTF-8 locale object, or None where the C library has neither."""
    libc = ctypes.CDLL(None)
    libc.newlocale.argtypes = [ctypes.c_int, ctypes.c_char_p, _P]
    libc.newlocale.restype = _P
    libc.uselocale.argtypes = [_P]
    libc.uselocale.restype = _P
    handle: int | None = libc.newlocale(_LC_CTYPE_MASK, b"C.UTF-8", None)
    return None if handle is None else (libc.uselocale, handle)


@contextlib.contextmanager
def _utf8_ctype() -> Iterator[None]:
    """Let libarchive convert Unicode names to UTF-8 in this thread, whatever the locale.

    libarchive converts the Unicode names of 7z, RAR 5, pax and flagged zip headers to the
    charset of the current locale; under plain C (LC_ALL=C stops Python's coercion to C.UTF-8)
    that fails and the names are lost. uselocale(3) changes this thread only, and only while
    the archive is read.
    """
    api = None if locale.nl_langinfo(locale.CODESET) == "UTF-8" else _uselocale_utf8()
    if api is None:
        yield
        return
    uselocale, handle = api
    previous = uselocale(handle)
    try:
        yield
    finally:
        uselocale(previous)


@contextlib.contextmanager
def _opened(source: _Source, raw: bool) -> Iterator[int]:
    archive_p = ffi.read_new()
    try:
        for name in _FILTERS:
            ffi.get_read_filter_function(name)(archive_p)
        for name in (*_FORMATS, "raw") if raw else _FORMATS:
            ffi.get_read_format_function(name)(archive_p)
        if source.data is not None:
            ffi.read_open_memory(archive_p, source.data, len(source.data))
        else:
            ffi.read_open_fd(archive_p, source.fd, BLOCK_SIZE)
        yield archive_p
    finally:
        # Closing an archive that failed reports the failure again; it is already recorded.
        with contextlib.suppress(ArchiveError):
            ffi.read_free(archive_p)


class _Stop(Exception):
    """Ends a member's block stream; the reason is on the `_MemberData` that raised it."""


class _MemberData:
    """The current member's bytes as blocks, counted against the caps as they are read."""

    def __init__(self, archive_p: int, budget: _Budget, limit: int) -> None:
        self._archive_p = archive_p
        self._budget = budget
        self._limit = limit
        self.read = 0
        self.cut: ErrorRecord | None = None  # why reading stopped early, if it did
        self.fatal = False  # the archive cannot be read past this member
        self.warnings: list[ErrorRecord] = []

    def blocks(self) -> Iterator[bytes]:
        pointer, size, offset = _P(), ctypes.c_size_t(), ctypes.c_longlong()
        while True:
            status = _read_block(
                self._archive_p, ctypes.byref(pointer), ctypes.byref(size), ctypes.byref(offset)
            )
            if status == _ARCHIVE_EOF:
                return
            if status not in (_ARCHIVE_OK, _ARCHIVE_WARN):
                message = _message(self._archive_p)
                self.fatal = status <= _ARCHIVE_FATAL
                self._stop(ErrorRecord(_stage(message, "read"), message))
            if status == _ARCHIVE_WARN:  # e.g. a bad CRC: the bytes are real, the header disagrees
                self.warnings.append(ErrorRecord("archive", _message(self._archive_p)))
            # A sparse member skips its holes; they read as zeros, as archive_read_data does.
            hole = offset.value - self.read
            while hole > 0:
                step = min(hole, BLOCK_SIZE)
                yield self._counted(_ZEROS[:step])
                hole -= step
            for start in range(0, size.value, BLOCK_SIZE):
                step = min(BLOCK_SIZE, size.value - start)
                yield self._counted(ctypes.string_at((pointer.value or 0) + start, step))

    def _counted(self, block: bytes) -> bytes:
        self.read += len(block)
        if self.read > self._limit:
            self._stop(
                ErrorRecord(
                    "limit",
                    f"zip bomb: member larger than {self._limit} bytes (max_member_bytes); "
                    "not hashed",
                )
            )
        if not self._budget.charge(len(block)):
            self._stop(ErrorRecord("limit", f"{self._budget.exhausted}; member not hashed"))
        return block

    def _stop(self, record: ErrorRecord) -> NoReturn:
        self.cut = record
        raise _Stop(record.message)


class _Expansion:
    """One container being expanded: its members in header order, then its own errors."""

    def __init__(
        self,
        path: bytes,
        depth: int,
        settings: AnalysisSettings,
        analyse: AnalyseStream,
        budget: _Budget,
    ) -> None:
        self.path = path
        self.depth = depth
        self.settings = settings
        self.analyse = analyse
        self.budget = budget
        self.result = Analysis()
        self._zip_names: _ZipNames | None = None

    def run(self, data: bytes | None, reopen: Callable[[], int] | None) -> Analysis:
        fd: int | None = None
        try:
            if data is None:
                assert reopen is not None
                fd = reopen()
                source = _Source(None, fd, os.fstat(fd).st_size)
            else:
                source = _Source(data, None, len(data))
            raw = sniff(source.read_at(0, SNIFF_BYTES)) in (GZIP, BZIP2, XZ)
            with _utf8_ctype(), _opened(source, raw) as archive_p:
                self._walk(archive_p, source)
        except ArchiveError as exc:  # libarchive could not open it at all
            self._archive_error(_text(exc.msg) or _NO_REASON)
        except OSError as exc:
            self.result.errors.append(ErrorRecord("read", error_text(exc)))
        finally:
            if fd is not None:
                os.close(fd)
        return self.result

    def _walk(self, archive_p: int, source: _Source) -> None:
        entry_p = ffi.entry_new()
        try:
            index = -1  # header attempts so far: zip names are looked up by position
            while True:
                if self.budget.exhausted is not None:
                    self.result.errors.append(
                        ErrorRecord("limit", f"{self.budget.exhausted}; expansion stopped")
                    )
                    return
                status = _next_header(archive_p, entry_p)
                if status == _ARCHIVE_EOF:
                    return
                index += 1
                if status not in (_ARCHIVE_OK, _ARCHIVE_WARN):
                    self._archive_error(_message(archive_p))
                    if status <= _ARCHIVE_FATAL:
                        return
                    self.budget.admit_header()  # a run of damaged headers stays bounded
                    continue
                warning = _message(archive_p) if status == _ARCHIVE_WARN else None
                if not self.budget.admit_header():
                    continue
                if not self._member(archive_p, entry_p, source, index, warning):
                    return
        finally:
            ffi.entry_free(entry_p)

    def _member(
        self, archive_p: int, entry_p: int, source: _Source, index: int, warning: str | None
    ) -> bool:
        """Record one member; False when the archive cannot be read any further."""
        kind = _kind(entry_p)
        if kind is EntryKind.DIRECTORY:  # folders are not occurrences
            return True
        fmt = _format_code(archive_p) & _FORMAT_MASK
        name, name_error = self._name(archive_p, entry_p, fmt, source, index)
        member_path = self.path + b"!" + name
        flags = {Flag.UNSAFE_PATH} if _unsafe(name) else set()
        errors = [ErrorRecord("archive", warning)] if warning else []
        if name_error:
            errors.append(name_error)
        declared = ffi.entry_size(entry_p) if ffi.entry_size_is_set(entry_p) else None
        record = EntryRecord(
            path=member_path,
            kind=kind,
            depth=self.depth,
            container=self.path,
            times=_times(entry_p, zero_is_unset=fmt in _ZERO_TIME_UNSET),
        )
        if kind is not EntryKind.MEMBER:
            self._add(record, flags, errors)
            return True
        if _is_encrypted(entry_p) > 0:
            self.result.flags.add(Flag.ENCRYPTED)
            flags.add(Flag.ENCRYPTED)
            errors.append(ErrorRecord("encrypted", "member is encrypted; contents not read"))
            self._add(record, flags, errors, size=declared)
            return True

        data = _MemberData(archive_p, self.budget, self.settings.max_member_bytes)
        analysis = self.analyse(
            BlockStream(data.blocks()), member_path, self.depth, self.settings, size=declared
        )
        errors += data.warnings
        if data.cut is not None:
            # analyse recorded our own stop as a failed read; report why reading stopped instead.
            analysis.errors = [e for e in analysis.errors if e.stage != "read"]
            errors.append(data.cut)
            if data.cut.stage == "encrypted":
                flags.add(Flag.ENCRYPTED)
                self.result.flags.add(Flag.ENCRYPTED)
            if data.cut.stage == "limit" and declared is not None and self.budget.exhausted is None:
                # libarchive skips the rest, which for a compressed stream means decompressing
                # it: count that work as the header declares it.
                self.budget.charge(max(declared - data.read, 0))
        size = analysis.content.digests.size if analysis.content is not None else declared
        self._add(record, flags, errors, size=size, analysis=analysis)
        if data.fatal:
            assert data.cut is not None
            self._archive_error(data.cut.message)
            return False
        return True

    def _add(
        self,
        record: EntryRecord,
        flags: set[Flag],
        errors: list[ErrorRecord],
        *,
        size: int | None = None,
        analysis: Analysis | None = None,
    ) -> None:
        record = EntryRecord(
            path=record.path,
            kind=record.kind,
            depth=record.depth,
            container=record.container,
            size=size,
            times=record.times,
            flags=frozenset(flags),
            errors=tuple(errors),
        )
        self.result.members.extend(finish_entry(record, analysis or Analysis()))

    def _name(
        self, archive_p: int, entry_p: int, fmt: int, source: _Source, index: int
    ) -> tuple[bytes, ErrorRecord | None]:
        """The member's name as its header stores it.

        Names a format declares as Unicode (7z, RAR 5, pax, zip with the UTF-8 flag) pass
        through libarchive's conversion, which normalises them to NFC; zip names are then read
        back from the local header, the others cannot be.
        """
        shown: bytes | None = ffi.entry_pathname(entry_p)
        if fmt == _FORMAT_ZIP and ffi.filter_count(archive_p) == 1:  # not inside a gzip stream
            if self._zip_names is None:
                self._zip_names = _ZipNames(source)
            stored = self._zip_names.name(index)
            if stored is not None and (shown is None or _loose(stored) == _loose(shown)):
                return stored, None
        if fmt == _FORMAT_RAW and shown in (None, _RAW_PLACEHOLDER):
            return _raw_member_name(self.path), None
        if shown is None:
            return b"", ErrorRecord("archive", "member name unreadable")
        return shown, None

    def _archive_error(self, message: str) -> None:
        stage = _stage(message, "archive")
        if stage == "encrypted":
            self.result.flags.add(Flag.ENCRYPTED)
        self.result.errors.append(ErrorRecord(stage, message))


class _ZipNames:
    """A zip's member names exactly as its local headers store them, in libarchive's order.

    libarchive visits a zip's entries in order of local-header offset (reading the central
    directory when it can seek, the local headers one after another when it cannot), so the
    n-th header it returns is the n-th distinct offset. A name is only taken when it agrees with
    libarchive's own up to the rewrites libarchive makes, so a disagreement (an Info-ZIP Unicode
    path field, a damaged directory) falls back to libarchive's name.
    """

    def __init__(self, source: _Source) -> None:
        self._source = source
        self._offsets = _zip_local_offsets(source)

    def name(self, index: int) -> bytes | None:
        if index >= len(self._offsets):
            return None
        offset = self._offsets[index]
        header = self._source.read_at(offset, 30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            return None
        (length,) = struct.unpack_from("<H", header, 26)
        name = self._source.read_at(offset + 30, length)
        return name if len(name) == length else None


def _zip_local_offsets(source: _Source) -> list[int]:
    """Distinct local-header offsets from the central directory, ascending; [] if unreadable."""
    tail_start = max(0, source.size - _EOCD_SEARCH)
    tail = source.read_at(tail_start, source.size - tail_start)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return []
    count, cd_size, cd_offset = struct.unpack_from("<HII", tail, at + 10)
    cd_end = tail_start + at
    if count == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        locator = source.read_at(cd_end - 20, 20)
        if len(locator) < 20 or locator[:4] != b"PK\x06\x07":
            return []
        (cd_end,) = struct.unpack_from("<Q", locator, 8)
        record = source.read_at(cd_end, 56)
        if len(record) < 56 or record[:4] != b"PK\x06\x06":
            return []
        cd_size, cd_offset = struct.unpack_from("<QQ", record, 40)
    if cd_size > _MAX_ZIP_DIRECTORY:
        return []
    # Bytes in front of the zip (a self-extractor) shift every offset; libarchive corrects too.
    correction = cd_end - cd_size - cd_offset
    directory = source.read_at(cd_offset + correction, cd_size)
    offsets: set[int] = set()
    pos = 0
    while pos + 46 <= len(directory) and directory[pos : pos + 4] == b"PK\x01\x02":
        csize, usize, name_len, extra_len, comment_len = struct.unpack_from(
            "<IIHHH", directory, pos + 20
        )
        (offset,) = struct.unpack_from("<I", directory, pos + 42)
        if offset == 0xFFFFFFFF:
            extra = directory[pos + 46 + name_len : pos + 46 + name_len + extra_len]
            offset = _zip64_offset(extra, usize == 0xFFFFFFFF, csize == 0xFFFFFFFF)
        if offset is not None:
            offsets.add(offset + correction)
        pos += 46 + name_len + extra_len + comment_len
    return sorted(offsets)


def _zip64_offset(extra: bytes, has_usize: bool, has_csize: bool) -> int | None:
    """The local-header offset from a zip64 extra field (its fields are present only if needed)."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 0x0001:
            at = pos + 4 + 8 * has_usize + 8 * has_csize
            if at + 8 <= pos + 4 + length <= len(extra):
                return int(struct.unpack_from("<Q", extra, at)[0])
            return None
        pos += 4 + length
    return None


def _loose(name: bytes) -> str:
    """A name up to the rewrites libarchive applies to zip names, for comparing the two."""
    text = unicodedata.normalize("NFC", name.decode("utf-8", "replace"))
    return text.replace("\\", "/").rstrip("/")


def _raw_member_name(container: bytes) -> bytes:
    base = container.rsplit(b"/", 1)[-1].rsplit(b"!", 1)[-1]
    lower = base.lower()
    for suffix, replacement in _RAW_SUFFIXES.items():
        if lower.endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)] + replacement
    return _RAW_PLACEHOLDER


def _kind(entry_p: int) -> EntryKind:
    # A hard link carries no data of its own (its target is another member).
    if ffi.entry_hardlink(entry_p) is not None and not ffi.entry_size(entry_p):
        return EntryKind.HARDLINK
    return _NON_REGULAR.get(ffi.entry_filetype(entry_p) & _AE_IFMT, EntryKind.MEMBER)


def _unsafe(name: bytes) -> bool:
    """Whether a naive extractor would write `name` outside its target folder."""
    if name.startswith((b"/", b"\\")) or _DRIVE.match(name):
        return True
    return b".." in re.split(rb"[/\\]", name)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_TIME_FIELDS = (
    ("mtime", ffi.entry_mtime_is_set, ffi.entry_mtime, ffi.entry_mtime_nsec),
    ("ctime", ffi.entry_ctime_is_set, ffi.entry_ctime, ffi.entry_ctime_nsec),
    ("atime", ffi.entry_atime_is_set, ffi.entry_atime, ffi.entry_atime_nsec),
    ("crtime", ffi.entry_birthtime_is_set, ffi.entry_birthtime, ffi.entry_birthtime_nsec),
)


def _times(entry_p: int, *, zero_is_unset: bool) -> FileTimes:
    """Header times in UTC (zip and RAR DOS times are read in this process's time zone)."""
    times: dict[str, datetime] = {}
    for name, is_set, seconds_of, nanos_of in _TIME_FIELDS:
        if not is_set(entry_p):
            continue
        seconds, nanos = seconds_of(entry_p), nanos_of(entry_p)
        if zero_is_unset and seconds == 0 and nanos == 0:
            continue
        with contextlib.suppress(OverflowError):  # a hostile header can hold any 64-bit value
            times[name] = _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
    return FileTimes(**times)


def _stage(message: str, default: str) -> str:
    """'encrypted' when libarchive's message is about encryption: a locked member is not damage."""
    return "encrypted" if _ENCRYPTION.search(message) else default


def _message(archive_p: int) -> str:
    return _text(ffi.error_string(archive_p)) or _NO_REASON


def _text(message: str | bytes | None) -> str:
    if isinstance(message, bytes):
        return message.decode("utf-8", "replace")
    return message or ""
