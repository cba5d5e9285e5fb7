"""Match filters between two instances: a case matched through a partner's filter triages as
the set itself would, names the owner, and asks for details; forged filters are refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from cairn.hashing.digests import digest_bytes
from cairn.hashing.pdq import pdq_from_image
from cairn.hashsets.share_file import ShareFileError, ShareWriter
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.export import write_csv
from cairn.services.hashsets import import_hashset, list_hashsets
from cairn.services.ingest import ingest
from cairn.services.matching import match_case
from cairn.services.sharing.bundles import import_share
from cairn.services.sharing.filters import export_filter, list_requests
from cairn.services.sharing.trust import instance_key

from .conftest import set_file


def _photo(seed: int, size: tuple[int, int] = (640, 480)) -> bytes:
    return jpeg_bytes(synthetic_image(seed, 640, 480).resize(size), quality=85)


def _triage(ctx: Context) -> dict[str, tuple[str, str]]:
    out = io.StringIO()
    with ctx.db.session() as session:
        write_csv(session, 1, out)
    lines = out.getvalue().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    return {row["path"]: (row["triage"], row["hashset"]) for row in rows}


def test_a_case_matched_through_a_filter(
    partner: Context, trusted: Context, tmp_path: Path
) -> None:
    device = tmp_path / "device"
    device.mkdir()
    (device / "a.jpg").write_bytes(_photo(1))
    (device / "b-small.jpg").write_bytes(_photo(2, (320, 240)))
    (device / "other.jpg").write_bytes(_photo(3))
    with Image.open(io.BytesIO(_photo(2))) as image:
        b_pdq = pdq_from_image(image).hex
    a_sha = digest_bytes(_photo(1)).sha256
    rows = [f"{a_sha},,vics:1,Bridge", f",{b_pdq},vics:1,"]
    import_hashset(partner, set_file(tmp_path, "victims.csv", rows), "victims")
    out = tmp_path / "victims.filter"
    summary = export_filter(partner, "victims", out)
    assert (summary.kind, summary.entries) == ("filter", 2)
    assert summary.stated_fpr is not None and summary.stated_fpr <= 1e-6
    data = out.read_bytes()
    for value in (a_sha, b_pdq):  # neither hash is in the file, in any form
        assert bytes.fromhex(value) not in data and value.encode() not in data

    imported = import_share(trusted, out, "nl-victims")
    assert (imported.kind, imported.owner) == ("filter", "NL")
    (info,) = list_hashsets(trusted)
    assert (info.format, info.owner) == ("filter", "NL")
    create_case(trusted, "C-1")
    ingest(trusted, "C-1", device, workers=0)
    match_case(trusted, "C-1")
    rows_by_path = _triage(trusted)
    ask = "nl-victims (NL): ask the owner"
    assert rows_by_path["a.jpg"] == ("known", ask)
    assert rows_by_path["b-small.jpg"] == ("near-known", ask)
    assert rows_by_path["other.jpg"] == ("new", "")
    requests = list_requests(trusted)
    assert sorted((r.case, r.method, r.owner) for r in requests) == [
        ("C-1", "pdq", "NL"),
        ("C-1", "sha256", "NL"),
    ]
    assert requests[0].message == "in the set of nl-victims (NL): ask the owner"
    match_case(trusted, "C-1")  # idempotent: no second request
    assert len(list_requests(trusted)) == 2


def test_forged_filters_are_refused(partner: Context, trusted: Context, tmp_path: Path) -> None:
    good = tmp_path / "good.filter"
    export_filter(partner, "national", good)
    from cairn.hashsets.share_file import open_share_file

    manifest = open_share_file(good).manifest
    body = good.read_bytes()[
        len(b"CAIRN-SHARE/1\n") : len(b"CAIRN-SHARE/1\n") + manifest["body_bytes"]
    ]
    keep = {k: v for k, v in manifest.items() if k not in ("body_bytes", "body_sha256", "signer")}
    forged = {
        "bigger": {**keep, "filter": {**manifest["filter"], "digest_bits": 1 << 40}},
        "no parameters": {k: v for k, v in keep.items() if k != "filter"},
    }
    for n, (what, fields) in enumerate(forged.items()):
        path = tmp_path / f"forged{n}.filter"
        writer = ShareWriter(path)
        writer.write(body)
        writer.finish(fields, instance_key(partner))
        with pytest.raises(ShareFileError, match=r"declared size|parameters"):
            import_share(trusted, path)
        assert list_hashsets(trusted, include_removed=True) == [], what
    assert not list((trusted.workspace.root / "filters").glob("*.share"))
