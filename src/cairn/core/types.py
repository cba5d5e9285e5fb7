"""Value types every layer speaks: entry kinds, categories, digests, triage buckets."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class EntryKind(enum.StrEnum):
    """What an enumerated entry is. Non-regular kinds are recorded, never opened."""

    FILE = "file"
    MEMBER = "member"
    CARVED = "carved"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"  # an archive's link to another member: recorded, its data is there
    FIFO = "fifo"
    DEVICE = "device"
    SOCKET = "socket"
    DIRECTORY = "directory"

    @property
    def is_regular(self) -> bool:
        return self in (EntryKind.FILE, EntryKind.MEMBER, EntryKind.CARVED)

    @property
    def is_non_regular(self) -> bool:
        """Recorded without reading: links, FIFOs, devices, sockets (not folders)."""
        return not self.is_regular and self is not EntryKind.DIRECTORY


class Flag(enum.StrEnum):
    """Observations about an entry that an examiner should see, not errors."""

    EXTENSION_MISMATCH = "extension-mismatch"
    UNSAFE_PATH = "unsafe-path"
    ENCRYPTED = "encrypted"
    # A FAT entry marked as the volume label but owning clusters (a hiding trick Windows'
    # checker accepts): read as a file.
    VOLUME_LABEL_WITH_DATA = "volume-label-with-data"
    # Deleted content read on the guess that its clusters were contiguous (its FAT chain is
    # gone): the digests are wrong if the file was fragmented.
    ASSUMED_CONTIGUOUS = "assumed-contiguous"


class Triage(enum.StrEnum):
    """Triage buckets in their precedence order (docs/architecture.md)."""

    KNOWN = "known"
    NEAR_KNOWN = "near-known"
    KNOWN_IGNORABLE = "known-ignorable"
    POSSIBLE = "possible"
    NEW = "new"


class Role(enum.StrEnum):
    """What a user may do (services.access.PERMISSIONS maps actions to roles)."""

    ADMIN = "admin"
    EXAMINER = "examiner"
    VICTIM_ID = "victim-id"  # victim-identification specialist
    AUDITOR = "auditor"  # read-only, including the audit trail
    # Another Cairn instance's account: fetches what this one shares with it (docs/federation.md)
    PARTNER = "partner"


class SeriesStatus(enum.StrEnum):
    """Where a series stands, in the words victim-identification taskforces report in. The
    first five are a progression; `eliminated` is a dead end (not a victim, not a lead)."""

    UNIDENTIFIED = "unidentified"
    COUNTRY_DETERMINED = "country-determined"
    DISSEMINATED = "disseminated"
    IDENTIFIED = "identified"
    SAFEGUARDED = "safeguarded"
    ELIMINATED = "eliminated"

    @property
    def rank(self) -> int:
        """Position in the progression; `eliminated` comes after all of it."""
        return list(SeriesStatus).index(self)


class CategoryScheme(enum.StrEnum):
    """Category numbering schemes. The same digit means different things in vics and dhs."""

    VICS = "vics"
    DHS = "dhs"
    CAID = "caid"
    CUSTOM = "custom"


@dataclass(frozen=True, order=True)
class Category:
    """A category is always (scheme, code); bare integers are never compared across schemes."""

    scheme: CategoryScheme
    code: str | None  # None: uncategorised in that scheme

    def __str__(self) -> str:
        return f"{self.scheme.value}:{'' if self.code is None else self.code}"

    @classmethod
    def parse(cls, text: str) -> Category:
        scheme, _, code = text.partition(":")
        return cls(CategoryScheme(scheme), code or None)


@dataclass(frozen=True)
class Digests:
    """Cryptographic digests of one byte stream, lower-case hex."""

    md5: str
    sha1: str
    sha256: str
    size: int
