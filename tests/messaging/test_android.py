"""WhatsApp for Android msgstore.db: current and pre-2022 schemas, as the app versions vary."""

from __future__ import annotations

import base64
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cairn.messaging.android import AndroidMsgstore, legacy_example
from cairn.messaging.base import (
    Account,
    Artefact,
    Group,
    GroupAction,
    GroupEvent,
    Issue,
    MediaRef,
    Message,
    Owner,
    Record,
    Severity,
    Thumbnail,
)
from cairn.messaging.samples import (
    ALICE,
    BOB,
    CAROL,
    EXAMPLE_SHA256,
    SampleDevice,
    SampleMessage,
    SamplePerson,
    example_device,
    tiny_jpeg,
    write_msgstore,
)

GROUP = "group:120363000000000001"
PHOTO = "Media/WhatsApp Images/IMG-20240501-WA0001.jpg"
NO_WAL = Issue(
    Severity.INFO,
    "recovery",
    "table message",
    "no WAL to replay: live records only; free pages of the main file not carved",
)
OWN_NOTICE = (
    "the member named in 1 group notice of the phone's own acts (message_system_chat_participant)"
)
CURRENT = Issue(Severity.INFO, "schema", "table message", "current schema (2022 on)")


def at(minute: int) -> datetime:
    return datetime(2024, 5, 1, 8, minute, tzinfo=UTC)


def account(phone: str, lid: str | None = None) -> Account:
    return Account(phone, phone, f"{phone[1:]}@s.whatsapp.net", lid)


def read(path: Path, scope: str = "phone-A") -> list[Record]:
    return list(AndroidMsgstore.read(Artefact("msgstore.db", path, scope)))


def photo(width: int | None = 640, height: int | None = 480) -> MediaRef:
    return MediaRef(EXAMPLE_SHA256, PHOTO, 4, "image/jpeg", None, width, height)


def example_messages(photo_ref: MediaRef, score: int | None = 1) -> list[Message]:
    return [
        Message(1, GROUP, True, None, True, at(0), "system", "3EB0A1", "created", False),
        Message(
            2, GROUP, True, CAROL.phone, False, at(1), "system", "3EB0A2", "joined by link", False
        ),
        Message(
            3, GROUP, True, BOB.phone, False, at(2), "image", "3EB0A3", None, False, None, photo_ref
        ),
        Message(4, GROUP, True, None, True, at(3), "image", "3EB0A4", None, True, score, photo_ref),
        Message(5, CAROL.phone, False, CAROL.phone, False, at(4), "text", "3EB0A5", "hello", False),
    ]


def test_current_schema(tmp_path: Path) -> None:
    """Bob's group message is recorded by his @lid, resolved through jid_map to his number."""
    path = AndroidMsgstore.example(tmp_path)
    assert read(path) == [
        CURRENT,
        account(ALICE.phone),
        account(BOB.phone),
        account(BOB.phone, "190000000000002@lid"),  # the same person again, now with a lid
        account(CAROL.phone),
        Group(GROUP, "Example Group", None, at(0)),
        # The notice of the group's creation, done on the phone, names the phone's number.
        Owner(Account(ALICE.phone, ALICE.phone), OWN_NOTICE),
        GroupEvent(GROUP, GroupAction.SUPERADMIN, ALICE.phone),
        GroupEvent(GROUP, GroupAction.MEMBER, BOB.phone),
        GroupEvent(GROUP, GroupAction.MEMBER, CAROL.phone),
        # The phone's owner created the group; Carol joined by the invite link.
        GroupEvent(GROUP, GroupAction.CREATED, ALICE.phone, at(0), ALICE.phone),
        GroupEvent(GROUP, GroupAction.JOINED_BY_LINK, CAROL.phone, at(1), CAROL.phone),
        *example_messages(photo()),
        Thumbnail(EXAMPLE_SHA256, tiny_jpeg((90, 120, 150))),
        NO_WAL,
    ]


def test_legacy_schema(tmp_path: Path) -> None:
    path = legacy_example(tmp_path)
    records = read(path)
    thumbnail = Thumbnail(EXAMPLE_SHA256, tiny_jpeg((90, 120, 150)))
    legacy = example_messages(photo(None, None), score=None)
    legacy[0] = Message(1, GROUP, True, None, True, at(0), "system", "3EB0A1", None, False)
    legacy[1] = Message(2, GROUP, True, CAROL.phone, False, at(1), "system", "3EB0A2", None, False)
    assert records == [
        Issue(Severity.INFO, "schema", "table messages", "pre-2022 schema (messages)"),
        Issue(
            Severity.WARNING,
            "unavailable",
            "table messages",
            "group events unavailable: pre-2022 system messages are kept as messages but not "
            "decoded; @lid ids and forward scores did not exist yet",
        ),
        Group(GROUP, "Example Group", None, at(0)),
        account(CAROL.phone),
        account(BOB.phone),
        account(ALICE.phone),
        GroupEvent(GROUP, GroupAction.SUPERADMIN, ALICE.phone),
        GroupEvent(GROUP, GroupAction.MEMBER, BOB.phone),
        GroupEvent(GROUP, GroupAction.MEMBER, CAROL.phone),
        *legacy,
        thumbnail,
        thumbnail,  # one per message that kept it: the writer stores it once
        Issue(
            Severity.INFO,
            "recovery",
            "table messages",
            "no WAL to replay: live records only; free pages of the main file not carved",
        ),
    ]


def alter(path: Path, *statements: str) -> None:
    with closing(sqlite3.connect(path)) as connection:
        for statement in statements:
            connection.execute(statement)
        connection.commit()


def test_missing_tables_and_columns_cost_only_their_features(tmp_path: Path) -> None:
    """An app version without jid_map, forward data or thumbnails: the rest is still read."""
    path = AndroidMsgstore.example(tmp_path)
    alter(
        path,
        "DROP TABLE jid_map",
        "DROP TABLE message_forwarded",
        "DROP TABLE media_hash_thumbnail",
        "ALTER TABLE message DROP COLUMN origination_flags",
        "ALTER TABLE message_media DROP COLUMN media_caption",
    )
    records = read(path)
    issues = [r for r in records if isinstance(r, Issue)]
    assert issues == [
        CURRENT,
        Issue(
            Severity.WARNING,
            "unavailable",
            "message.origination_flags",
            "forwarded flags unavailable: the database has no message.origination_flags",
        ),
        Issue(
            Severity.WARNING,
            "unavailable",
            "jid_map",
            "@lid senders resolved to numbers unavailable: the database has no jid_map",
        ),
        Issue(
            Severity.WARNING,
            "unavailable",
            "message_media.media_caption",
            "media captions and sizes in pixels unavailable: the database has no "
            "message_media.media_caption",
        ),
        Issue(
            Severity.WARNING,
            "unavailable",
            "message_forwarded",
            "forward scores unavailable: the database has no message_forwarded",
        ),
        Issue(
            Severity.WARNING,
            "unavailable",
            "media_hash_thumbnail",
            "WhatsApp thumbnails unavailable: the database has no media_hash_thumbnail",
        ),
        NO_WAL,
        Issue(
            Severity.INFO,
            "unresolved-lid",
            "table jid",
            "1 @lid ids are not mapped to phone numbers (kept as lid accounts)",
        ),
    ]
    messages = [r for r in records if isinstance(r, Message)]
    # Without jid_map Bob is only his privacy id; without flags nothing says "forwarded".
    assert [(m.sender, m.forwarded, m.forward_score) for m in messages] == [
        (None, None, None),
        (CAROL.phone, None, None),
        ("lid:190000000000002", None, None),
        (None, None, None),
        (CAROL.phone, None, None),
    ]
    assert messages[2].media == photo(None, None)
    assert not any(isinstance(r, Thumbnail) for r in records)


def test_without_the_core_tables_nothing_is_guessed(tmp_path: Path) -> None:
    path = AndroidMsgstore.example(tmp_path)
    alter(path, "DROP TABLE jid")
    assert read(path) == [
        Issue(
            Severity.ERROR, "unreadable", "jid", "not a readable WhatsApp database: it lacks jid"
        ),
    ]
    empty = tmp_path / "other.db"
    alter(empty, "CREATE TABLE notes (x)")
    assert read(empty) == [
        Issue(
            Severity.ERROR,
            "unreadable",
            "tables",
            "neither a message nor a messages table: not a msgstore.db",
        ),
    ]


def test_unreadable_hashes_are_reported_and_the_media_kept(tmp_path: Path) -> None:
    path = AndroidMsgstore.example(tmp_path)
    short = base64.b64encode(bytes(16)).decode()
    alter(
        path,
        "UPDATE message_media SET file_hash = 'not base64!' WHERE message_row_id = 3",
        f"UPDATE message_media SET file_hash = '{short}' WHERE message_row_id = 4",
        "UPDATE media_hash_thumbnail SET media_hash = '???'",
    )
    records = read(path)
    assert [r for r in records if isinstance(r, Issue) and r.severity is Severity.ERROR] == [
        Issue(
            Severity.ERROR,
            "bad-hash",
            "message 3",
            "media hash 'not base64!' unreadable (Only base64 data is allowed); kept without it",
        ),
        Issue(
            Severity.ERROR,
            "bad-hash",
            "message 4",
            f"media hash {short!r} unreadable (16 bytes, not the 32 of a SHA-256); kept without it",
        ),
        Issue(
            Severity.ERROR,
            "bad-hash",
            "table media_hash_thumbnail",
            "thumbnail key '???' unreadable (Only base64 data is allowed)",
        ),
    ]
    media = [r.media for r in records if isinstance(r, Message) and r.media]
    assert media == [MediaRef(None, PHOTO, 4, "image/jpeg", None, 640, 480)] * 2


def test_group_events_name_who_acted_on_whom(tmp_path: Path) -> None:
    device = example_device()
    gid = device.groups[0].gid
    path = write_msgstore(
        tmp_path / "msgstore.db",
        SampleDevice(
            device.owner,
            device.contacts,
            device.groups,
            (
                SampleMessage(
                    "3EB0C1",
                    gid,
                    ALICE.phone,
                    1714551000000,
                    7,
                    action=4,
                    participants=(CAROL.phone,),
                ),
                SampleMessage(
                    "3EB0C2", gid, None, 1714551060000, 7, action=7, participants=(BOB.phone,)
                ),
                SampleMessage("3EB0C3", gid, CAROL.phone, 1714551120000, 7, action=5),
                SampleMessage("3EB0C4", gid, None, 1714551180000, 7, action=21),
                SampleMessage("3EB0C5", gid, None, 1714551240000, 7, action=99),
            ),
        ),
    )
    records = read(path)
    owner = ALICE.phone  # stated by the notice of the group's creation, done on the phone
    assert [r for r in records if isinstance(r, GroupEvent) and r.at] == [
        GroupEvent(GROUP, GroupAction.ADDED, CAROL.phone, at(10), ALICE.phone),
        GroupEvent(GROUP, GroupAction.REMOVED, BOB.phone, at(11), owner),
        GroupEvent(GROUP, GroupAction.LEFT, CAROL.phone, at(12), CAROL.phone),
        GroupEvent(GROUP, GroupAction.LINK_RESET, owner, at(13), owner),
    ]
    # An action code Cairn does not know stays a system message, with its code.
    assert [r.text for r in records if isinstance(r, Message)][-1] == "system action 99"


def test_deleted_and_uncheckpointed_messages_from_the_wal(tmp_path: Path) -> None:
    device = example_device()
    later = [
        SampleMessage("3EB0B1", CAROL.phone, CAROL.phone, 1714550700000, text="deleted later"),
        SampleMessage("3EB0B2", CAROL.phone, None, 1714550760000, text="not checkpointed"),
    ]
    path = write_msgstore(
        tmp_path / "msgstore.db", device, uncheckpointed=[*later, "3EB0B1", "3EB0A5"]
    )
    records = read(path)
    messages = [(m.source_row, m.text, m.recovered) for m in records if isinstance(m, Message)]
    assert messages == [
        (1, "created", None),
        (2, "joined by link", None),
        (3, None, None),
        (4, None, None),
        (7, "not checkpointed", None),
        # Each from the newest state that still held it: 5 until the 4th commit deleted it,
        # 6 (added by the 1st) until the 3rd did.
        (5, "hello", "WAL commit 3 of 4"),
        (6, "deleted later", "WAL commit 2 of 4"),
    ]
    assert records[-1] == Issue(
        Severity.INFO,
        "recovery",
        "table message",
        "2 deleted records recovered from the WAL (4 commits); free pages of the main file "
        "not carved",
    )


def test_unmapped_lids_stay_lid_accounts(tmp_path: Path) -> None:
    stranger = SamplePerson("+447700900009", "Stranger", lid="190000000000009", lid_mapped=False)
    device = example_device()
    gid = device.groups[0].gid
    path = write_msgstore(
        tmp_path / "msgstore.db",
        SampleDevice(
            device.owner,
            (*device.contacts, stranger),
            device.groups,
            (SampleMessage("3EB0D1", gid, stranger.phone, 1714550400000, text="hi", via_lid=True),),
        ),
    )
    records = read(path)
    assert Account("lid:190000000000009", lid="190000000000009@lid") in records
    assert [r.sender for r in records if isinstance(r, Message)] == ["lid:190000000000009"]


@pytest.mark.parametrize("name", ["msgstore.db", "other.sqlite"])
def test_probe(tmp_path: Path, name: str) -> None:
    head = b"SQLite format 3\x00"
    assert AndroidMsgstore.probe(name, head, frozenset({"message", "chat", "jid"}))
    assert AndroidMsgstore.probe(name, head, frozenset({"messages", "chat_list"}))
    assert not AndroidMsgstore.probe(name, b"not sqlite", frozenset({"message", "chat", "jid"}))
    assert not AndroidMsgstore.probe(name, head, frozenset({"wa_contacts"}))


@pytest.mark.parametrize("legacy", [False, True])
def test_locations_are_places_and_replies_are_not_media(tmp_path: Path, legacy: bool) -> None:
    from cairn.messaging.base import Place
    from cairn.messaging.samples import GARDENS, located_device, write_legacy_msgstore

    path = tmp_path / "msgstore.db"
    (write_legacy_msgstore if legacy else write_msgstore)(path, located_device())
    location, reply = [r for r in read(path) if isinstance(r, Message)][-2:]
    # Before 2022 the place had no name column.
    assert location.place == Place(*GARDENS[:2], None if legacy else GARDENS[2])
    assert (location.kind, location.sender, location.media) == ("location", CAROL.phone, None)
    assert (reply.kind, reply.text, reply.media, reply.place) == ("text", "there?", None, None)
