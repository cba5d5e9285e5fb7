"""Chain of custody: recompute an evidence item's acquisition hash and compare.

What is hashed is what was acquired: for an E01, the media data libewf decodes (compared with
the MD5/SHA-1 the acquiring tool stored in the image, and with the values recorded when the
evidence was registered); for a raw image or any other single file, the file's bytes (split
raw segments end to end), compared with the examiner's `ALGORITHM:HEX`. The evidence is opened
read-only without touching its access time, and every verification, whatever its outcome,
is an audit event.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cairn.core.errors import UsageError
from cairn.core.hash_kinds import BY_NAME, DIGEST_NAMES
from cairn.evidence.analysis import error_text
from cairn.evidence.diskimage.ewf import EwfImage
from cairn.evidence.diskimage.image import Image, open_image
from cairn.evidence.diskimage.raw import RawImage
from cairn.evidence.diskimage.source import DiskImageSource
from cairn.hashing.digests import CHUNK_SIZE
from cairn.services.cases import find_evidence, get_case
from cairn.services.context import Context
from cairn.store import audit


class Status(enum.StrEnum):
    VERIFIED = "verified"  # every reference value matched
    MISMATCH = "mismatch"  # at least one did not
    UNVERIFIABLE = "unverifiable"  # nothing to compare with
    ERROR = "error"  # the evidence could not be read to the end


class Reference(enum.StrEnum):
    """Where an expected value comes from."""

    EXAMINER = "examiner"  # Evidence.acquisition_hash, given at registration
    IMAGE = "image"  # stored in the E01 now
    REGISTERED = "registered"  # stored in the E01 when the evidence was registered


@dataclass(frozen=True)
class HashCheck:
    algorithm: str
    reference: Reference
    expected: str
    computed: str

    @property
    def matched(self) -> bool:
        return self.expected == self.computed


@dataclass(frozen=True)
class VerifyResult:
    case_ref: str
    label: str
    source_path: str
    source_kind: str
    status: Status
    checks: tuple[HashCheck, ...]
    bytes_read: int
    problems: tuple[str, ...]  # why the status is unverifiable or error

    @property
    def exit_code(self) -> int:
        """0 verified; 1 mismatch or unreadable; 2 nothing to verify against (configuration)."""
        return {Status.VERIFIED: 0, Status.UNVERIFIABLE: 2}.get(self.status, 1)


def parse_acquisition_hash(text: str) -> tuple[str, str]:
    """("md5" | "sha1" | "sha256", lower-case hex) from "ALGORITHM:HEX"; UsageError if not."""
    algorithm, _, value = text.strip().partition(":")
    algorithm = algorithm.lower().replace("-", "")
    value = value.strip().lower()
    if algorithm not in DIGEST_NAMES or len(value) != BY_NAME[algorithm].hex_length:
        raise UsageError(f"acquisition hash {text!r} is not md5:HEX, sha1:HEX or sha256:HEX")
    try:
        bytes.fromhex(value)
    except ValueError as exc:
        raise UsageError(f"acquisition hash {text!r} is not hexadecimal") from exc
    return algorithm, value


@dataclass
class _Media:
    """What is hashed, and the values the image itself says it should hash to."""

    image: Image
    references: list[tuple[str, Reference, str]] = field(default_factory=list)


@contextmanager
def _media(path: Path, kind: str, registered: dict[str, str]) -> Iterator[_Media]:
    if path.is_dir():
        raise UsageError(f"a {kind} source is a folder: it has no acquisition hash to verify")
    image = open_image(path) if kind == DiskImageSource.kind else RawImage([path])
    try:
        media = _Media(image)
        if isinstance(image, EwfImage):
            stored = image.stored_hashes()
            for algorithm in DIGEST_NAMES:
                if algorithm in stored:
                    media.references.append((algorithm, Reference.IMAGE, stored[algorithm]))
                # A stored value changed since registration is tampering or a swapped file.
                earlier = registered.get(f"ewf.{algorithm}")
                if earlier and earlier != stored.get(algorithm):
                    media.references.append((algorithm, Reference.REGISTERED, earlier))
        yield media
    finally:
        image.close()


def _digests(image: Image) -> dict[str, str]:
    """MD5, SHA-1 and SHA-256 of the whole media, in one pass."""
    hashers = {name: hashlib.new(name, usedforsecurity=False) for name in DIGEST_NAMES}
    offset = 0
    while offset < image.media_size:
        data = image.pread(offset, min(CHUNK_SIZE, image.media_size - offset))
        if not data:
            raise OSError(f"the evidence ends at byte {offset} of {image.media_size}")
        for hasher in hashers.values():
            hasher.update(data)
        offset += len(data)
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def verify_evidence(ctx: Context, case_ref: str, label: str) -> VerifyResult:
    """Recompute and compare; record the outcome as an `evidence.verify` audit event."""
    with ctx.db.session() as session:
        evidence = find_evidence(session, get_case(session, case_ref), label)
        path, kind = Path(evidence.source_path), evidence.source_kind
        examiner, registered = evidence.acquisition_hash, dict(evidence.source_info or {})

    references: list[tuple[str, Reference, str]] = []
    problems: list[str] = []
    if examiner:
        try:
            algorithm, value = parse_acquisition_hash(examiner)
            references.append((algorithm, Reference.EXAMINER, value))
        except UsageError as exc:
            problems.append(str(exc))
    checks: tuple[HashCheck, ...] = ()
    bytes_read = 0
    status = Status.UNVERIFIABLE
    try:
        with _media(path, kind, registered) as media:
            references += media.references
            if references:
                computed = _digests(media.image)
                bytes_read = media.image.media_size
                checks = tuple(HashCheck(a, r, v, computed[a]) for a, r, v in references)
                matched = all(check.matched for check in checks)
                status = Status.VERIFIED if matched else Status.MISMATCH
            elif not problems:
                problems.append(
                    "no acquisition hash to compare with (register one with "
                    "--acquisition-hash ALGORITHM:HEX)"
                )
    except UsageError as exc:
        problems.append(str(exc))
    except OSError as exc:
        status = Status.ERROR
        problems.append(f"cannot read the evidence: {error_text(exc)}")

    result = VerifyResult(
        case_ref, label, str(path), kind, status, checks, bytes_read, tuple(problems)
    )
    with ctx.db.session() as session:
        audit.record(
            session,
            ctx.actor,
            "evidence.verify",
            case_ref,
            label=label,
            source=str(path),
            kind=kind,
            status=status.value,
            bytes=bytes_read,
            problems=list(problems),
            checks=[
                {
                    "algorithm": c.algorithm,
                    "reference": c.reference.value,
                    "expected": c.expected,
                    "computed": c.computed,
                    "matched": c.matched,
                }
                for c in checks
            ],
        )
    return result
