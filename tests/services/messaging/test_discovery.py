"""Finding artefacts in ingested evidence: in zips, and those Cairn cannot reach."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

from cairn.messaging.samples import example_device, write_msgstore
from cairn.services.context import Context
from cairn.services.ingest import ingest
from cairn.services.messaging.discovery import import_from_evidence

DB = "data/data/com.whatsapp/databases"


def test_databases_in_a_zipped_extraction(case: Context, tmp_path: Path) -> None:
    store = write_msgstore(tmp_path / "build" / "msgstore.db", example_device())
    archive = tmp_path / "phone.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.write(store, f"{DB}/msgstore.db")
        out.writestr("system/build.prop", b"ro.product.model=Zip\n")
    assert ingest(case, "C", archive, workers=0).exit_code == 0
    (summary,) = import_from_evidence(case, "C", "phone.zip")
    assert (summary.path, summary.status, summary.counts["messages"]) == (
        f"phone.zip!{DB}/msgstore.db",
        "completed",
        3,  # and 2 notices
    )
    assert summary.originals[0]["sha256"] == hashlib.sha256(store.read_bytes()).hexdigest()


def test_databases_cairn_cannot_reach_are_reported(case: Context, tmp_path: Path) -> None:
    import tarfile

    store = write_msgstore(tmp_path / "build" / "msgstore.db", example_device())
    folder = tmp_path / "seized"
    folder.mkdir()
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as out:
        out.write(store, "msgstore.db")
    with zipfile.ZipFile(folder / "outer.zip", "w") as out:
        out.writestr("inner.zip", inner.getvalue())
    with tarfile.open(folder / "backup.tar", "w") as out:
        out.add(store, "msgstore.db")
    ingest(case, "C", folder, workers=0)
    summaries = import_from_evidence(case, "C", "seized")
    assert [(s.path, s.status, s.issues) for s in summaries] == [
        (
            "backup.tar!msgstore.db",
            "failed",
            [
                "error unreadable (backup.tar!msgstore.db): backup.tar is not a readable zip (File "
                "is not a zip file): extract it and import the file"
            ],
        ),
        (
            "outer.zip!inner.zip!msgstore.db",
            "failed",
            [
                "error unreadable (outer.zip!inner.zip!msgstore.db): inside a nested container: "
                "not read; extract it and run `cairn messaging import FILE --evidence LABEL`"
            ],
        ),
    ]
    assert all(s.exit_code == 1 for s in summaries)


def test_evidence_without_artefacts_loads_no_reader(
    case: Context, workspace: Path, tmp_path: Path
) -> None:
    """`cairn ingest` looks for artefacts after every ingest: where there are none, neither
    the readers nor the analysis are imported (a fresh interpreter shows what was)."""
    folder = tmp_path / "camera"
    folder.mkdir()
    (folder / "notes.txt").write_text("nothing from WhatsApp\n")
    assert ingest(case, "C", folder, workers=0).exit_code == 0
    script = (
        "import sys\n"
        "from cairn.services.context import Context\n"
        "from cairn.services.messaging.discovery import import_from_evidence\n"
        f"ctx = Context.open({str(workspace)!r})\n"
        "print(import_from_evidence(ctx, 'C', 'camera'))\n"
        "heavy = ('cairn.messaging', 'cairn.services.messaging.', 'networkx', 'phonenumbers')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == ["[]", "['cairn.services.messaging.discovery']"]
