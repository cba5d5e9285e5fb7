"""Hash-set uploads: streamed into the workspace, capped, and sniffed before any job is queued.

The body is written straight to `<workspace>/uploads/` (mode 0600) as it arrives, never to a
temporary folder: a hash set can describe case material, and the workspace is where Cairn's
derived data lives. A body over the cap is cut off and removed; a file no registered
hash-set reader claims is removed and refused.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from fastapi import HTTPException, Request, status

from cairn.core.errors import UsageError
from cairn.hashsets.registry import HEAD_BYTES, by_name, detect

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def upload_folder(workspace_root: Path) -> Path:
    folder = workspace_root / "uploads"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, f"upload larger than the server's cap of {limit} bytes"
    )


async def receive_hashset(
    request: Request, folder: Path, filename: str, fmt: str, limit: int
) -> tuple[Path, str]:
    """Store the request body as an upload; returns its path and the hash-set format it is."""
    path = await receive_upload(request, folder, filename, limit)
    try:
        return path, _sniff(path, fmt)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


async def receive_upload(request: Request, folder: Path, filename: str, limit: int) -> Path:
    """Store the request body as an upload (mode 0600); 413 over `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)  # refused before a byte is stored
    name = _UNSAFE.sub("_", Path(filename).name)[-100:].lstrip(".") or "hashset"
    path = folder / f"{secrets.token_hex(8)}-{name}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        size = 0
        with open(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:  # a missing or false Content-Length
                    raise _too_large(limit)
                out.write(chunk)
        return path
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _sniff(path: Path, fmt: str) -> str:
    """The format the content is, or 415: the file type is checked, not taken on trust."""
    try:
        if fmt == "auto":
            return detect(path).name
        reader = by_name(fmt)
        with path.open("rb") as file:
            head = file.read(HEAD_BYTES)
        if not reader.probe(head, path.name):
            raise UsageError(f"the upload is not a {fmt} hash set")
        return reader.name
    except UsageError as exc:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, str(exc)) from exc
