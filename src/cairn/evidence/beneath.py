"""Open a path beneath a folder's descriptor without following a symlink in any component.

O_NOFOLLOW guards only a path's last component: a folder anywhere above it swapped for a
symlink would still be followed, out of the evidence and into whatever it points at. Linux
5.6+ does the whole walk in the kernel with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`
(called through ctypes: Python has no binding); elsewhere, or where a seccomp filter refuses
it, the walk is done here one component at a time, each opened with O_NOFOLLOW relative to the
one before. Either way a symlink met anywhere fails with ELOOP and an escape by `..` with
EXDEV, and nothing outside the folder is opened.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat

# From <linux/openat2.h>; the syscall number is the same on every architecture (437).
_SYS_OPENAT2 = 437
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
_RESOLVE = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS

# Linux's PATH_MAX: a longer path is opened a part at a time (deep trees exist in seized data).
PATH_MAX = 4096
_FOLDER = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC


class _OpenHow(ctypes.Structure):
    _fields_ = (("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64))


_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def _openat2(dir_fd: int, relative: bytes, flags: int) -> int:
    how = _OpenHow(flags | os.O_CLOEXEC, 0, _RESOLVE)
    fd = int(
        _syscall(
            ctypes.c_long(_SYS_OPENAT2),
            ctypes.c_int(dir_fd),
            ctypes.c_char_p(relative),
            ctypes.byref(how),
            ctypes.c_size_t(ctypes.sizeof(how)),
        )
    )
    if fd < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), os.fsdecode(relative))
    return fd


def _kernel_has_openat2() -> bool:
    top = os.open("/", _FOLDER)
    try:
        os.close(_openat2(top, b".", os.O_PATH))
    except OSError as exc:  # ENOSYS: an older kernel; EPERM: refused by a seccomp filter
        return exc.errno not in (errno.ENOSYS, errno.EPERM)
    finally:
        os.close(top)
    return True


# Decided once per process; tests switch it off to run the component walk on this kernel.
use_openat2 = _kernel_has_openat2()


def _components(relative: bytes) -> list[bytes]:
    if relative.startswith(b"/"):
        raise OSError(errno.EXDEV, "an absolute path is not beneath the folder", relative)
    parts = [p for p in relative.split(b"/") if p and p != b"."]
    if b".." in parts:  # stricter than RESOLVE_BENEATH, which allows a `..` that stays inside
        raise OSError(errno.EXDEV, "`..` in a path opened beneath a folder", relative)
    return parts


def _walk(dir_fd: int, parts: list[bytes], flags: int) -> int:
    """The fallback: each component opened with O_NOFOLLOW relative to the one before."""
    current = dir_fd
    try:
        for part in parts[:-1]:
            fd = os.open(part, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=current)
            mode = os.fstat(fd).st_mode
            if current != dir_fd:
                os.close(current)
            current = fd
            if stat.S_ISLNK(mode):  # O_PATH | O_NOFOLLOW opens the link itself
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), os.fsdecode(part))
            if not stat.S_ISDIR(mode):
                raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), os.fsdecode(part))
        last = parts[-1] if parts else b"."
        return os.open(last, flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=current)
    finally:
        if current != dir_fd:
            os.close(current)


def open_beneath(dir_fd: int, relative: bytes, flags: int) -> int:
    """`os.open(relative, flags, dir_fd=dir_fd)`, never leaving the folder nor following a
    symlink (ELOOP) in any component; any length of path."""
    parts = _components(relative)
    joined = b"/".join(parts) or b"."
    if len(joined) >= PATH_MAX:  # the kernel refuses it whole: open a folder part way down
        cut = joined.rfind(b"/", 0, PATH_MAX - 1)
        if cut <= 0:  # no component is that long
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), joined[:64])
        head = open_beneath(dir_fd, joined[:cut], _FOLDER)
        try:
            return open_beneath(head, joined[cut + 1 :], flags)
        finally:
            os.close(head)
    if use_openat2:
        return _openat2(dir_fd, joined, flags)
    return _walk(dir_fd, parts, flags)


def open_nofollow(absolute: bytes, flags: int) -> int:
    """Open an absolute path without following a symlink in any component (from `/`).

    For paths Cairn resolved once when they were named (an evidence root, a source): such a
    path has no symlinks, so one met now was put there since, and is refused (ELOOP).
    """
    if not absolute.startswith(b"/"):
        raise OSError(errno.EINVAL, "not an absolute path", absolute)
    top = os.open(b"/", _FOLDER)
    try:
        return open_beneath(top, absolute[1:], flags)
    finally:
        os.close(top)
