"""Series statuses between instances: a partner's identified series, with no media, tells this
workspace which of its cases hold members (deconfliction); replays are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.hashsets.share_file import ShareFileError
from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.ingest import ingest
from cairn.services.series import add_media, create_series, set_status
from cairn.services.sharing.bundles import import_share
from cairn.services.sharing.series_status import export_series, list_partner_series


def test_a_partners_series_status_deconflicts_cases_here(
    partner: Context, trusted: Context, tmp_path: Path
) -> None:
    device = tmp_path / "device"
    device.mkdir()
    (device / "a.jpg").write_bytes(jpeg_bytes(synthetic_image(5, 320, 240)))
    create_case(partner, "NL-1")
    ingest(partner, "NL-1", device, workers=0)
    bridge = create_series(partner, None, "Bridge", shared=True, contact="NL-NP victim ID desk")
    create_series(partner, None, "Private")  # not shared: stays home
    add_media(partner, None, bridge.id, "NL-1", ["device:a.jpg"])
    set_status(partner, None, bridge.id, "identified")
    out = tmp_path / "series.share"
    assert export_series(partner, out).entries == 1
    assert b"a.jpg" not in out.read_bytes() and b"NL-1" not in out.read_bytes()

    create_case(trusted, "BE-7")
    ingest(trusted, "BE-7", device, workers=0)
    assert import_share(trusted, out).kind == "series"
    (status,) = list_partner_series(trusted)
    assert (status.owner, status.name, status.status, status.contact, status.media) == (
        "NL",
        "Bridge",
        "identified",
        "NL-NP victim ID desk",
        1,
    )
    assert status.in_cases == ["BE-7"]
    with pytest.raises(ShareFileError, match="replay"):
        import_share(trusted, out)
