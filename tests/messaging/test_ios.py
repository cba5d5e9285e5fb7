"""WhatsApp for iOS ChatStorage.sqlite: sessions, members, messages, media, forwarding flags."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

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
)
from cairn.messaging.ios import IosChatStorage
from cairn.messaging.samples import ALICE, BOB, CAROL, EXAMPLE_SHA256, write_chatstorage

GROUP = "group:120363000000000001"
OWNER = "owner:phone-C"  # the phone's own acts, before the writer names its number
PHOTO = MediaRef(EXAMPLE_SHA256, "Media/WhatsApp Images/IMG-20240501-WA0001.jpg", 4, "image/jpeg")
SCHEMA = Issue(
    Severity.INFO,
    "schema",
    "table ZWAMESSAGE",
    "iOS Core Data schema; thumbnails are files on iOS, not read here",
)
NO_WAL = Issue(
    Severity.INFO,
    "recovery",
    "table ZWAMESSAGE",
    "no WAL to replay: live records only; free pages of the main file not carved",
)


def at(minute: int) -> datetime:
    return datetime(2024, 5, 1, 8, minute, tzinfo=UTC)


def account(phone: str, name: str | None = None) -> Account:
    return Account(phone, phone, f"{phone[1:]}@s.whatsapp.net", None, name)


def read(path: Path) -> list[Record]:
    return list(IosChatStorage.read(Artefact("ChatStorage.sqlite", path, "phone-C")))


def alter(path: Path, *statements: str) -> None:
    with closing(sqlite3.connect(path)) as connection:
        for statement in statements:
            connection.execute(statement)
        connection.commit()


def test_example(tmp_path: Path) -> None:
    assert read(IosChatStorage.example(tmp_path)) == [
        SCHEMA,
        Group(GROUP, "Example Group"),
        account(CAROL.phone, "Carol Example"),
        account(ALICE.phone),
        Group(GROUP, None, ALICE.phone, at(0)),  # ZWAGROUPINFO: creator and creation time
        account(ALICE.phone, "Alice Example"),
        GroupEvent(GROUP, GroupAction.ADMIN, ALICE.phone),
        account(BOB.phone, "Bob Example"),
        GroupEvent(GROUP, GroupAction.MEMBER, BOB.phone),
        account(CAROL.phone, "Carol Example"),
        GroupEvent(GROUP, GroupAction.MEMBER, CAROL.phone),
        replace(account(BOB.phone), push_name="Bob"),  # ZWAPROFILEPUSHNAME
        replace(account(CAROL.phone), push_name="Carol"),
        # The phone's number: the addressee of what it received, and the group's creator.
        Owner(  # with the push name its sent messages carry (ZWAMESSAGE.ZPUSHNAME)
            replace(account(ALICE.phone), push_name="Alice"),
            "addressee of 3 received messages (ZTOJID); creator of 1 group (ZCREATORJID) who"
            " never wrote to the phone; subject owner of 1 group (ZSUBJECTOWNERJID) who never"
            " wrote to the phone",
        ),
        # The notices (ZGROUPEVENTTYPE): the phone created the group, Carol joined by link.
        GroupEvent(GROUP, GroupAction.CREATED, OWNER, at(0), OWNER),
        GroupEvent(GROUP, GroupAction.JOINED_BY_LINK, CAROL.phone, at(1), CAROL.phone),
        Message(1, GROUP, True, None, True, at(0), "system", "3EB0A1", None, False),
        Message(2, GROUP, True, CAROL.phone, False, at(1), "system", "3EB0A2", None, False),
        Message(
            3, GROUP, True, BOB.phone, False, at(2), "image", "3EB0A3", None, False, None, PHOTO
        ),
        # ZFLAGS 0x180: forwarded. iOS keeps no forward score.
        Message(4, GROUP, True, None, True, at(3), "image", "3EB0A4", None, True, None, PHOTO),
        Message(5, CAROL.phone, False, CAROL.phone, False, at(4), "text", "3EB0A5", "hello", False),
        NO_WAL,
    ]


def test_flags_hashes_and_membership_changes(tmp_path: Path) -> None:
    path = IosChatStorage.example(tmp_path)
    alter(
        path,
        "UPDATE ZWAMESSAGE SET ZFLAGS = 256 WHERE Z_PK = 4",  # 0x100 alone is not forwarded
        "UPDATE ZWAMEDIAITEM SET ZVCARDNAME = 'Carol Example' WHERE Z_PK = 1",  # not a digest
        "INSERT INTO ZWAMEDIAITEM (Z_PK, ZVCARDNAME, ZVCARDSTRING)"
        " VALUES (9, 'Dan', 'BEGIN:VCARD')",
        "INSERT INTO ZWAMESSAGE (Z_PK, ZCHATSESSION, ZISFROMME, ZFROMJID, ZMESSAGEDATE,"
        " ZMESSAGETYPE, ZMEDIAITEM, ZSTANZAID) VALUES (6, 2, 0, '12025550103@s.whatsapp.net',"
        " 736243500, 4, 9, '3EB0A6')",
    )
    records = read(path)
    messages = {r.source_row: r for r in records if isinstance(r, Message)}
    assert messages[4].forwarded is False
    assert messages[3].media == MediaRef(None, PHOTO.path, 4, "image/jpeg")
    # A contact card's ZVCARDNAME is a name, not a digest: no issue, and no media.
    assert messages[6].kind == "contact"
    assert messages[6].media is None
    assert [r for r in records if isinstance(r, Issue) and r.severity is Severity.ERROR] == [
        Issue(
            Severity.ERROR,
            "bad-hash",
            "message 3",
            "media hash 'Carol Example' unreadable (Only base64 data is allowed); kept without it",
        ),
    ]
    assert messages[4].media == PHOTO  # its own media item, untouched


def test_members_no_longer_active_have_left(tmp_path: Path) -> None:
    path = IosChatStorage.example(tmp_path)
    alter(
        path,
        "UPDATE ZWAGROUPMEMBER SET ZISACTIVE = 0 WHERE ZMEMBERJID = '447700900002@s.whatsapp.net'",
    )
    events = [r for r in read(path) if isinstance(r, GroupEvent)]
    assert events[1] == GroupEvent(GROUP, GroupAction.LEFT, BOB.phone)


def test_missing_columns_cost_only_their_features(tmp_path: Path) -> None:
    path = IosChatStorage.example(tmp_path)
    alter(path, "DROP TABLE ZWAGROUPINFO", "ALTER TABLE ZWAMESSAGE DROP COLUMN ZFLAGS")
    records = read(path)
    assert [r for r in records if isinstance(r, Issue) and r.severity is Severity.WARNING] == [
        Issue(
            Severity.WARNING,
            "unavailable",
            "ZWAMESSAGE.ZFLAGS",
            "forwarded flags unavailable: the database has no ZWAMESSAGE.ZFLAGS",
        ),
        Issue(
            Severity.WARNING,
            "unavailable",
            "ZWAGROUPINFO",
            "group creators and creation times unavailable: the database has no ZWAGROUPINFO",
        ),
    ]
    assert {r.forwarded for r in records if isinstance(r, Message)} == {None}
    alter(path, "DROP TABLE ZWACHATSESSION")
    assert read(path) == [
        SCHEMA,
        Issue(
            Severity.ERROR,
            "unreadable",
            "ZWACHATSESSION",
            "not a readable WhatsApp database: it lacks ZWACHATSESSION",
        ),
    ]


def test_owner_from_group_creators_alone(tmp_path: Path) -> None:
    """Without ZTOJID, a creator who never wrote to the phone is its owner (circumstantial);
    a creator who did write is not."""
    path = IosChatStorage.example(tmp_path)
    alter(path, "UPDATE ZWAMESSAGE SET ZTOJID = NULL")
    owners = [r for r in read(path) if isinstance(r, Owner)]
    assert owners == [
        Owner(
            replace(account(ALICE.phone), push_name="Alice"),
            "creator of 1 group (ZCREATORJID) who never wrote to the phone; subject owner of 1"
            " group (ZSUBJECTOWNERJID) who never wrote to the phone",
        )
    ]
    alter(path, f"UPDATE ZWAGROUPINFO SET ZCREATORJID = '{BOB.phone[1:]}@s.whatsapp.net'")
    alter(path, "UPDATE ZWAGROUPINFO SET ZSUBJECTOWNERJID = NULL")
    assert [r for r in read(path) if isinstance(r, Owner)] == []


def test_conflicting_addressees_are_named(tmp_path: Path) -> None:
    path = IosChatStorage.example(tmp_path)
    alter(
        path,
        f"UPDATE ZWAMESSAGE SET ZTOJID = '{CAROL.phone[1:]}@s.whatsapp.net' WHERE Z_PK = 5",
    )
    (owner,) = [r for r in read(path) if isinstance(r, Owner)]
    assert owner.account.key == ALICE.phone
    assert owner.source.endswith(
        f"; but also {CAROL.phone}: addressee of 1 received message (ZTOJID)"
    )


def test_locations_are_places_and_replies_are_not_media(tmp_path: Path) -> None:
    """ZWAMEDIAITEM holds a location's place, and a quoted reply's excerpt (no file)."""
    from cairn.messaging.base import Place
    from cairn.messaging.samples import GARDENS, located_device

    path = write_chatstorage(tmp_path / "ChatStorage.sqlite", located_device())
    location, reply = [r for r in read(path) if isinstance(r, Message)][-2:]
    assert location.place == Place(*GARDENS)
    assert (location.kind, location.sender, location.media) == ("location", CAROL.phone, None)
    assert (reply.kind, reply.text, reply.media, reply.place) == ("text", "there?", None, None)
    # An unknown message type is kept, named "unknown".
    alter(path, "UPDATE ZWAMESSAGE SET ZMESSAGETYPE = 99 WHERE ZSTANZAID = '3EB0L2'")
    assert [r for r in read(path) if isinstance(r, Message)][-1].kind == "unknown"


def test_group_notices_are_membership_events(tmp_path: Path) -> None:
    """ZGROUPEVENTTYPE: who added, removed or admitted whom, and when (docs/formats.md)."""
    path = IosChatStorage.example(tmp_path)
    bob, carol = (f"{p.phone[1:]}@s.whatsapp.net" for p in (BOB, CAROL))
    alter(
        path,
        # Bob added Carol (ZTEXT: who did it), the phone removed Bob, Carol left.
        f"INSERT INTO ZWAMESSAGE (Z_PK, ZCHATSESSION, ZISFROMME, ZGROUPMEMBER, ZMESSAGEDATE,"
        f" ZMESSAGETYPE, ZGROUPEVENTTYPE, ZTEXT) VALUES (10, 1, 0, 3, {at(10).timestamp()}"
        f" - 978307200, 6, 2, '{bob}'), (11, 1, 1, 2, {at(11).timestamp()} - 978307200, 6, 7,"
        f" NULL), (12, 1, 0, 3, {at(12).timestamp()} - 978307200, 6, 4, NULL),"
        # Bob added two at once (50); the group's icon changed (3: a notice, no event).
        f" (13, 1, 0, NULL, {at(13).timestamp()} - 978307200, 6, 50, '{bob};{carol},{bob}'),"
        f" (14, 1, 0, 2, {at(14).timestamp()} - 978307200, 6, 3, NULL)",
    )
    records = read(path)
    events = [r for r in records if isinstance(r, GroupEvent) and r.at is not None][2:]
    assert events == [
        GroupEvent(GROUP, GroupAction.ADDED, CAROL.phone, at(10), BOB.phone),
        GroupEvent(GROUP, GroupAction.REMOVED, BOB.phone, at(11), OWNER),
        GroupEvent(GROUP, GroupAction.LEFT, CAROL.phone, at(12), CAROL.phone),
        GroupEvent(GROUP, GroupAction.ADDED, CAROL.phone, at(13), BOB.phone),
        GroupEvent(GROUP, GroupAction.ADDED, BOB.phone, at(13), BOB.phone),
    ]
    assert [m.kind for m in records if isinstance(m, Message) and m.source_row >= 10] == [
        "system"
    ] * 5


def test_push_names_from_messages(tmp_path: Path) -> None:
    """Without ZWAPROFILEPUSHNAME, a sender's push name is the one their messages carry."""
    path = IosChatStorage.example(tmp_path)
    alter(path, "DELETE FROM ZWAPROFILEPUSHNAME", "UPDATE ZWAMESSAGE SET ZPUSHNAME = 'Bobby'"
          " WHERE Z_PK = 3")  # fmt: skip
    named = [r for r in read(path) if isinstance(r, Account) and r.push_name]
    assert named == [replace(account(CAROL.phone), push_name="Carol"),
                     replace(account(BOB.phone), push_name="Bobby")]  # fmt: skip
