"""WhatsApp "Export chat" text: platforms, locales, clocks, system lines, attachments, bad lines."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cairn.messaging.base import (
    Account,
    Artefact,
    Group,
    GroupAction,
    GroupEvent,
    Issue,
    MediaRef,
    Message,
    Record,
    Severity,
)
from cairn.messaging.chat_export import ChatExport

SCOPE = "phone-X"
NO_ZONE = (
    "exports give local times without a zone: read as UTC; register the evidence with "
    "--timezone to correct them"
)


def read(
    tmp_path: Path,
    name: str,
    text: str | bytes,
    timezone: str | None = None,
    attachments: dict[str, bytes] | None = None,
) -> list[Record]:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())

    def attachment(file_name: str) -> MediaRef | None:
        data = (attachments or {}).get(file_name)
        if data is None:
            return None
        return MediaRef(hashlib.sha256(data).hexdigest(), file_name, len(data), "image/jpeg")

    return list(ChatExport.read(Artefact(name, path, SCOPE, timezone, attachment)))


def name(who: str) -> str:
    return f"name:{SCOPE}:{who}"


def person(who: str) -> Account:
    return Account(name(who), display_name=who)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def issue(severity: Severity, code: str, where: str, message: str) -> Issue:
    return Issue(severity, code, where, message)


ANDROID_GB = (
    "11/01/2023, 16:20 - Messages and calls are end-to-end encrypted. No one outside of this "
    "chat can read them.\n"
    '11/01/2023, 16:21 - Ana created group "Harbour"\n'
    "11/01/2023, 16:22 - Ana added Luis and \u202a+44 7700 900123\u202c\n"
    "11/01/2023, 16:23 - Sam joined using this group's invite link\n"
    "11/01/2023, 16:24 - Ana: IMG-20230111-WA0001.jpg (file attached)\n"
    "sunset\n"
    "11/01/2023, 16:25 - Luis: <Media omitted>\n"
    "11/01/2023, 16:26 - \u202a+44 7700 900123\u202c: first line\n"
    "second line\n"
    "\n"
    "11/01/2023, 16:27 - Luis left\n"
    "13/01/2023, 09:00 - Ana removed Sam\n"
)


def test_android_group_export_en_gb(tmp_path: Path) -> None:
    photo = b"\xff\xd8 benign photo bytes"
    file = "WhatsApp Chat with Harbour.txt"
    records = read(tmp_path, file, ANDROID_GB, attachments={"IMG-20230111-WA0001.jpg": photo})
    group = f"chat:{SCOPE}:Harbour"
    number = "+447700900123"
    assert records == [
        issue(
            Severity.INFO,
            "schema",
            file,
            "chat export 'Harbour'; dates day first (from a "
            "first field above 12); locale en (9 markers)",
        ),
        person("Ana"),
        person("Luis"),
        Account(number, number),
        person("Sam"),
        Group(group, "Harbour"),
        issue(Severity.WARNING, "timezone", file, NO_ZONE),
        Message(
            1,
            group,
            True,
            None,
            False,
            utc(2023, 1, 11, 16, 20),
            "system",
            text="Messages and calls are end-to-end encrypted. No one outside of this chat "
            "can read them.",
        ),
        GroupEvent(group, GroupAction.CREATED, name("Ana"), utc(2023, 1, 11, 16, 21), name("Ana")),
        Message(
            2,
            group,
            True,
            None,
            False,
            utc(2023, 1, 11, 16, 21),
            "system",
            text='Ana created group "Harbour"',
        ),
        GroupEvent(group, GroupAction.ADDED, name("Luis"), utc(2023, 1, 11, 16, 22), name("Ana")),
        GroupEvent(group, GroupAction.ADDED, number, utc(2023, 1, 11, 16, 22), name("Ana")),
        Message(
            3,
            group,
            True,
            None,
            False,
            utc(2023, 1, 11, 16, 22),
            "system",
            text="Ana added Luis and +44 7700 900123",
        ),
        GroupEvent(
            group, GroupAction.JOINED_BY_LINK, name("Sam"), utc(2023, 1, 11, 16, 23), name("Sam")
        ),
        Message(
            4,
            group,
            True,
            None,
            False,
            utc(2023, 1, 11, 16, 23),
            "system",
            text="Sam joined using this group's invite link",
        ),
        Message(
            5,
            group,
            True,
            name("Ana"),
            False,
            utc(2023, 1, 11, 16, 24),
            "image",
            media=MediaRef(
                hashlib.sha256(photo).hexdigest(),
                "IMG-20230111-WA0001.jpg",
                len(photo),
                "image/jpeg",
                "sunset",
            ),
        ),
        Message(
            7,
            group,
            True,
            name("Luis"),
            False,
            utc(2023, 1, 11, 16, 25),
            "media",
            text="<Media omitted>",
        ),
        Message(
            8,
            group,
            True,
            number,
            False,
            utc(2023, 1, 11, 16, 26),
            "text",
            text="first line\nsecond line",
        ),
        GroupEvent(group, GroupAction.LEFT, name("Luis"), utc(2023, 1, 11, 16, 27), name("Luis")),
        Message(11, group, True, None, False, utc(2023, 1, 11, 16, 27), "system", text="Luis left"),
        GroupEvent(group, GroupAction.REMOVED, name("Sam"), utc(2023, 1, 13, 9, 0), name("Ana")),
        Message(
            12, group, True, None, False, utc(2023, 1, 13, 9, 0), "system", text="Ana removed Sam"
        ),
    ]


@pytest.mark.parametrize("space", ["\u202f", " "])  # newer builds put U+202F before AM/PM
def test_android_one_to_one_en_us_12_hours(tmp_path: Path, space: str) -> None:
    text = (
        f"1/5/24, 4:33{space}PM - Ana: hi\n1/5/24, 4:34{space}PM - Me: hello\n"
        f"1/13/24, 12:05{space}AM - Ana: VID-20240113-WA0002.mp4 (file attached)\n"
    )
    file = "WhatsApp Chat with Ana.txt"
    records = read(tmp_path, file, text)
    chat = name("Ana")
    assert records == [
        issue(
            Severity.INFO,
            "schema",
            file,
            "chat export 'Ana'; dates month first (from a "
            "second field above 12); locale en (2 markers)",
        ),
        person("Ana"),
        issue(Severity.WARNING, "timezone", file, NO_ZONE),
        issue(
            Severity.WARNING,
            "attachment-missing",
            "line 3",
            "VID-20240113-WA0002.mp4 is not beside the export: no hash",
        ),
        Message(1, chat, False, chat, False, utc(2024, 1, 5, 16, 33), "text", text="hi"),
        # Whoever is not the partner the file is named after exported the chat.
        Message(2, chat, False, None, True, utc(2024, 1, 5, 16, 34), "text", text="hello"),
        Message(
            3,
            chat,
            False,
            chat,
            False,
            utc(2024, 1, 13, 0, 5),
            "video",
            media=MediaRef(None, "VID-20240113-WA0002.mp4"),
        ),
    ]


def test_android_spanish_in_the_evidence_time_zone(tmp_path: Path) -> None:
    text = (
        "12/05/2024, 10:30 - Ana creó el grupo «Playa»\n"
        "12/05/2024, 10:31 - Luis se unió usando el enlace de invitación de este grupo\n"
        "12/05/2024, 10:32 - Ana: IMG-20240512-WA0001.jpg (archivo adjunto)\n"
        "12/05/2024, 10:33 - Luis: <Multimedia omitido>\n"
        "12/05/2024, 10:34 - Eva: hola\n"
        "12/05/2024, 10:35 - Eva salió del grupo\n"
    )
    photo = b"foto"
    records = read(
        tmp_path,
        "Chat de WhatsApp con Playa.txt",
        text,
        "Europe/Madrid",
        {"IMG-20240512-WA0001.jpg": photo},
    )
    group = f"chat:{SCOPE}:Playa"
    assert records[0] == issue(
        Severity.INFO,
        "schema",
        "Chat de WhatsApp con Playa.txt",
        "chat export 'Playa'; dates day first (from the locale's habit (dates do not settle "
        "it)); locale es (6 markers)",
    )
    # 10:30 in Madrid in May (CEST, UTC+2) is 08:30 UTC.
    assert [r for r in records if isinstance(r, GroupEvent)] == [
        GroupEvent(group, GroupAction.CREATED, name("Ana"), utc(2024, 5, 12, 8, 30), name("Ana")),
        GroupEvent(
            group, GroupAction.JOINED_BY_LINK, name("Luis"), utc(2024, 5, 12, 8, 31), name("Luis")
        ),
        GroupEvent(group, GroupAction.LEFT, name("Eva"), utc(2024, 5, 12, 8, 35), name("Eva")),
    ]
    messages = [(m.kind, m.media, m.text) for m in records if isinstance(m, Message)]
    assert messages[2:4] == [
        (
            "image",
            MediaRef(hashlib.sha256(photo).hexdigest(), "IMG-20240512-WA0001.jpg", 4, "image/jpeg"),
            None,
        ),
        ("media", None, "<Multimedia omitido>"),
    ]
    assert not [r for r in records if isinstance(r, Issue) and r.severity is not Severity.INFO]


def test_ios_english_export_unzipped_in_its_folder(tmp_path: Path) -> None:
    text = (
        "\u200e[3/27/22, 21:40:00] Night Owls: \u200eAna created group “Night Owls”\n"
        "[3/27/22, 21:41:55] Ana: \u200e<attached: 00000035-PHOTO-2022-03-27-21-41-55.jpg>\n"
        "[3/27/22, 21:42:10] Luis: \u200eimage omitted\n"
        "[3/27/22, 9:43:00 PM] Eva: bye\n"
    )
    photo = b"photo"
    file = "WhatsApp Chat - Night Owls/_chat.txt"
    records = read(tmp_path, file, text, "UTC", {"00000035-PHOTO-2022-03-27-21-41-55.jpg": photo})
    group = f"chat:{SCOPE}:Night Owls"
    assert records == [
        issue(
            Severity.INFO,
            "schema",
            file,
            "chat export 'Night Owls'; dates month first "
            "(from a second field above 12); locale en (4 markers)",
        ),
        person("Ana"),
        person("Luis"),
        person("Eva"),
        Group(group, "Night Owls"),
        GroupEvent(group, GroupAction.CREATED, name("Ana"), utc(2022, 3, 27, 21, 40), name("Ana")),
        Message(
            1,
            group,
            True,
            None,
            False,
            utc(2022, 3, 27, 21, 40),
            "system",
            text="Ana created group “Night Owls”",
        ),
        Message(
            2,
            group,
            True,
            name("Ana"),
            False,
            utc(2022, 3, 27, 21, 41, 55),
            "image",
            media=MediaRef(
                hashlib.sha256(photo).hexdigest(),
                "00000035-PHOTO-2022-03-27-21-41-55.jpg",
                5,
                "image/jpeg",
            ),
        ),
        Message(
            3,
            group,
            True,
            name("Luis"),
            False,
            utc(2022, 3, 27, 21, 42, 10),
            "image",
            text="image omitted",
        ),
        Message(4, group, True, name("Eva"), False, utc(2022, 3, 27, 21, 43), "text", text="bye"),
    ]


def test_ios_spanish(tmp_path: Path) -> None:
    text = (
        "[27/03/22, 21:41:55] Ana: \u200e<adjunto: 00000012-PHOTO-2022-03-27-21-41-55.jpg>\n"
        "[27/03/22, 21:42:00] Luis: vale\n"
        "[27/03/22, 21:43:00] Eva: \u200eimagen omitida\n"
    )
    records = read(tmp_path, "WhatsApp Chat - Playa/_chat.txt", text, "UTC")
    assert [(m.kind, m.media, m.text) for m in records if isinstance(m, Message)] == [
        ("image", MediaRef(None, "00000012-PHOTO-2022-03-27-21-41-55.jpg"), None),
        ("text", None, "vale"),
        ("image", None, "imagen omitida"),
    ]
    assert records[0].message.endswith(
        "dates day first (from a first field above 12); "  # type: ignore[union-attr]
        "locale en (1 marker), es (2 markers)"
    )


def test_unknown_locales_are_kept_as_text_and_reported(tmp_path: Path) -> None:
    text = (
        "11.01.23, 16:26 - Anna: IMG-20230111-WA0001.jpg (Datei angehängt)\n"
        "11.01.23, 16:27 - Ben: <Medien ausgeschlossen>\n"
        "11.01.23, 16:28 - Cem: <Medien ausgeschlossen>\n"
    )
    records = read(tmp_path, "WhatsApp Chat mit Freunde.txt", text, "UTC")
    assert [m.text for m in records if isinstance(m, Message)] == [
        "IMG-20230111-WA0001.jpg (Datei angehängt)",
        "<Medien ausgeschlossen>",
        "<Medien ausgeschlossen>",
    ]
    assert records[-2:] == [
        issue(
            Severity.WARNING,
            "unknown-locale",
            "line 1",
            "marker 'Datei angehängt' (1 line) is in a language Cairn does not read: kept "
            "as message text, attachments not linked",
        ),
        issue(
            Severity.WARNING,
            "unknown-locale",
            "line 2",
            "marker 'Medien ausgeschlossen' (2 lines) is in a language Cairn does not read: "
            "kept as message text, attachments not linked",
        ),
    ]
    assert records[0].message.endswith("locale not recognised")  # type: ignore[union-attr]


def test_malformed_lines_are_errors_and_their_text_is_kept(tmp_path: Path) -> None:
    text = (
        "preamble line\n"
        "31/02/2023, 10:00 - Ana: impossible date\n"
        "10/05/2023, 25:00 - Ana: impossible hour\n"
        "10/05/2023, 10:00 - Ana: fine\n"
    )
    records = read(tmp_path, "WhatsApp Chat with Ana.txt", text, "UTC")
    chat = name("Ana")
    assert [r for r in records if isinstance(r, Issue | Message)] == [
        issue(
            Severity.INFO,
            "schema",
            "WhatsApp Chat with Ana.txt",
            "chat export 'Ana'; dates "
            "day first (from a first field above 12); locale en (1 marker)",
        ),
        issue(
            Severity.ERROR,
            "malformed-line",
            "line 1",
            "text before the first message: 'preamble line'",
        ),
        issue(
            Severity.ERROR,
            "malformed-line",
            "line 3",
            "timestamp 10/05/2023 25:00 is not a valid date and time: line kept as text",
        ),
        issue(
            Severity.ERROR,
            "malformed-line",
            "line 2",
            "not a date (day is out of range for month): 'Ana: impossible date' kept as text",
        ),
        Message(
            2,
            chat,
            False,
            None,
            False,
            None,
            "text",
            text="Ana: impossible date\n10/05/2023, 25:00 - Ana: impossible hour",
        ),
        Message(4, chat, False, chat, False, utc(2023, 5, 10, 10, 0), "text", text="fine"),
    ]


def test_date_order_from_the_run_of_time_when_no_field_passes_12(tmp_path: Path) -> None:
    text = "01/02/2024, 10:00 - Ana: a\n02/02/2024, 10:00 - Ana: b\n01/03/2024, 10:00 - Luis: c\n"
    records = read(tmp_path, "renamed.txt", text, "UTC")
    assert [m.at for m in records if isinstance(m, Message)] == [
        utc(2024, 2, 1, 10, 0),
        utc(2024, 2, 2, 10, 0),
        utc(2024, 3, 1, 10, 0),
    ]
    # A renamed export with two voices cannot be told from a group of two: read as a group.
    assert [m.is_group for m in records if isinstance(m, Message)] == [True] * 3


def test_bad_encoding_and_unknown_zone_are_reported(tmp_path: Path) -> None:
    records = read(tmp_path, "x.txt", b"10/05/2023, 10:00 - Ana: caf\xe9\n", "Mars/Olympus")
    assert [r for r in records if isinstance(r, Issue) and r.severity is Severity.ERROR] == [
        issue(
            Severity.ERROR, "encoding", "byte 28", "not UTF-8: undecodable bytes replaced by U+FFFD"
        ),
        issue(
            Severity.ERROR,
            "timezone",
            "x.txt",
            "unknown time zone 'Mars/Olympus': times read as UTC",
        ),
    ]
    assert [m.text for m in records if isinstance(m, Message)] == ["caf\ufffd"]
    assert read(tmp_path, "empty.txt", "just text\n") == [
        issue(
            Severity.ERROR,
            "unreadable",
            "empty.txt",
            "no line with a WhatsApp export timestamp: not a chat export",
        ),
        issue(
            Severity.ERROR, "malformed-line", "line 1", "text before the first message: 'just text'"
        ),
    ]


def test_probe(tmp_path: Path) -> None:
    assert ChatExport.probe("chat.txt", ANDROID_GB.encode(), frozenset())
    assert ChatExport.probe("_chat.txt", "\ufeff[3/27/22, 21:41:55] A: b".encode(), frozenset())
    assert not ChatExport.probe("chat.csv", ANDROID_GB.encode(), frozenset())
    assert not ChatExport.probe("notes.txt", b"milk\nbread\n", frozenset())


def test_spanish_12_hour_clock(tmp_path: Path) -> None:
    text = "5/12/24, 4:32\u202fp. m. - Ana: hola\n5/12/24, 11:05 a. m. - Ana: adiós\n"
    records = read(tmp_path, "Chat de WhatsApp con Ana.txt", text, "UTC")
    # Spanish puts the day first even on a 12-hour clock.
    assert [m.at for m in records if isinstance(m, Message)] == [
        utc(2024, 12, 5, 16, 32),
        utc(2024, 12, 5, 11, 5),
    ]


def test_the_exporter_is_you_in_system_lines(tmp_path: Path) -> None:
    text = (
        "11/01/2023, 16:21 - You joined using this group's invite link\n"
        "11/01/2023, 16:22 - Ana: hi\n"
        "11/01/2023, 16:23 - Tú añadiste a Luis\n"
    )
    records = read(tmp_path, "WhatsApp Chat with Walkers.txt", text, "UTC")
    group, owner = f"chat:{SCOPE}:Walkers", f"owner:{SCOPE}"
    assert [r for r in records if isinstance(r, GroupEvent)] == [
        GroupEvent(group, GroupAction.JOINED_BY_LINK, owner, utc(2023, 1, 11, 16, 21), owner),
    ]
    # "Tú añadiste" is not a form Cairn reads: kept as a system message, not an event.
    assert [m.text for m in records if isinstance(m, Message)][-1] == "Tú añadiste a Luis"
