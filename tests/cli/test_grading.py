"""`cairn grade|grades|grading` end to end, and the exports that carry the grades."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.media.synthetic import jpeg_bytes, synthetic_image

if TYPE_CHECKING:
    from conftest import RunCli


def test_grade_then_list_agree_and_export(run_cli: RunCli, tmp_path: Path) -> None:
    device = tmp_path / "phone"
    device.mkdir()
    for name, seed in (("a.jpg", 1), ("b.jpg", 2)):
        (device / name).write_bytes(jpeg_bytes(synthetic_image(seed, 96, 72)))
    assert run_cli("case", "create", "C-1")[0] == 0
    assert run_cli("ingest", "--case", "C-1", device)[0] == 0
    code, out, err = run_cli("grade", "--case", "C-1", "--category", "vics:1", "phone:a.jpg")
    assert (code, out.strip()) == (0, "graded 1 items vics:1"), err
    code, _out, err = run_cli("grade", "--case", "C-1", "--category", "1", "phone:b.jpg")
    assert code == 2 and "scheme:code" in err
    code, _out, err = run_cli("grade", "--case", "C-1", "--category", "vics:1", "phone:zz.jpg")
    assert code == 2 and "no item" in err
    code, out, _err = run_cli("grades", "--case", "C-1", "--json")
    (vote,) = json.loads(out)
    assert set(vote) >= {"sha256", "category", "by", "at"} and vote["category"] == "vics:1"
    code, out, _err = run_cli("grading", "agreement", "--case", "C-1", "--json")
    assert (json.loads(out)["graded"], json.loads(out)["standing"]) == (1, 1)
    assert run_cli("export", "vics", "--case", "C-1", "-o", tmp_path / "case.json")[0] == 0
    exported = json.loads((tmp_path / "case.json").read_text())
    categories = {m["SHA1"].lower(): m["Category"] for m in exported["value"][0]["Media"]}
    assert sorted(categories.values(), key=str) == [1, None]
    out_file = tmp_path / "grades.json"
    assert run_cli("export", "hashset", "--grades", "C-1", "-o", out_file)[0] == 0
    (record,) = json.loads(out_file.read_text())["value"]
    assert record["AlternativeHashes"][0]["HashValue"].lower() == vote["sha256"]
    assert record["Category"] == 1
    assert run_cli("grade", "--case", "C-1", "--retract", "phone:a.jpg")[1].strip() == (
        "retracted 1 votes"
    )
