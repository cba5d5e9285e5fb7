"""`cairn share` end to end between two workspaces: keys, trust, export, import, refusals."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli


def test_two_workspaces_exchange_a_bundle_and_a_filter(cli: Cli, tmp_path: Path) -> None:
    nl, be = tmp_path / "nl", tmp_path / "be"
    sets = tmp_path / "national.csv"
    sets.write_text("sha256,category,series\n" + f"{1:064x},vics:1,Bridge\n{2:064x},vics:2,\n")
    assert cli(nl, "hashset", "import", sets, "--name", "national")[0] == 0
    assert cli(nl, "share", "key", "export", "-o", tmp_path / "nl.key")[0] == 0
    code, out, err = cli(be, "share", "trust", "NL", tmp_path / "nl.key")
    assert code == 0, err

    bundle, filt = tmp_path / "national.share", tmp_path / "national.filter"
    code, out, err = cli(nl, "share", "export", "--hashset", "national", "-o", bundle, "--json")
    assert code == 0, err
    assert json.loads(out)["entries"] == 2
    code, out, err = cli(nl, "share", "export", "--hashset", "national", "--filter", "-o", filt)
    assert code == 0 and "stated FPR" in out, err

    tampered = tmp_path / "tampered.share"
    data = bytearray(bundle.read_bytes())
    data[20] ^= 1
    tampered.write_bytes(bytes(data))
    code, _, err = cli(be, "share", "import", tampered)
    assert code == 1 and "signed hash" in err

    code, out, err = cli(be, "share", "import", bundle, "--json")
    assert code == 0, err
    assert (json.loads(out)["owner"], json.loads(out)["entries"]) == ("NL", 2)
    code, _, err = cli(be, "share", "import", bundle)
    assert code == 1 and "replay" in err
    code, out, err = cli(be, "share", "import", filt, "--name", "nl-filter", "--json")
    assert code == 0, err
    code, out, _ = cli(be, "hashset", "list", "--json")
    assert [(h["name"], h["format"], h["owner"]) for h in json.loads(out)] == [
        ("national", "share-bundle", "NL"),
        ("nl-filter", "filter", "NL"),
    ]
    assert cli(be, "share", "trust", "--revoke", "NL")[0] == 0
    code, _, err = cli(be, "share", "import", bundle, "--name", "again")
    assert code == 1 and "revoked" in err
    code, out, _ = cli(be, "share", "trust", "--list", "--json")
    assert [(t["name"], t["revoked_at"] is None) for t in json.loads(out)] == [("NL", False)]
