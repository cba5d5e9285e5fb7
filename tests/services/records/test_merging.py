"""A merged series' records follow its members into the series it was merged into."""

from __future__ import annotations

from cairn.services.records.common import list_records, show_record
from cairn.services.records.inbox import workers
from cairn.services.records.victims import VICTIMS, add_victim
from cairn.services.series import merge_series
from cairn.store.series_models import Series

from .conftest import Agencies


def test_records_follow_a_merge(agencies: Agencies) -> None:
    ctx, nl = agencies.as_("victim-id@NL-NP")
    victim = add_victim(agencies.ctx, None, "tulip", age_band="3-5")  # by the local operator
    merge_series(ctx, nl, agencies.series["iris"], agencies.series["tulip"], "same child")
    (moved,) = list_records(ctx, nl, VICTIMS, "iris")
    assert (moved.id, moved.series, moved.age_band) == (victim.id, "iris", "3-5")
    last = show_record(ctx, nl, VICTIMS, victim.id).history[-1]
    assert (last.action, last.reason) == ("move", "series 'tulip' merged into 'iris'")
    with ctx.db.session() as session:
        iris = session.get(Series, agencies.series["iris"])
        assert iris is not None
        assert agencies.ctx.actor.user in workers(session, iris)  # told of its outcome
