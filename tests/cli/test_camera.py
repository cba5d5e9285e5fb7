"""`cairn camera` end to end: ingest with --prnu, fingerprint from a folder, match --json in the
contract's shape, links, listings, and refusals with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from cairn.camera.fingerprint import MIN_IMAGES
from cairn.camera.synthetic import SyntheticCamera, jpeg

if TYPE_CHECKING:
    from conftest import RunCli

PHONE = SyntheticCamera(seed=21, model=3, width=320, height=256)
OTHER = SyntheticCamera(seed=22, model=4, width=320, height=256)


def test_camera_commands(run_cli: RunCli, tmp_path: Path) -> None:
    refs, device = tmp_path / "DCIM", tmp_path / "device"
    refs.mkdir()
    device.mkdir()
    pattern = PHONE.pattern()
    for shot in range(MIN_IMAGES):
        (refs / f"IMG_{shot:04}.jpg").write_bytes(PHONE.photo(shot, pattern))
    (device / "mine.jpg").write_bytes(PHONE.photo(500, pattern))
    (device / "theirs.jpg").write_bytes(OTHER.photo(501))
    (device / "tiny.jpg").write_bytes(jpeg(Image.new("RGB", (90, 60), (120, 90, 60)), 90))
    assert run_cli("case", "create", "C-1")[0] == 0
    code, _, err = run_cli("ingest", "--case", "C-1", "--workers", "0", "--prnu", device)
    assert code == 0, err

    code, _, err = run_cli(
        "camera", "fingerprint", "--case", "C-1", "--name", "x", "--folder", device
    )
    assert code == 2
    assert "at least 20 needed" in err

    code, out, err = run_cli(
        "camera", "fingerprint", "--case", "C-1", "--name", "phone", "--folder", refs, "--json"
    )
    assert code == 0, err
    assert json.loads(out)["references"] == MIN_IMAGES

    code, out, err = run_cli("camera", "match", "--case", "C-1", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [sorted(row) for row in rows] == [
        ["camera", "matched", "pce", "sha256", "transform"]
    ] * 2
    assert [(row["camera"], row["transform"], row["matched"]) for row in rows] == [
        ("phone", "scale=1,rot=0", True),
        ("phone", rows[1]["transform"], False),
    ]
    assert rows[0]["pce"] > 60 > rows[1]["pce"]

    code, out, _ = run_cli("camera", "match", "--case", "C-1")
    assert "too small: 90x60" in out and "PCE > 60" in out
    code, out, _ = run_cli("camera", "list", "--case", "C-1", "--json")
    assert [(c["name"], c["width"], c["height"]) for c in json.loads(out)] == [("phone", 320, 256)]
    code, out, _ = run_cli("camera", "signatures", "--case", "C-1", "--json")
    assert {s["origin"] for s in json.loads(out)} == {"re-saved"}  # Pillow wrote them all
    code, out, _ = run_cli("camera", "match", "--case", "C-1", "--camera", "nope")
    assert code == 2
