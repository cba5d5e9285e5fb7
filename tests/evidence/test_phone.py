"""Android extractions (folder and zip): recognition and the WhatsApp map kept with the evidence."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from cairn.evidence.directory import DirectorySource, FileSource
from cairn.evidence.phone import AndroidExtractionSource, WhatsAppRole, whatsapp_role
from cairn.evidence.registry import detect
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.ingest import ingest
from cairn.store.models import Evidence, Occurrence

PHOTO = jpeg_bytes(synthetic_image(21, 96, 72))
DB = "data/data/com.whatsapp/databases"
SHARED = "data/media/0"
# A full file-system dump: app data, shared storage with pre- and post-Android-11 WhatsApp
# folders, an encrypted backup, the camera roll, and the system partition.
DUMP = {
    f"{DB}/msgstore.db": b"SQLite format 3\x00" + bytes(100),
    f"{DB}/msgstore.db-wal": b"wal",
    f"{DB}/msgstore.db-shm": b"shm",
    f"{DB}/wa.db": b"SQLite format 3\x00" + bytes(50),
    f"{DB}/wa.db-journal": b"journal",
    "data/data/com.whatsapp/files/key": b"k",
    f"{SHARED}/WhatsApp/Media/WhatsApp Images/IMG-20240101-WA0001.jpg": PHOTO,
    f"{SHARED}/WhatsApp/Media/WhatsApp Images/Sent/IMG-20240102-WA0002.jpg": PHOTO,
    f"{SHARED}/Android/media/com.whatsapp/WhatsApp/Media/WhatsApp Video/VID-1.mp4": b"\0" * 64,
    f"{SHARED}/WhatsApp/Databases/msgstore.db.crypt14": b"encrypted",
    f"{SHARED}/DCIM/Camera/IMG_0001.jpg": PHOTO,
    "system/build.prop": b"ro.product.model=Synthetic\n",
}
WHATSAPP_INFO = {
    "whatsapp.databases": "\n".join(
        f"{DB}/{n}"
        for n in ("msgstore.db", "msgstore.db-shm", "msgstore.db-wal", "wa.db", "wa.db-journal")
    ),
    "whatsapp.backups": f"{SHARED}/WhatsApp/Databases/msgstore.db.crypt14",
    "whatsapp.media": (
        f"{SHARED}/Android/media/com.whatsapp/WhatsApp/Media\n{SHARED}/WhatsApp/Media"
    ),
}


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def prefixed(info: dict[str, str], prefix: str) -> dict[str, str]:
    return {k: "\n".join(prefix + line for line in v.split("\n")) for k, v in info.items()}


@pytest.mark.parametrize(
    ("path", "role"),
    [
        (b"data/data/com.whatsapp/databases/msgstore.db", WhatsAppRole.DATABASE),
        (b"x/data/user/0/com.whatsapp.w4b/databases/wa.db-wal", WhatsAppRole.DATABASE),
        (
            b"dump.zip!data/user_de/0/com.whatsapp/databases/msgstore.db-journal",
            WhatsAppRole.DATABASE,
        ),
        (b"data/data/com.whatsapp/files/key", None),
        (b"WhatsApp Business/Backups/chatsettingsbackup.db.crypt14", WhatsAppRole.BACKUP),
        (b"sdcard/WhatsApp/Media/WhatsApp Audio/a.opus", WhatsAppRole.MEDIA),
        (b"Android/media/com.whatsapp/WhatsApp/Media/x.jpg", WhatsAppRole.MEDIA),
        (b"NotWhatsApp/Media/x.jpg", None),
        (b"DCIM/Camera/x.jpg", None),
    ],
)
def test_whatsapp_roles(path: bytes, role: WhatsAppRole | None) -> None:
    assert whatsapp_role(path) is role


def test_folder_dump_is_recognised_and_mapped(ctx: Context, tmp_path: Path) -> None:
    root = write_tree(tmp_path / "extraction", {f"Dump/{k}": v for k, v in DUMP.items()})
    assert detect(root) is AndroidExtractionSource
    assert AndroidExtractionSource(root).describe() == {
        "platform": "android",
        "extraction": "folder",
        **prefixed(WHATSAPP_INFO, "Dump/"),
    }
    create_case(ctx, "C")
    summary = ingest(ctx, "C", root, workers=0)
    assert summary.exit_code == 0, summary.errors
    with ctx.db.session() as session:
        evidence = session.scalar(select(Evidence))
        assert evidence is not None
        assert evidence.source_kind == "android"
        assert evidence.source_info == {
            "platform": "android", "extraction": "folder", **prefixed(WHATSAPP_INFO, "Dump/")
        }  # fmt: skip
        paths = dict(session.execute(select(Occurrence.path, Occurrence.media_sha256)).all())
    # Ingested exactly as a folder: every file, paths relative to the folder.
    assert paths == {f"Dump/{k}".encode(): hashlib.sha256(v).hexdigest() for k, v in DUMP.items()}


def test_zip_dump_is_recognised_and_mapped(ctx: Context, tmp_path: Path) -> None:
    archive = tmp_path / "phone.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for name, data in DUMP.items():
            out.writestr(name, data)
    assert detect(archive) is AndroidExtractionSource
    assert AndroidExtractionSource(archive).describe() == {
        "platform": "android",
        "extraction": "zip",
        **prefixed(WHATSAPP_INFO, "phone.zip!"),
    }
    create_case(ctx, "C")
    summary = ingest(ctx, "C", archive, workers=0)
    assert summary.exit_code == 0, summary.errors
    with ctx.db.session() as session:
        paths = dict(session.execute(select(Occurrence.path, Occurrence.media_sha256)).all())
    # The listed paths are the occurrences the ingest recorded for the members.
    for name in WHATSAPP_INFO["whatsapp.databases"].split("\n"):
        assert paths[b"phone.zip!" + name.encode()] == hashlib.sha256(DUMP[name]).hexdigest()


def test_logical_extraction_of_shared_storage(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "sdcard", {
        "Android/media/com.whatsapp/WhatsApp/Media/WhatsApp Images/a.jpg": PHOTO,
        "DCIM/Camera/b.jpg": PHOTO,
    })  # fmt: skip
    assert detect(root) is AndroidExtractionSource
    assert AndroidExtractionSource(root).describe() == {
        "platform": "android",
        "extraction": "folder",
        "whatsapp.media": "Android/media/com.whatsapp/WhatsApp/Media",
    }


def test_other_folders_and_zips_are_not_phones(tmp_path: Path) -> None:
    folder = write_tree(tmp_path / "docs", {"WhatsApp/Media/x.jpg": PHOTO, "a.txt": b"a"})
    assert detect(folder) is DirectorySource  # a WhatsApp folder alone is not a phone
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as out:
        out.writestr("docs/a.txt", b"a")
    assert detect(plain) is FileSource
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04" + b"data/data/com.whatsapp/" + bytes(100))
    assert detect(broken) is FileSource
    assert AndroidExtractionSource(broken).describe() == {
        "platform": "android",
        "error": "broken.zip: not a readable zip",
    }
