"""Android extractions: a folder or zip holding a phone's file system, with WhatsApp located.

Extraction tools deliver an Android phone as its file-system tree (a full file-system dump:
`data/data/<app>/…`, `data/media/0/…`) or as the shared storage alone (a logical extraction:
`Android/…`, `DCIM/…`, `WhatsApp/…`), often under one wrapping folder and often zipped. Such a
source is ingested exactly like a folder or a zip (the same units and records); what this kind
adds is recognition, and a map of where WhatsApp keeps its data, stored with the evidence
(`Evidence.source_info`) so the messaging work finds the databases without scanning:

- `whatsapp.databases`: the app's SQLite databases (`msgstore.db`, `wa.db`, …) together with
  their `-wal`, `-shm` and `-journal` companions, which hold uncheckpointed and deleted rows;
- `whatsapp.backups`: the encrypted backups on shared storage (`msgstore.db.crypt14`, …);
- `whatsapp.media`: the folders of sent and received media.

Each value lists occurrence paths, one per line, in the form the ingest records them: relative
to the folder, or `archive.zip!member` inside a zip. Names that are not UTF-8 are listed with
surrogate escapes (`os.fsdecode`).
"""

from __future__ import annotations

import enum
import fnmatch
import os
import re
import stat
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from cairn.core.records import EntryRecord, UnitResult
from cairn.core.settings import AnalysisSettings
from cairn.evidence.analysis import open_readonly
from cairn.evidence.base import EvidenceSource, Unit
from cairn.evidence.directory import DirectorySource, FileSource

# Folders that only an Android file system has: app-private data, the emulated shared
# storage as it lies on the data partition, the system partition; or, for a logical
# extraction of shared storage, Android's per-app folders there.
_ANDROID_MARKERS = (
    "data/data",
    "data/user/0",
    "data/media/0",
    "system/build.prop",
    "Android/data",
    "Android/media",
)
_ANDROID_ZIP_MARKER = re.compile(
    rb"(^|/)(data/data/|data/user/0/|data/media/0/|system/build\.prop$|Android/(data|media)/)"
)
_APP = rb"com\.whatsapp(\.w4b)?"  # WhatsApp and WhatsApp Business
_START = rb"(^|[/!])"  # a path component starts here (`!` begins a zip member's name)
_ROLES = (
    (
        "databases",
        re.compile(_START + rb"(data/data|data/user(_de)?/\d+)/" + _APP + rb"/databases/[^/]+$"),
    ),
    ("backups", re.compile(_START + rb"WhatsApp( Business)?/(Databases|Backups)/[^/]+$")),
    ("media", re.compile(_START + rb"WhatsApp( Business)?/Media/")),
)
_MEDIA_FOLDER = re.compile(rb"^(.*?(?:^|[/!])WhatsApp(?: Business)?/Media)/")
# Where WhatsApp keeps data, relative to an Android root: app-private data, and shared storage
# (at the root of a logical extraction, or inside a file-system dump), before and after
# Android 11 moved it under Android/media.
_SHARED_STORAGE = ("", "data/media/*/", "sdcard/", "storage/emulated/*/")
_WHATSAPP_FOLDERS = (
    "data/data/com.whatsapp*",
    "data/user/*/com.whatsapp*",
    "data/user_de/*/com.whatsapp*",
    *(f"{shared}WhatsApp*" for shared in _SHARED_STORAGE),
    *(f"{shared}Android/media/com.whatsapp*/WhatsApp*" for shared in _SHARED_STORAGE),
)
_ZIP_MAGIC = b"PK\x03\x04"


class WhatsAppRole(enum.StrEnum):
    DATABASE = "databases"  # includes -wal, -shm and -journal companions
    BACKUP = "backups"
    MEDIA = "media"


def whatsapp_role(path: bytes) -> WhatsAppRole | None:
    """What a path inside an Android extraction is to WhatsApp, if anything."""
    for role, pattern in _ROLES:
        if pattern.search(path):
            return WhatsAppRole(role)
    return None


def whatsapp_map(paths: Iterable[bytes]) -> dict[str, str]:
    """`source_info` entries for the WhatsApp files among `paths` (media as folders)."""
    found: dict[WhatsAppRole, set[bytes]] = {role: set() for role in WhatsAppRole}
    for path in paths:
        role = whatsapp_role(path)
        if role is WhatsAppRole.MEDIA:
            folder = _MEDIA_FOLDER.match(path)
            found[role].add(folder.group(1) if folder else path)
        elif role is not None:
            found[role].add(path)
    return {
        f"whatsapp.{role.value}": "\n".join(os.fsdecode(p) for p in sorted(paths))
        for role, paths in found.items()
        if paths
    }


def _zip_names(path: Path) -> list[bytes] | None:
    """The member names of a zip as stored (bytes), or None when it is not a readable zip."""
    try:
        with open(open_readonly(os.fsencode(path)), "rb") as stream:
            if stream.read(len(_ZIP_MAGIC)) != _ZIP_MAGIC:
                return None
            with zipfile.ZipFile(stream) as archive:
                return [
                    info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
                    for info in archive.infolist()
                ]
    except (zipfile.BadZipFile, OSError, UnicodeEncodeError, ValueError):
        return None


def _listing(folder: bytes) -> list[tuple[bytes, bool]]:
    """(name, is a folder) of a folder's entries, sorted; [] when it cannot be listed.

    Listed through an O_NOATIME descriptor, as the folder source does: listing a folder
    would otherwise update its access time, and evidence timestamps must not change.
    """
    try:
        fd = open_readonly(folder)
    except OSError:
        return []
    try:
        with os.scandir(fd) as entries:
            return sorted((os.fsencode(e.name), e.is_dir(follow_symlinks=False)) for e in entries)
    except OSError:
        return []
    finally:
        os.close(fd)


def _is_folder(path: bytes) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path, follow_symlinks=False).st_mode)
    except OSError:  # absent, or in a folder we may not search: it proves nothing
        return False


def _exists(path: bytes) -> bool:
    try:
        os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return True


def _android_roots(folder: bytes) -> list[bytes]:
    """The folder and its immediate subfolders that look like an Android file system."""
    candidates = [folder] + [folder + b"/" + name for name, is_dir in _listing(folder) if is_dir]
    return [
        c for c in candidates if any(_exists(c + b"/" + os.fsencode(m)) for m in _ANDROID_MARKERS)
    ]


def _matching_folders(base: bytes, pattern: str) -> list[bytes]:
    """Folders under `base` matching a '/'-separated pattern whose parts may hold '*'."""
    folders = [base]
    for part in os.fsencode(pattern).split(b"/"):
        found: list[bytes] = []
        for folder in folders:
            if b"*" in part:
                found += [
                    folder + b"/" + name
                    for name, is_dir in _listing(folder)
                    if is_dir and fnmatch.fnmatchcase(name, part)
                ]
            elif _is_folder(folder + b"/" + part):
                found.append(folder + b"/" + part)
        folders = found
    return folders


def _files_under(top: bytes) -> Iterator[bytes]:
    """Absolute paths of the non-folder entries under `top`; symlinks are not followed."""
    stack = [top]
    while stack:
        folder = stack.pop()
        for name, is_dir in _listing(folder):
            path = folder + b"/" + name
            if is_dir:
                stack.append(path)
            else:
                yield path


class AndroidExtractionSource(EvidenceSource):
    """An Android extraction: read as a folder or a zip, described with its WhatsApp map."""

    kind = "android"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._inner: EvidenceSource = DirectorySource(root) if root.is_dir() else FileSource(root)

    @classmethod
    def probe(cls, path: Path) -> bool:
        if path.is_dir():
            return bool(_android_roots(os.fsencode(path)))
        names = _zip_names(path) if path.is_file() else None
        return names is not None and any(_ANDROID_ZIP_MARKER.search(n) for n in names)

    def units(self) -> Iterator[Unit | EntryRecord]:
        return self._inner.units()

    def process(self, unit: Unit, settings: AnalysisSettings) -> UnitResult:
        return self._inner.process(unit, settings)

    def describe(self) -> dict[str, str]:
        """The platform and where WhatsApp's databases, backups and media are."""
        if self.root.is_dir():
            paths = self._whatsapp_candidates()
            extraction = "folder"
        else:
            names = _zip_names(self.root)
            if names is None:
                return {"platform": "android", "error": f"{self.root.name}: not a readable zip"}
            container = os.fsencode(self.root.name)
            paths = (container + b"!" + n for n in names if not n.endswith(b"/"))
            extraction = "zip"
        return {"platform": "android", "extraction": extraction, **whatsapp_map(paths)}

    def _whatsapp_candidates(self) -> Iterator[bytes]:
        """Files in the folders where WhatsApp keeps data, under each Android root.

        Only those folders are walked: the rest of a phone (often hundreds of thousands of
        files) is left to the ingest itself.
        """
        root = os.fsencode(self.root)
        for android in _android_roots(root):
            for pattern in _WHATSAPP_FOLDERS:
                for top in _matching_folders(android, pattern):
                    for path in _files_under(top):
                        yield path[len(root) + 1 :]
