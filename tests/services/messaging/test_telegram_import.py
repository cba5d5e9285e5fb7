"""A Telegram Desktop export, end to end: `cairn ingest` of its folder finds and imports it,
its media linked by SHA-256 to the files ingested beside it; HTML exports are reported."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

from cairn.media.synthetic import jpeg_bytes, synthetic_image
from cairn.messaging.samples import (
    ALICE,
    BOB,
    CAROL,
    example_device,
    telegram_id,
    write_telegram_export,
)
from cairn.services.context import Context
from cairn.services.ingest import ingest
from cairn.services.messaging.conversation import conversation
from cairn.services.messaging.discovery import import_from_evidence
from cairn.services.messaging.graph import case_graph
from cairn.services.messaging.importing import import_path
from cairn.services.messaging.reports import analyse_case
from cairn.store.models import Media

HTML = (
    b'<!DOCTYPE html>\n<html>\n <head>\n  <meta charset="utf-8"/>\n'
    b"  <title>Exported Data</title>\n"
    b'  <link href="css/style.css" rel="stylesheet"/>\n'
    b' </head>\n <body onload="CheckLocation();">\n </body>\n</html>\n'
)


def telegram_folder(root: Path) -> tuple[Path, str]:
    """An export whose group photo lies in the folder (a benign synthetic JPEG)."""
    photo = jpeg_bytes(synthetic_image(401, 64, 48))
    sha = hashlib.sha256(photo).hexdigest()
    device = example_device()
    messages = tuple(
        m if m.media is None else replace(m, media=replace(m.media, sha256=sha, size=len(photo)))
        for m in device.messages
    )
    folder = root / "Telegram Desktop" / "DataExport_2024-05-02"
    folder.mkdir(parents=True)
    write_telegram_export(folder, replace(device, messages=messages), {sha: photo})
    return folder, sha


def test_ingest_of_an_export_folder_imports_it(case: Context, tmp_path: Path) -> None:
    folder, sha = telegram_folder(tmp_path)
    assert ingest(case, "C", folder, workers=0).exit_code == 0
    (summary,) = import_from_evidence(case, "C", folder.name)
    assert (summary.path, summary.format, summary.status, summary.issues) == (
        "result.json",
        "telegram-export",
        "completed",
        [
            "info schema (result.json): Telegram Desktop JSON export (full account): 2 chats, "
            "5 messages"
        ],
    )
    assert summary.owner == (
        f"{ALICE.phone} (stated by the phone: the export's own profile (personal_information))"
    )
    assert summary.counts == {
        "accounts": 3,
        "groups": 1,
        "group_events": 3,
        "messages": 3,
        "system_messages": 2,
        "media": 2,
    }
    with case.db.session() as session:  # the photo was ingested as a file of the evidence
        assert session.scalars(select(Media.sha256).where(Media.sha256 == sha)).all() == [sha]
    views = conversation(case, "C", person=CAROL.phone)
    assert sorted((v.chat_name, v.kind, v.text) for v in views) == [
        (f"{CAROL.phone} with {folder.name}", "text", "hello"),
        ("Example Group", "system", "join group by link"),
    ]
    analysis = analyse_case(case, "C")
    (item,) = analysis.media
    assert (item.sha256, item.forwards, item.first.sender) == (sha, 1, BOB.phone)
    assert item.files == (f"{folder.name}:photos/photo_1@01-05-2024_08-02-00.jpg",
                          f"{folder.name}:photos/photo_2@01-05-2024_08-03-00.jpg")  # fmt: skip
    assert [s.person for s in analysis.distributors] == [ALICE.phone]
    assert analysis.chats == {(CAROL.phone, ALICE.phone): 1}  # a person-to-person edge
    graph = case_graph(analysis)
    group = f"tg-group:{telegram_id('120363000000000001')}"
    assert graph.nodes[group]["kind"] == "group"
    assert {ALICE.phone, BOB.phone, CAROL.phone, f"media:{sha}"} <= set(graph.neighbors(group))
    # Importing it again is not a second import.
    (again,) = import_from_evidence(case, "C", folder.name)
    assert again.status == "already-imported"


def test_messaging_import_takes_the_folder_and_its_zip(case: Context, tmp_path: Path) -> None:
    folder, _sha = telegram_folder(tmp_path)
    (summary,) = import_path(case, folder, "C", "export")
    assert (summary.format, summary.counts["media"]) == ("telegram-export", 2)
    (direct,) = import_path(case, folder / "result.json", "C", "file")  # its media beside it
    assert (direct.format, direct.counts["media"]) == ("telegram-export", 2)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(folder.rglob("*")):
            out.write(path, f"DataExport/{path.relative_to(folder)}")
    (zipped,) = import_path(case, archive, "C", "zipped")
    assert (zipped.path, zipped.status, zipped.counts["media"], zipped.issue_counts) == (
        "export.zip!DataExport/result.json",
        "completed",
        2,
        {"info": 1},
    )


def test_html_exports_are_reported_and_other_json_is_ignored(case: Context, tmp_path: Path) -> None:
    seized = tmp_path / "laptop"
    (seized / "ChatExport_2024-05-02").mkdir(parents=True)
    (seized / "ChatExport_2024-05-02" / "messages.html").write_bytes(HTML)
    (seized / "project").mkdir()
    (seized / "project" / "result.json").write_text('{"results": [1, 2, 3]}\n')
    (seized / "both").mkdir()
    write_telegram_export(seized / "both", example_device())
    (seized / "both" / "messages.html").write_bytes(HTML)
    (seized / "messages.html").write_bytes(HTML)  # beside no JSON: the root holds none
    assert ingest(case, "C", seized, workers=0).exit_code == 0
    summaries = import_from_evidence(case, "C", "laptop")
    assert [(s.path, s.status, s.format) for s in summaries] == [
        ("ChatExport_2024-05-02/messages.html", "failed", None),
        ("both/result.json", "completed", "telegram-export"),
        ("messages.html", "failed", None),
    ]
    assert summaries[0].issues == [
        "error unreadable (ChatExport_2024-05-02/messages.html): messages.html is a Telegram "
        "Desktop HTML export, which Cairn does not read: export the chat again in Telegram "
        "Desktop (Export chat history, Format: Machine-readable JSON, or HTML and JSON) and "
        "import the folder holding its result.json"
    ]
    # Given by hand, an HTML page says the same.
    (direct,) = import_path(case, seized / "ChatExport_2024-05-02" / "messages.html", "C", "html")
    assert direct.issues[0].endswith("import the folder holding its result.json")


def test_unknown_and_truncated_exports_are_counted_and_flagged(
    case: Context, tmp_path: Path
) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    path = write_telegram_export(folder, example_device())
    document = json.loads(path.read_text())
    document["chats"]["list"][0]["messages"].append({"id": 99, "type": "unsupported"})
    path.write_text(json.dumps(document, indent=1))
    (summary,) = import_path(case, folder, "C", "odd")
    assert (summary.counts["unknown_messages"], summary.counts["messages"]) == (1, 4)
    assert (
        "warning unknown-kind (result.json): 1 record of message type 'unsupported', which "
        "Cairn does not know: kept, named 'unknown'"
    ) in summary.issues
    cut = tmp_path / "cut"
    cut.mkdir()
    text = write_telegram_export(cut, example_device()).read_text()
    (cut / "result.json").write_text(text[: text.index('"hello"')])
    (damaged,) = import_path(case, cut, "C", "cut")
    assert (damaged.status, damaged.exit_code, damaged.counts["messages"]) == ("completed", 1, 2)
    assert damaged.issues[0].startswith("error truncated (result.json): the file ends inside")


def test_a_chat_exported_alone_finds_people_by_their_telegram_id(
    case: Context, tmp_path: Path
) -> None:
    """The account export names Carol's number; a later export of one chat only her id."""
    full = tmp_path / "full"
    full.mkdir()
    write_telegram_export(full, example_device())
    import_path(case, full, "C", "laptop")
    alone = tmp_path / "alone"
    alone.mkdir()
    carol = telegram_id(CAROL.phone)
    (alone / "result.json").write_text(
        json.dumps(
            {"name": "Carol Example", "type": "personal_chat", "id": carol, "messages": [
                {"id": 7, "type": "message", "date_unixtime": "1714560000",
                 "from": "Carol Example", "from_id": f"user{carol}", "text": "again"}]},
            indent=1,
        )
    )  # fmt: skip
    (summary,) = import_path(case, alone, "C", "desktop")
    assert summary.counts["accounts"] == 1  # the stand-in for the unknown owner, not Carol
    views = conversation(case, "C", person=CAROL.phone)
    assert [v.text for v in views if v.device == "desktop"] == ["again"]
