"""The signed share file: a hash-set bundle, a match filter or series statuses between instances.

Layout (docs/federation.md, "The share file"): a magic line, the body and a newline, then a
one-line JSON manifest and a one-line Ed25519 signature (hex) over the magic and the manifest.
The manifest declares the body's size and SHA-256, so the signature covers every byte; it
comes last so that the body streams out as it is made. A reader checks the tail first
(signature, declared sizes against the file's), then the body against the declared hash
(`verify_body`), and streams it again for parsing, withholding its last chunk until the hash
matches once more: nothing of an unsigned or altered file is parsed, and a file changed
between the two reads is never stored whole.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cairn.core.errors import CairnError

MAGIC = b"CAIRN-SHARE/1\n"
FORMAT = "cairn-share/1"
KINDS = ("hashset", "filter", "series", "notices", "notice-hits")
MAX_TAIL = 64 * 1024  # manifest and signature lines together
# Refused before anything is read: the largest body a share file may declare (a filter of
# 100M digests at 1e-6 is about 360 MB; a bundle of 10M entries about 3 GB).
MAX_BODY_BYTES = 8 << 30
MAX_ENTRIES = 100_000_000


class ShareFileError(CairnError):
    """A share file is refused: unsigned, altered, truncated, or not what it declares (exit 1)."""


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes_raw().hex()


def _signed_message(manifest_line: bytes) -> bytes:
    return MAGIC + manifest_line


class ShareWriter:
    """Streams a body to `path` (through a temporary file beside it), then signs it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._partial = path.with_name(f".{path.name}.partial")
        self._file: BinaryIO = self._partial.open("wb")
        self._file.write(MAGIC)
        self._hash = hashlib.sha256()
        self.body_bytes = 0

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._hash.update(data)
        self.body_bytes += len(data)

    def finish(self, manifest: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
        """Complete the manifest with the body's size, hash and signer; sign; move into place."""
        manifest = {
            **manifest,
            "format": FORMAT,
            "body_bytes": self.body_bytes,
            "body_sha256": self._hash.hexdigest(),
            "signer": public_key_hex(key),
        }
        line = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        self._file.write(b"\n" + line)  # the newline ends a binary body's last line
        self._file.write(key.sign(_signed_message(line)).hex().encode() + b"\n")
        self._file.close()
        os.replace(self._partial, self.path)
        return manifest

    def discard(self) -> None:
        self._file.close()
        self._partial.unlink(missing_ok=True)


@dataclass(frozen=True)
class ShareFile:
    """A share file whose signature and declared sizes have been checked (not yet its body)."""

    path: Path
    manifest: dict[str, Any]
    signer: str  # the public key, hex
    file_sha256_prefix: str  # of the signed manifest line, to name this file in records

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    def body(self, chunk: int = 1 << 20) -> Iterator[bytes]:
        """The body in chunks; the last chunk is yielded only if the whole body matches the
        declared SHA-256 (ShareFileError otherwise), so a consumer that stores as it reads
        inside one transaction never commits an altered body."""
        size = int(self.manifest["body_bytes"])
        digest = hashlib.sha256()
        with self.path.open("rb") as file:
            file.seek(len(MAGIC))
            left = size
            pending = b""
            while left:
                data = file.read(min(chunk, left))
                if not data:
                    raise ShareFileError(f"{self.path}: truncated")
                digest.update(data)
                left -= len(data)
                if pending:
                    yield pending
                pending = data
            if digest.hexdigest() != self.manifest["body_sha256"]:
                raise ShareFileError(f"{self.path}: the body does not match its signed hash")
            if pending:
                yield pending

    def verify_body(self) -> None:
        """Read the whole body against its signed hash (ShareFileError when it differs)."""
        for _chunk in self.body():
            pass

    def lines(self) -> Iterator[bytes]:
        """The body as lines (bundles and series statuses are JSON lines)."""
        rest = b""
        for data in self.body():
            rest += data
            *complete, rest = rest.split(b"\n")
            yield from complete
        if rest:
            yield rest


def open_share_file(path: Path) -> ShareFile:
    """Check a share file's magic, tail, signature and declared sizes (not its signer's trust:
    the caller decides whom it trusts)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as file:
            if file.read(len(MAGIC)) != MAGIC:
                raise ShareFileError(f"{path}: not a Cairn share file")
            file.seek(max(len(MAGIC), size - MAX_TAIL))
            tail = file.read()
    except OSError as exc:
        raise ShareFileError(f"{path}: {exc.strerror}") from None
    lines = tail.split(b"\n")
    if len(lines) < 3 or lines[-1] != b"":
        raise ShareFileError(f"{path}: truncated (no signature at the end)")
    manifest_line, signature_hex = lines[-3] + b"\n", lines[-2]
    try:
        manifest = json.loads(manifest_line)
        signer = bytes.fromhex(manifest["signer"])
        signature = bytes.fromhex(signature_hex.decode("ascii"))
        Ed25519PublicKey.from_public_bytes(signer).verify(signature, _signed_message(manifest_line))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, InvalidSignature):
        raise ShareFileError(
            f"{path}: the signature does not verify (altered, truncated or not signed)"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ShareFileError(f"{path}: unknown share format")
    if manifest.get("kind") not in KINDS:
        raise ShareFileError(f"{path}: unknown share kind {manifest.get('kind')!r}")
    body_bytes = manifest.get("body_bytes")
    entries = manifest.get("entries")
    if not isinstance(body_bytes, int) or not 0 <= body_bytes <= MAX_BODY_BYTES:
        raise ShareFileError(f"{path}: declares an absurd body size ({body_bytes!r} bytes)")
    if not isinstance(entries, int) or not 0 <= entries <= MAX_ENTRIES:
        raise ShareFileError(f"{path}: declares an absurd number of entries ({entries!r})")
    if len(MAGIC) + body_bytes + 1 + len(manifest_line) + len(signature_hex) + 1 != size:
        raise ShareFileError(
            f"{path}: is {size} bytes, but its manifest declares a body of {body_bytes}"
        )
    return ShareFile(path, manifest, signer.hex(), hashlib.sha256(manifest_line).hexdigest())
