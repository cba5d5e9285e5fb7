"""Parts of the report model that a small case does not reach: the audit excerpt's cut."""

from __future__ import annotations

import pytest

from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.reports import model
from cairn.store import audit


def test_audit_excerpt_counts_reads_and_lists_the_latest_custody_events(
    db_ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_case(db_ctx, "OP-AUDIT-1")
    create_case(db_ctx, "OP-OTHER")
    with db_ctx.db.session() as session:
        for n in range(3):
            audit.record(session, db_ctx.actor, "case.read", "OP-AUDIT-1")
            audit.record(session, db_ctx.actor, "export.hashes", "OP-AUDIT-1", n=n)
        audit.record(session, db_ctx.actor, "export.hashes", "OP-OTHER", n=9)
    monkeypatch.setattr(model, "AUDIT_EXCERPT_EVENTS", 2)
    with db_ctx.db.session() as session:
        excerpt = model._audit(session, "OP-AUDIT-1")
    assert excerpt.total == 7
    assert excerpt.by_action == (("case.create", 1), ("case.read", 3), ("export.hashes", 3))
    assert [(e.action, e.details) for e in excerpt.events] == [
        ("export.hashes", '{"n": 1}'),
        ("export.hashes", '{"n": 2}'),
    ]
    assert excerpt.omitted == 2  # case.create and the first export
    assert excerpt.events[0].id < excerpt.events[1].id
