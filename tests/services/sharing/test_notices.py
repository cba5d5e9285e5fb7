"""A person notice between two instances: exported, imported, hit in a messaging import, and
the hit reported back to its owner with nothing of the case."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.hashsets.share_file import ShareFileError
from cairn.messaging.samples import CAROL, example_device, write_msgstore
from cairn.services.alerts import add_alert, list_alerts, list_hits
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.messaging.importing import import_path
from cairn.services.sharing.bundles import import_share
from cairn.services.sharing.notices import export_notice_hits, export_notices
from cairn.services.sharing.trust import export_public_key, trust


def test_a_notice_travels_and_its_hit_comes_back(
    partner: Context, trusted: Context, tmp_path: Path
) -> None:
    notice = add_alert(partner, "phone", CAROL.phone, note="wanted: contact NL-NP", notice=True)
    add_alert(partner, "phone", "+447700900002")  # an alert, not a notice: stays home
    notices = tmp_path / "nl.notices"
    assert export_notices(partner, notices).entries == 1
    assert import_share(trusted, notices).entries == 1
    (imported,) = list_alerts(trusted)
    assert (imported.kind, imported.value, imported.origin, imported.notice) == (
        "phone",
        CAROL.phone,
        "NL",
        True,
    )
    with pytest.raises(ShareFileError, match="replay"):
        import_share(trusted, notices)

    create_case(trusted, "BE-1")
    store = write_msgstore(tmp_path / "phone" / "msgstore.db", example_device())
    import_path(trusted, store, "BE-1", "phone")
    hits = tmp_path / "be-hits.share"
    assert export_notice_hits(trusted, "NL", hits).entries == 1
    assert b"BE-1" not in hits.read_bytes()  # no case, no item

    key = tmp_path / "be.key"
    export_public_key(trusted, key)
    trust(partner, "BE", key)
    import_share(partner, hits)
    (hit,) = list_hits(partner)
    assert (hit.alert, hit.remote, hit.case, hit.item, hit.source) == (
        notice.id,
        "BE",
        None,
        None,
        "messaging",
    )
