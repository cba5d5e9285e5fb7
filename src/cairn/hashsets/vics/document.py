"""What VICS documents hold that both the reader and the writer use: the context URL, kept
extra Media properties, and a Media item with the places it was found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cairn.hashsets.base import KnownHashRecord

CONTEXT_URL: Final = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/{}/$metadata#{}"

# Media properties kept in KnownHashRecord.extra, and written back from it, with their types.
# IsPrecategorized is neither: docs/formats.md calls it unreliable, and Cairn writes its own.
EXTRA_FLAGS: Final = ("IsSuspected", "SelfGenerated")
EXTRA_TEXT: Final = ("DateUpdated",)


@dataclass(frozen=True)
class MediaFile:
    """One place a media item was found (VICS MediaFile). Paths are text: decode file-name bytes
    that are not UTF-8 reversibly (e.g. backslashreplace) before writing."""

    file_name: str | None = None
    file_path: str | None = None
    created: datetime | None = None
    written: datetime | None = None
    accessed: datetime | None = None
    unallocated: bool | None = None
    deleted: bool | None = None
    source_id: str | None = None  # the evidence item it was found on
    physical_location: int | None = None  # byte offset in the evidence image
    parent_md5: str | None = None  # the container (archive) it was a member of
    parent_file_name: str | None = None
    parent_file_path: str | None = None


@dataclass(frozen=True)
class CaseMedia:
    """A Media item of a `#Cases` document: the hash record plus where it was found."""

    record: KnownHashRecord
    files: tuple[MediaFile, ...] = ()
    # The hash set whose match categorised the item, if its category came from one.
    precategorized_by: str | None = None
