"""`cairn alert` end to end: an alert added, a case ingested (which matches because an alert
exists), the hit listed with its case, item and time."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.conftest import RunCli

from cairn.media.synthetic import jpeg_bytes, synthetic_image


def test_an_alert_hits_at_ingest(run_cli: RunCli, tmp_path: Path) -> None:
    device = tmp_path / "device"
    device.mkdir()
    photo = jpeg_bytes(synthetic_image(7, 320, 240))
    (device / "a.jpg").write_bytes(photo)
    sha = hashlib.sha256(photo).hexdigest()
    code, out, err = run_cli("alert", "add", "--sha256", sha, "--note", "OP-1")
    assert code == 0 and "alert 1" in out, err
    assert run_cli("alert", "add", "--phone", "+44", "--sha256", sha)[0] == 2
    assert run_cli("case", "create", "C-1")[0] == 0
    code, _, err = run_cli("ingest", "--case", "C-1", device)
    assert code == 0, err
    code, out, _ = run_cli("alert", "hits", "--json")
    (hit,) = json.loads(out)
    assert (hit["case"], hit["item"], hit["kind"], hit["source"]) == ("C-1", sha, "sha256", "match")
    assert hit["at"]
