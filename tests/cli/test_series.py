"""`cairn series …` end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.media.synthetic import jpeg_bytes, synthetic_image

if TYPE_CHECKING:
    from conftest import RunCli


def test_series_lifecycle(run_cli: RunCli, tmp_path: Path) -> None:
    device = tmp_path / "phone"
    device.mkdir()
    for seed in (1, 2):
        (device / f"{seed}.jpg").write_bytes(jpeg_bytes(synthetic_image(seed, 96, 72)))
    assert run_cli("case", "create", "C-1")[0] == 0
    assert run_cli("ingest", "--case", "C-1", device)[0] == 0
    code, out, err = run_cli("series", "create", "bridge", "--case", "C-1", "--share")
    assert (code, out.strip()) == (0, "created series bridge (local, shared)"), err
    code, out, err = run_cli(
        "series", "add", "bridge", "phone:1.jpg", "phone:2.jpg", "--case", "C-1"
    )
    assert (code, out.strip()) == (0, "series bridge holds 2 items"), err
    code, out, _err = run_cli("series", "status", "bridge", "identified")
    assert out.strip() == "series bridge: identified"
    code, _out, err = run_cli("series", "status", "bridge", "unidentified")
    assert code == 2 and "give the reason" in err
    code, out, _err = run_cli("series", "show", "bridge", "--json")
    shown = json.loads(out)
    assert [h["action"] for h in shown["history"]] == ["create", "add", "status"]
    first, second = (m["sha256"] for m in shown["media"])
    assert run_cli("series", "split", "bridge", "arch", second)[0] == 0
    code, out, _err = run_cli("series", "list", "--json")
    assert [(s["name"], s["status"], s["media"]) for s in json.loads(out)] == [
        ("arch", "identified", 1),
        ("bridge", "identified", 1),
    ]
    assert run_cli("series", "merge", "bridge", "arch")[0] == 0
    code, out, _err = run_cli("series", "list", "--json")
    assert [(s["name"], s["media"]) for s in json.loads(out)] == [("bridge", 2)]
    code, out, _err = run_cli("series", "remove", "bridge", first, "--reason", "not the scene")
    assert out.strip() == "series bridge holds 1 items"
    code, out, _err = run_cli("series", "update", "bridge", "--private", "--contact", "desk 4")
    assert out.strip() == "series bridge: private"
    assert run_cli("series", "show", "nowhere")[0] == 2
