"""`cairn victim|person|clue|lead|crop`, `cairn clue countries` and `cairn inbox` end to end."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from cairn.core.types import Role
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.services import identity
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.ingest import ingest
from cairn.services.series import create_series, update_series

from ..conftest import RunCli


def test_records_from_the_command_line(workspace: Path, tmp_path: Path, run_cli: RunCli) -> None:
    photo = jpeg_bytes(synthetic_image(601, 160, 120))
    (tmp_path / "device").mkdir()
    (tmp_path / "device" / "photo.jpg").write_bytes(photo)
    ctx = Context.open(workspace)
    try:
        agency = identity.create_agency(ctx, "NL-NP", "Agency NL", "NL").id
        identity.create_user(ctx, "vid", "NL-NP", Role.VICTIM_ID, "benign test password")
        specialist = identity.authenticate(ctx, "vid", "benign test password", "test")
        assert specialist is not None
        create_case(ctx, "C-1", agency_id=agency)
        ingest(ctx, "C-1", tmp_path / "device", workers=0)
        series = create_series(ctx, specialist, "tulip").id
    finally:
        ctx.close()
    code, out, _ = run_cli("export", "hashes", "--case", "C-1")
    sha256 = out.splitlines()[1].split(",")[9]

    assert run_cli("victim", "add", "--series", "tulip", "--age-band", "3-5")[0] == 0
    code, out, err = run_cli("victim", "update", "1", "--status", "identified")
    assert code == 0, err
    code, _, err = run_cli("victim", "update", "1", "--status", "unidentified")
    assert (code, "needs a --reason" in err) == (2, True)
    code, out, _ = run_cli("victim", "list", "--series", "tulip", "--json")
    assert [(v["age_band"], v["status"], len(v["history"])) for v in json.loads(out)] == [
        ("3-5", "identified", 2)
    ]
    code, out, _ = run_cli("victim", "show", "1")
    assert code == 0 and "history" in out and "identified" in out

    code, out, err = run_cli(
        "clue",
        "add",
        "--series",
        "tulip",
        "--kind",
        "object",
        "--description",
        "mug",
        "--sha256",
        sha256,
        "--region",
        "10,10,40,30",
        "--supports",
        "NL:0.8",
        "--eliminates",
        "DE",
    )
    assert code == 0, err
    code, _, err = run_cli(
        "clue",
        "add",
        "--series",
        "tulip",
        "--kind",
        "object",
        "--description",
        "mug",
        "--sha256",
        "0" * 64,
    )
    assert (code, f"no media {'0' * 64} that you may see" in err) == (2, True)
    code, out, _ = run_cli("clue", "countries", "--series", "tulip", "--json")
    assert [(r["country"], r["score"]) for r in json.loads(out)] == [("NL", 0.8), ("DE", 0.0)]

    assert (
        run_cli(
            "person", "add", "--series", "tulip", "--role", "producer", "--phone", "+31 6 12345678"
        )[0]
        == 0
    )
    code, out, _ = run_cli("person", "list", "--series", str(series), "--json")
    assert json.loads(out)[0]["phones"] == ["+31612345678"]
    assert run_cli("lead", "add", "--series", "tulip", "--country", "be")[0] == 0
    code, out, _ = run_cli("lead", "list", "--series", "tulip", "--json")
    assert [(x["country"], x["outcome"]) for x in json.loads(out)] == [("BE", "pending")]

    (tmp_path / "item.jpg").write_bytes(photo)
    code, out, err = run_cli("crop", "make", "--clue", "1", tmp_path / "item.jpg")
    assert code == 0, err
    assert run_cli("crop", "confirm", "1")[0] == 0
    assert run_cli("crop", "publish", "1", "-o", tmp_path / "pkg.zip")[0] == 0
    with zipfile.ZipFile(tmp_path / "pkg.zip") as package:
        assert sorted(package.namelist()) == ["manifest.json", "object.jpg"]
    assert run_cli("crop", "tip", "1", "--text", "a shop in Ghent", "--supports", "BE")[0] == 0
    code, out, _ = run_cli("crop", "show", "1", "--json")
    assert [t["text"] for t in json.loads(out)["tips"]] == ["a shop in Ghent"]
    code, _, err = run_cli(
        "export", "lead", "--series", "tulip", "--country", "BE", "-o", tmp_path / "lead.zip"
    )
    assert (code, "1 object crops" in err) == (0, True)
    with zipfile.ZipFile(tmp_path / "lead.zip") as package:
        assert "objects/object-1.jpg" in package.namelist()
    code, _, err = run_cli("export", "geojson", "--series", "tulip", "-o", tmp_path / "s.json")
    assert (code, "wrote 1 features" in err) == (0, True)  # the clue; the photo has no GPS

    ctx = Context.open(workspace)
    try:  # the specialist records the outcome: the operator, who worked on it, is told
        as_specialist = Context(ctx.workspace, ctx.db, identity.actor_for(specialist, "test"))
        update_series(as_specialist, specialist, series, victim_identified=True)
    finally:
        ctx.close()
    code, out, _ = run_cli("inbox", "--json")
    assert [(e["series"], e["outcome"]) for e in json.loads(out)] == [("tulip", "identified")]
