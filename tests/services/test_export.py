"""The hash exports carry each occurrence's flags: the CSV in its last column, DFXML as
`cairn:flag` elements."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.evidence.diskimage.builders import CASE, fat_entry, make_fragmented_fat, patch
from tests.evidence.diskimage.readback import run_ingest

from cairn.services.context import Context
from cairn.services.export import export_hashes

# The column contract of docs/architecture.md, in order; columns Cairn adds come after it.
DESIGN_COLUMNS = [
    *("evidence", "path", "kind", "deleted", "unallocated", "offset", "size", "md5", "sha1"),
    *("sha256", "mime", "pdq", "pdq_quality", "pdq_method", "mtime", "ctime", "atime", "crtime"),
    *("inode", "triage", "hashset", "category", "distance", "match_variant", "error"),
]
GUESS, LABEL = "assumed-contiguous", "volume-label-with-data"
FLAGS = {
    "_HREE.BIN": GUESS,
    "_WO.BIN": GUESS,
    "_MALL.TXT": "",
    "FOUR.BIN": LABEL,
    "_RCHIVE.ZIP": GUESS,
    "_RCHIVE.ZIP!blob.bin": GUESS,
}


def flagged_image(tmp_path: Path) -> Path:
    image = make_fragmented_fat(tmp_path / "fat.dd")
    patch(image, fat_entry(image, b"FOUR    BIN") + 11, b"\x08")  # hidden as the volume label
    return image


def test_flags_reach_the_csv_and_the_dfxml_export(ctx: Context, tmp_path: Path) -> None:
    assert run_ingest(ctx, flagged_image(tmp_path)).exit_code == 0
    out = io.StringIO()
    assert export_hashes(ctx, CASE, "csv", out, "-") == len(FLAGS)
    header, *rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert header == [*DESIGN_COLUMNS, "flags"]
    assert {row[1]: row[-1] for row in rows} == FLAGS

    out = io.StringIO()
    assert export_hashes(ctx, CASE, "dfxml", out, "-") == len(FLAGS)
    ns = {
        "d": "http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML",
        "cairn": "https://cairn.invalid/dfxml",
    }
    found = {
        obj.findtext("d:filename", namespaces=ns): ",".join(
            flag.text or "" for flag in obj.findall("cairn:flag", ns)
        )
        for obj in ET.fromstring(out.getvalue()).findall("d:fileobject", ns)
    }
    assert found == FLAGS
