"""VICS exports say which series a case's media are filed in and whether the victim or the
offender is identified there (series status and flags, victim and person records)."""

from __future__ import annotations

import io
import json

from cairn.services.export import export_vics
from cairn.services.records.common import update_record
from cairn.services.records.filed import Filed, filed_in_series
from cairn.services.records.persons import PERSONS, add_person
from cairn.services.series import add_media, set_status

from .conftest import Agencies


def _media(agencies: Agencies, case: str) -> dict[str, dict[str, object]]:
    out = io.StringIO()
    export_vics(agencies.ctx, case, out, "test")
    return {m["SHA1"]: m for m in json.loads(out.getvalue())["value"][0]["Media"]}


def test_vics_carries_the_series_and_their_identified_flags(agencies: Agencies) -> None:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    for name in ("tulip", "iris"):
        add_media(ctx, nl, agencies.series[name], "NL-1", [agencies.photo])
    with agencies.ctx.db.engine.connect() as connection:
        case_id = 1
        assert filed_in_series(connection, case_id) == {
            agencies.photo: Filed(("iris", "tulip"), None, None)
        }
    person = add_person(ctx, nl, "iris", role="producer")
    update_record(ctx, nl, PERSONS, person.id, {"status": "arrested"})
    set_status(ctx, nl, agencies.series["tulip"], "safeguarded")
    with agencies.ctx.db.engine.connect() as connection:
        assert filed_in_series(connection, case_id)[agencies.photo] == Filed(
            ("iris", "tulip"), True, True
        )
    (photo,) = [m for m in _media(agencies, "NL-1").values() if m.get("Series")]
    assert (photo["Series"], photo["VictimIdentified"], photo["OffenderIdentified"]) == (
        "iris,tulip",
        True,
        True,
    )
