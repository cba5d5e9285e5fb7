"""Telegram Desktop JSON exports: every message type read, who is who, and bad input."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    Place,
    Record,
    Severity,
)
from cairn.messaging.registry import HEAD_BYTES, detect
from cairn.messaging.samples import (
    ALICE,
    BOB,
    CAROL,
    GARDENS,
    SampleDevice,
    SampleMedia,
    SampleMessage,
    example_device,
    telegram_id,
    write_telegram_export,
)
from cairn.messaging.telegram import TelegramExport, html_problem

SCOPE = "phone-X"
PHOTO = b"benign photo bytes"
VOICE = b"benign voice bytes"
GROUP = f"tg-group:{telegram_id('120363000000000001')}"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read(path: Path, timezone: str | None = None) -> list[Record]:
    def attachment(name: str) -> MediaRef | None:
        target = path.parent / name
        if not target.is_file():
            return None
        data = target.read_bytes()
        return MediaRef(sha(data), name, len(data), "image/jpeg")

    return list(TelegramExport.read(Artefact(path.name, path, SCOPE, timezone, attachment)))


def messages(records: list[Record]) -> list[Message]:
    return [r for r in records if isinstance(r, Message)]


def issues(records: list[Record]) -> list[str]:
    return [str(r) for r in records if isinstance(r, Issue) and r.code != "schema"]


def every_kind_device() -> SampleDevice:
    """The example phone, with a message of every kind Telegram's exporter writes files for,
    a location, a contact card, a reply, members added, removed and leaving, a renaming."""
    device = example_device()
    gid = device.groups[0].gid
    photo = SampleMedia(sha(PHOTO), "IMG-1.jpg", len(PHOTO))
    voice = SampleMedia(sha(VOICE), "PTT-1.opus", len(VOICE), "audio/ogg")
    gone = SampleMedia("ab" * 32, "VID-1.mp4", 10, "video/mp4")
    more = (
        SampleMessage("T1", gid, BOB.phone, 1714551000000, 1, media=photo, forwarded=True),
        SampleMessage("T2", gid, CAROL.phone, 1714551060000, 2, media=voice),
        SampleMessage("T3", gid, CAROL.phone, 1714551120000, 3, media=gone),
        SampleMessage("T4", gid, None, 1714551180000, 9, media=voice),
        SampleMessage("T5", gid, BOB.phone, 1714551240000, 13, media=voice),
        SampleMessage("T6", gid, BOB.phone, 1714551300000, 20, media=voice),
        SampleMessage("T7", gid, CAROL.phone, 1714551360000, 5, place=GARDENS),
        SampleMessage("T8", gid, None, 1714551420000, 4, participants=(BOB.phone,)),
        SampleMessage("T9", gid, BOB.phone, 1714551480000, 0, "seen it", reply_to="T7"),
        SampleMessage("TA", gid, None, 1714551540000, 7, action=4, participants=(CAROL.phone,)),
        SampleMessage("TB", gid, None, 1714551600000, 7, action=7, participants=(BOB.phone,)),
        SampleMessage(
            "TC", gid, CAROL.phone, 1714551660000, 7, action=5, participants=(CAROL.phone,)
        ),
        SampleMessage("TD", gid, None, 1714551720000, 7, "Harbour", action=1),
    )
    return SampleDevice(device.owner, device.contacts, device.groups, (*device.messages, *more))


def export(tmp_path: Path, device: SampleDevice | None = None) -> Path:
    return write_telegram_export(
        tmp_path, device or every_kind_device(), {sha(PHOTO): PHOTO, sha(VOICE): VOICE}
    )


def edit(path: Path, change: Any) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=1))


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_example_is_detected_and_read(tmp_path: Path) -> None:
    path = TelegramExport.example(tmp_path)
    assert detect(path.name, path.read_bytes()[:HEAD_BYTES], frozenset()) is TelegramExport
    records = read(path)
    assert [r for r in records if isinstance(r, Issue)] == [
        Issue(
            Severity.INFO,
            "schema",
            "result.json",
            "Telegram Desktop JSON export (full account): 2 chats, 5 messages",
        )
    ]
    (owner,) = [r for r in records if isinstance(r, Owner)]
    assert owner == Owner(
        Account(
            ALICE.phone,
            ALICE.phone,
            f"tg:user{telegram_id(ALICE.phone)}",
            display_name="Alice Example",
            push_name="@alice_example",
        ),
        "the export's own profile (personal_information)",
    )
    photo = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    assert [
        (m.chat, m.sender, m.from_me, m.kind, m.forwarded, m.media and m.media.sha256)
        for m in messages(records)
    ] == [
        (GROUP, None, True, "system", False, None),
        (GROUP, CAROL.phone, False, "system", False, None),
        (GROUP, BOB.phone, False, "image", False, photo),
        (GROUP, None, True, "image", True, photo),
        (CAROL.phone, CAROL.phone, False, "text", False, None),
    ]
    assert [r for r in records if isinstance(r, GroupEvent)] == [
        GroupEvent(GROUP, GroupAction.CREATED, ALICE.phone, at(1714550400), ALICE.phone),
        GroupEvent(GROUP, GroupAction.ADDED, BOB.phone, at(1714550400), ALICE.phone),
        GroupEvent(GROUP, GroupAction.JOINED_BY_LINK, CAROL.phone, at(1714550460), CAROL.phone),
    ]
    # Supergroup messages carry the channel's own ids: the same in every member's export.
    assert [m.key_id for m in messages(records)][:2] == [f"tg:{GROUP[9:]}:1", f"tg:{GROUP[9:]}:2"]


def test_every_message_kind(tmp_path: Path) -> None:
    path = export(tmp_path)
    edit(
        path,
        lambda d: d["chats"]["list"][0]["messages"].extend(
            [
                {"id": 90, "type": "message", "date_unixtime": "1714552000",
                 "from": "Bob Example", "from_id": f"user{telegram_id(BOB.phone)}",
                 "poll": {"question": "Where?", "closed": False, "total_voters": 0,
                          "answers": []}, "text": ""},
                {"id": 91, "type": "message", "date_unixtime": "1714552060",
                 "from": "Bob Example", "from_id": f"user{telegram_id(BOB.phone)}",
                 "text": [{"type": "bold", "text": "look"}, " here"]},
            ]
        ),
    )  # fmt: skip
    records = read(path)
    shown = [
        (m.kind, m.text, m.media and (m.media.path, m.media.sha256)) for m in messages(records)
    ]
    assert shown[4:-1] == [
        ("image", None, ("photos/photo_3@01-05-2024_08-10-00.jpg", sha(PHOTO))),
        ("audio", None, ("voice_messages/file_4@01-05-2024_08-11-00.opus", sha(VOICE))),
        ("video", None, ("video_files/file_5@01-05-2024_08-12-00.mp4", None)),
        ("document", None, ("files/file_6@01-05-2024_08-13-00.opus", sha(VOICE))),
        ("gif", None, ("video_files/file_7@01-05-2024_08-14-00.opus", sha(VOICE))),
        ("sticker", None, ("stickers/file_8@01-05-2024_08-15-00.opus", sha(VOICE))),
        ("location", None, None),
        ("contact", "Bob Example +447700900002", None),
        ("text", "seen it", None),
        ("system", "invite members: Carol Example", None),
        ("system", "remove members: Bob Example", None),
        ("system", "remove members: Carol Example", None),
        ("system", "edit group title ('Harbour')", None),
        ("poll", "Where?", None),
        ("text", "look here", None),
    ]
    (located,) = [m for m in messages(records) if m.place is not None]
    assert located.place == Place(*GARDENS)
    assert located.sender == CAROL.phone
    assert messages(records)[4].forwarded is True
    events = [r for r in records if isinstance(r, GroupEvent)][3:]
    assert events == [
        GroupEvent(GROUP, GroupAction.ADDED, CAROL.phone, at(1714551540), ALICE.phone),
        GroupEvent(GROUP, GroupAction.REMOVED, BOB.phone, at(1714551600), ALICE.phone),
        GroupEvent(GROUP, GroupAction.LEFT, CAROL.phone, at(1714551660), CAROL.phone),
        GroupEvent(GROUP, GroupAction.SUBJECT_CHANGED, ALICE.phone, at(1714551720), ALICE.phone),
    ]
    assert Group(GROUP, "Harbour") in records
    assert issues(records) == [
        "warning attachment-missing (chat 1 message 3): photos/photo_1@01-05-2024_08-02-00.jpg "
        "is not in the export folder: no hash",
        "warning attachment-missing (chat 1 message 4): photos/photo_2@01-05-2024_08-03-00.jpg "
        "is not in the export folder: no hash",
        "warning attachment-missing (chat 1 message 7): video_files/file_5@01-05-2024_08-12-00.mp4"
        " is not in the export folder: no hash",
    ]


def test_people_without_numbers_are_keyed_by_user_id(tmp_path: Path) -> None:
    """One chat exported on its own: no profile, no contacts. The account's own id is the one
    that is not the partner's in a one-to-one chat."""
    path = tmp_path / "result.json"
    carol, alice = f"user{telegram_id(CAROL.phone)}", "user77"
    path.write_text(
        json.dumps(
            {"name": "Carol Example", "type": "personal_chat", "id": telegram_id(CAROL.phone),
             "messages": [
                 {"id": 1, "type": "message", "date_unixtime": "1714550000",
                  "from": "Carol Example", "from_id": carol, "text": "hi"},
                 {"id": 2, "type": "message", "date_unixtime": "1714550060",
                  "from": "Alice", "from_id": alice, "text": "hello"},
             ]},
            indent=1,
        )
    )  # fmt: skip
    records = read(path)
    assert [r for r in records if isinstance(r, Owner)] == [
        Owner(
            Account("tg:user77"),
            "user77 wrote the other side of one-to-one chats (1 in 'Carol Example')",
        )
    ]
    assert [(m.chat, m.sender, m.from_me, m.key_id) for m in messages(records)] == [
        (f"tg:{carol}", f"tg:{carol}", False, None),
        (f"tg:{carol}", None, True, None),
    ]
    assert Account(f"tg:{carol}", display_name="Carol Example") in records


def test_unknown_types_are_kept_and_counted(tmp_path: Path) -> None:
    path = export(tmp_path, example_device())
    edit(
        path,
        lambda d: d["chats"]["list"][0]["messages"].extend(
            [
                {"id": 80, "type": "unsupported"},
                {"id": 81, "type": "sparkle", "date_unixtime": "1714552000"},
                {"id": 82, "type": "unsupported"},
            ]
        ),
    )
    records = read(path)
    assert [m.kind for m in messages(records)][4:7] == ["unknown"] * 3
    assert issues(records)[-2:] == [
        "warning unknown-kind (result.json): 1 record of message type 'sparkle', which Cairn "
        "does not know: kept, named 'unknown'",
        "warning unknown-kind (result.json): 2 records of message type 'unsupported', which "
        "Cairn does not know: kept, named 'unknown'",
    ]


def test_media_left_out_and_local_times(tmp_path: Path) -> None:
    """Files the export's settings left out are counted once; exports older than
    date_unixtime give local times, read in the evidence's zone."""
    path = export(tmp_path, example_device())

    def change(document: dict[str, Any]) -> None:
        for message in document["chats"]["list"][0]["messages"]:
            message.pop("date_unixtime")
            if "photo" in message:
                message["photo"] = (
                    "(File not included. Change data exporting settings to download.)"
                )

    edit(path, change)
    records = read(path, "Europe/London")
    assert messages(records)[0].at == datetime(2024, 5, 1, 7, 0, tzinfo=UTC)  # 08:00 BST
    assert [m.media for m in messages(records) if m.media] == [MediaRef(None)] * 2
    assert issues(records) == [
        "warning not-exported (result.json): 2 media files left out of the export by its "
        "settings (first: chat 1 message 3: (File not included. Change data exporting "
        "settings to download.)): no hash",
        "warning timezone (result.json): 4 messages without date_unixtime: their local time "
        "was read in Europe/London",
    ]


def test_a_truncated_export_keeps_what_came_before(tmp_path: Path) -> None:
    path = export(tmp_path, example_device())
    text = path.read_text()
    path.write_text(text[: text.index('"hello"')])
    records = read(path)
    first = next(r for r in records if isinstance(r, Issue))
    assert first.severity is Severity.ERROR and first.code == "truncated"
    assert first.message.endswith(": the 4 messages before it are read")
    assert "the file ends" in first.message
    assert len(messages(records)) == 4  # the cut one is not invented


def test_damaged_records_and_bad_files(tmp_path: Path) -> None:
    path = export(tmp_path, example_device())
    text = path.read_text()
    path.write_text(text.replace('"text": "hello"', '"text": hello', 1))
    records = read(path)
    assert len(messages(records)) == 4
    assert [i for i in issues(records) if i.startswith("error")] == [
        "error malformed (line 92): not JSON: Expecting value"
    ]
    path.write_text("[1, 2]")
    assert issues(read(path)) == [
        "error unreadable (result.json): the file does not start with a JSON object: not a "
        "readable Telegram export"
    ]


def test_html_exports_say_what_is_needed(tmp_path: Path) -> None:
    head = (
        b'<!DOCTYPE html>\n<html>\n <head>\n  <meta charset="utf-8"/>\n'
        b"  <title>Exported Data</title>\n"
        b'  <link href="css/style.css" rel="stylesheet"/>\n'
        b' </head>\n <body onload="CheckLocation();">\n'
    )
    problem = html_problem("messages.html", head)
    assert problem is not None and "Machine-readable JSON" in problem
    assert html_problem("export_results.html", head) is not None
    assert html_problem("index.html", head) is None
    assert html_problem("messages.html", b"<html><title>Mine</title></html>") is None
    assert detect("messages.html", head, frozenset()) is None


def test_only_telegram_json_is_claimed() -> None:
    assert not TelegramExport.probe("result.json", b'{"results": [1, 2]}', frozenset())
    assert not TelegramExport.probe("data.txt", b'{\n "type": "personal_chat"', frozenset())
    assert TelegramExport.probe(
        "result.json", b'\xef\xbb\xbf{\n "name": "X",\n "type": "private_group",', frozenset()
    )


def test_channels_saved_messages_and_left_chats(tmp_path: Path) -> None:
    """An account export without its profile: Saved Messages show whose it is; a channel
    posts as itself; a left chat is read like the others."""
    me, bob = "user500", f"user{telegram_id(BOB.phone)}"

    def message(number: int, sender: str, name: str, **fields: Any) -> dict[str, Any]:
        return {"id": number, "type": "message", "date_unixtime": str(1714550000 + number),
                "from": name, "from_id": sender, "text": "", **fields}  # fmt: skip

    document = {
        "about": "Here is the data you requested.",
        "chats": {"about": "", "list": [
            {"type": "saved_messages", "id": 500, "messages": [
                message(1, me, "Me", text="note to self"),
                message(2, me, "Me", game_title="Lumberjack"),
            ]},
            {"name": "News", "type": "public_channel", "id": 900, "messages": [
                message(5, "channel900", "News", location_information={
                    "latitude": 51.5, "longitude": -0.12}, place_name="Pier",
                    address="1 Quay"),
                message(6, "channel900", "News", invoice_information={"title": "T"}),
            ]},
        ]},
        "left_chats": {"about": "", "list": [
            {"name": "Old Club", "type": "private_supergroup", "id": 901, "messages": [
                {"id": 9, "type": "service", "date_unixtime": "1714551000", "actor": "Bob",
                 "actor_id": bob, "action": "join_group_by_request", "text": ""},
            ]},
        ]},
    }  # fmt: skip
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document, indent=1))
    records = read(path)
    owners = [r for r in records if isinstance(r, Owner)]
    assert owners == [
        Owner(Account("tg:user500"), "user500 wrote the other side of one-to-one chats "
              "(2 in 'Saved Messages')")
    ]  # fmt: skip
    assert [(m.chat, m.sender, m.from_me, m.kind, m.text) for m in messages(records)] == [
        ("tg:user500", None, True, "text", "note to self"),
        ("tg:user500", None, True, "game", "Lumberjack"),
        ("tg-group:900", "tg:channel900", False, "location", "1 Quay"),
        ("tg-group:900", "tg:channel900", False, "invoice", None),
        ("tg-group:901", f"tg:{bob}", False, "system", "join group by request"),
    ]
    assert messages(records)[2].place == Place(51.5, -0.12, "Pier")
    assert [r for r in records if isinstance(r, GroupEvent)] == [
        GroupEvent("tg-group:901", GroupAction.JOINED_BY_REQUEST, f"tg:{bob}", at(1714551000),
                   f"tg:{bob}")
    ]  # fmt: skip
    assert issues(records) == []


def test_a_deleted_account_s_chat_has_no_name(tmp_path: Path) -> None:
    """Telegram writes `"name": null` for a deleted account: the chat is named by its id."""
    chats = [
        {"name": name, "type": "personal_chat", "id": peer, "messages": [
            {"id": 1, "type": "message", "date_unixtime": "1714550000", "from": "Me",
             "from_id": "user1", "text": "hi"}]}
        for name, peer in ((None, 2), ("Dan", 3))
    ]  # fmt: skip
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"about": "x", "chats": {"about": "", "list": chats}}, indent=1))
    (owner,) = [r for r in read(path) if isinstance(r, Owner)]
    assert owner.source == (
        "user1 wrote the other side of one-to-one chats (1 in 'Dan', 1 in 'chat 2')"
    )
