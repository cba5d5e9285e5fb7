"""Reading the conversations: each phone's copy, filtered, deleted-but-recovered marked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cairn.core.errors import NotFoundError, UsageError
from cairn.messaging.samples import CAROL, SampleMessage, example_device, write_msgstore
from cairn.messaging.scenario import PEOPLE
from cairn.services.messaging.conversation import conversation

if TYPE_CHECKING:
    from conftest import Harbour  # tests/services/messaging/conftest.py

ALICE, BOB, CAROL_H, DAN, ERIN, FRANK = (p.phone for p in PEOPLE)
CAROL_PHONE = CAROL.phone
RunCli = Callable[..., tuple[int, str, str]]  # the run_cli fixture of tests/conftest.py


def _lines(views: list) -> list[tuple[str, str | None, str, str, str | None, bool]]:
    return [(v.device, v.at, v.sender, v.kind, v.text or v.media_sha256, v.deleted) for v in views]


def test_a_group_as_each_phone_holds_it(harbour: Harbour) -> None:
    sha = harbour.sha
    views = conversation(harbour.ctx, harbour.case, group="night OWLS")
    assert {v.chat_name for v in views} == {"Night Owls"}
    phone_a = [line for line in _lines(views) if line[0] == "phone-A"]
    assert phone_a == [
        ("phone-A", "2024-04-30T07:00:00Z", ALICE, "system", "created", False),
        ("phone-A", "2024-05-01T07:00:00Z", ERIN, "system", "joined by link", False),
        ("phone-A", "2024-05-01T08:15:00Z", CAROL_H, "image", sha["x"], False),
        ("phone-A", "2024-05-01T08:20:00Z", ALICE, "image", sha["p"], False),
        ("phone-A", "2024-05-01T08:34:20Z", ERIN, "image", sha["z"], False),
        ("phone-A", "2024-05-01T08:40:00Z", ERIN, "image", sha["w"], False),
        # D was deleted from phone-A; its WAL still held it.
        ("phone-A", "2024-05-01T08:45:00Z", ERIN, "image", sha["d"], True),
        ("phone-A", "2024-05-01T08:50:00Z", ALICE, "text", "see you", False),
    ]
    deleted = [v for v in views if v.deleted]
    assert [(v.device, v.recovered) for v in deleted] == [("phone-A", "WAL commit 2 of 3")]
    # phone-C holds the same chat on its own clock, 30 s slow.
    assert [line[1] for line in _lines(views) if line[0] == "phone-C"][-1] == (
        "2024-05-01T08:49:30Z"
    )


def test_a_person_and_around_an_item(harbour: Harbour) -> None:
    mine = conversation(harbour.ctx, harbour.case, person="+44 7700 900005")
    assert {v.sender for v in mine} == {ERIN}
    assert len(mine) == 8  # her join, Z, W and D, on phone-A and phone-C
    # The phone's owner: their own ("from me") messages are theirs.
    bob = conversation(harbour.ctx, harbour.case, person=BOB)
    assert {(v.device, v.from_me) for v in bob if v.sender == BOB} == {
        ("phone-A", False),
        ("phone-B", True),
        ("phone-C", False),
    }
    # Around Erin's first posting of Z (phone-C's copy, the earliest stamp): its chat whole.
    near = conversation(
        harbour.ctx, harbour.case, person=ERIN, around=harbour.sha["z"].upper(), context=1
    )
    assert [(v.device, v.sender, v.media_sha256) for v in near] == [
        ("phone-C", ALICE, harbour.sha["p"]),
        ("phone-C", ERIN, harbour.sha["z"]),
        ("phone-C", ERIN, harbour.sha["w"]),
    ]
    by_id = conversation(harbour.ctx, harbour.case, around=str(near[1].id), context=0)
    assert by_id == [near[1]]


def test_a_one_to_one_chat_by_the_other_party(harbour: Harbour) -> None:
    with pytest.raises(NotFoundError, match="no chat '\\+447700900099' in the case"):
        conversation(harbour.ctx, harbour.case, chat="+447700900099")
    group = conversation(harbour.ctx, harbour.case, chat="group:120363000000000014")
    assert {(v.device, v.chat_name) for v in group} == {("phone-B", "Quiet Room")}


@pytest.mark.parametrize(
    ("filters", "error", "message"),
    [
        ({"chat": "x", "group": "y"}, UsageError, "give at most one of"),
        ({"group": "No Such Group"}, NotFoundError, "no group named 'No Such Group'"),
        ({"person": "+1 2"}, UsageError, "is not an international phone number"),
        ({"person": "lid:0"}, NotFoundError, "no person 'lid:0'"),
        ({"around": "not-an-item"}, UsageError, "give a message id or a media SHA-256"),
        ({"around": "f" * 64}, NotFoundError, "no message"),
        ({"around": "9" * 30}, NotFoundError, "no message"),
        ({"around": "1", "context": -1}, UsageError, "0 or more"),
    ],
)
def test_bad_filters(harbour: Harbour, filters: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        conversation(harbour.ctx, harbour.case, **filters)


def test_cli_messages(tmp_path: Path, run_cli: RunCli) -> None:
    """`cairn messaging messages`: a table with deleted messages marked, and --json."""
    assert run_cli("case", "create", "C")[0] == 0
    device = example_device()
    gone = SampleMessage("3EB0B1", CAROL_PHONE, CAROL_PHONE, 1714550700000, text="deleted later")
    store = write_msgstore(
        tmp_path / "phone" / "msgstore.db", device, uncheckpointed=[gone, "3EB0B1"]
    )
    code, _out, err = run_cli("messaging", "import", store, "--case", "C", "--evidence", "p")
    assert code == 0, err
    code, out, err = run_cli("messaging", "messages", "--case", "C", "--chat", CAROL_PHONE)
    assert code == 0, err
    assert "deleted later" in out and "DELETED, recovered (WAL commit 1 of 2)" in out
    code, out, _ = run_cli("messaging", "messages", "--case", "C", "--chat", CAROL_PHONE, "--json")
    rows = json.loads(out)
    assert [(r["text"], r["sender"], r["deleted"]) for r in rows] == [
        ("hello", CAROL_PHONE, False),
        ("deleted later", CAROL_PHONE, True),
    ]
    code, _out, err = run_cli("messaging", "messages", "--case", "C", "--group", "nope")
    assert code == 2 and "no group named 'nope'" in err
