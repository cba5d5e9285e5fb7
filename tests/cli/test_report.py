"""`cairn report` through the real CLI: files written private, bad formats refused (exit 2)."""

from __future__ import annotations

import io
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from pypdf import PdfReader

from cairn.media.synthetic import CameraExif, jpeg_bytes, synthetic_image

if TYPE_CHECKING:
    from conftest import RunCli


def test_report_command_writes_html_and_pdf(run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / "exhibit"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(jpeg_bytes(synthetic_image(3, 64, 48), CameraExif()))
    (folder / "notes.txt").write_text("benign\n")
    assert run_cli("case", "create", "OP-CLI-1")[0] == 0
    code, _out, err = run_cli(
        "evidence", "add", "--case", "OP-CLI-1", "--custodian", "K. Lee",
        "--seized-at", "2026-03-04T05:06:07Z", folder,
    )  # fmt: skip
    assert code == 0, err
    assert run_cli("ingest", "--case", "OP-CLI-1", folder, "--workers", "0")[0] == 0
    pdf, page = tmp_path / "report.pdf", tmp_path / "report.html"
    code, out, err = run_cli("report", "--case", "OP-CLI-1", "--format", "pdf", "-o", pdf)
    assert (code, out) == (0, ""), err
    assert err.startswith(f"wrote {pdf.stat().st_size:,} bytes to {pdf} (SHA-256 ")
    assert stat.S_IMODE(pdf.stat().st_mode) == 0o600
    text = " ".join(PdfReader(io.BytesIO(pdf.read_bytes())).pages[0].extract_text().split())
    assert "Case report OP-CLI-1" in text and "custodian K. Lee" in text
    assert "seized at 2026-03-04T05:06:07Z" in text
    assert run_cli("report", "--case", "OP-CLI-1", "--format", "html", "-o", page)[0] == 0
    assert "<h1" in page.read_text() and "<img" not in page.read_text()
    code, _out, err = run_cli("report", "--case", "OP-CLI-1", "--format", "docx", "-o", page)
    assert code == 2 and "report format 'docx'" in err
    code, _out, err = run_cli("report", "--case", "NOPE", "-o", page)
    assert code == 2 and "no case 'NOPE'" in err
