"""Secret key files kept beside the data they protect: 32 random bytes, mode 0600, made once.

The thumbnail key (encryption at rest) and the audit key (the audit chain's HMAC) are files of
this kind; their bytes are never logged.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from cairn.core.errors import CairnError

log = logging.getLogger(__name__)

KEY_BYTES = 32  # AES-256, HMAC-SHA256


class KeyFileError(CairnError):
    """A key file is missing where it must exist, or is not a key."""


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def load_or_create_key(path: Path, what: str) -> bytes:
    """The key in `path`, created on first use (`what` names it in messages: "thumbnail key").

    Creation writes a 0600 temporary file beside the key and hard-links it into place:
    link() fails if the key appeared meanwhile, so two processes starting together agree on
    one key instead of one silently replacing the other's (which would make everything
    sealed under the lost key unreadable).
    """
    try:
        return read_key(path, what)
    except FileNotFoundError:
        pass
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, new_key())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process won the race: its key is the workspace's key
    finally:
        temporary.unlink()
    _sync_directory(path.parent)
    return read_key(path, what)


def read_key(path: Path, what: str) -> bytes:
    """An existing key file (FileNotFoundError when there is none; symlinks are refused)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    with open(fd, "rb") as stream:
        if os.fstat(stream.fileno()).st_mode & 0o077:
            log.warning("%s file %s is open to other users; expected mode 0600", what, path)
        key = stream.read(KEY_BYTES + 1)
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"{what} file {path} is not {KEY_BYTES} bytes")
    return key


def _sync_directory(directory: Path) -> None:
    """Make the new directory entry durable, so a crash cannot lose a key already in use."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
