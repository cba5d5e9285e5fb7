"""Messaging end to end: three seized phones, their WhatsApp artefacts, and who did what.

The phones come from `cairn.messaging.scenario` ("Operation Harbour"); its docstring tells the
story these assertions check. All media are benign synthetic pictures; "known" X is one placed
in a test hash set.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import zipfile
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest
from PIL import Image
from sqlalchemy import func, select

from cairn.core.errors import UsageError
from cairn.media.synthetic import CameraExif, jpeg_bytes, synthetic_image
from cairn.media.thumbnail import load_or_create_key, open_thumbnail
from cairn.messaging.analysis import ClockOffset, Score
from cairn.messaging.samples import example_device, write_msgstore
from cairn.messaging.scenario import CAMERA_PATH, HarbourMedia, harbour_case
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.hashsets import import_hashset
from cairn.services.ingest import ingest
from cairn.services.matching import match_case
from cairn.services.messaging import (
    CaseAnalysis,
    GroupReport,
    ImportSummary,
    analyse_case,
    case_graph,
    import_from_evidence,
    import_path,
)
from cairn.store.messaging_models import MsgImport, MsgImportIssue, MsgMessage, MsgThumbnail

CASE = "OP-HARBOUR"
ALICE, BOB, CAROL, DAN, ERIN, FRANK = (
    "+447700900001",
    "+447700900002",
    "+12025550103",
    "+447700900004",
    "+447700900005",
    "+12025550106",
)
MEDIA = HarbourMedia(
    x=jpeg_bytes(synthetic_image(301, 320, 240)),
    p=jpeg_bytes(synthetic_image(302, 320, 240), CameraExif()),
    z=jpeg_bytes(synthetic_image(303, 320, 240)),
    w=jpeg_bytes(synthetic_image(304, 320, 240)),
    d=jpeg_bytes(synthetic_image(305, 320, 240)),
)
SHA = {k: hashlib.sha256(getattr(MEDIA, k)).hexdigest() for k in "xpzwd"}
SHORT = {k: v[:12] for k, v in SHA.items()}
REF, B_CLOCK, C_CLOCK = (
    "phone-A reference clock",
    "phone-B clock +90.0 s ± 2.5 s against phone-A",
    "phone-C clock -30.0 s ± 1.0 s against phone-A",
)
DB = "data/data/com.whatsapp/databases"
RunCli = Callable[..., tuple[int, str, str]]  # the run_cli fixture of tests/conftest.py


@dataclass
class Harbour:
    ctx: Context
    phones: dict[str, Path]
    imports: list[ImportSummary]
    analysis: CaseAnalysis
    root: Path


def fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(folder)): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def harbour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harbour]:
    root = tmp_path_factory.mktemp("harbour")
    phones = harbour_case(root / "phones", MEDIA)
    ctx = Context.open(root / "workspace")
    create_case(ctx, CASE)
    known = root / "known.txt"
    known.write_text(f"{SHA['x']}  x.jpg\n")
    import_hashset(ctx, known, "test-known")
    for folder in phones.values():
        assert ingest(ctx, CASE, folder, workers=0).exit_code == 0
    match_case(ctx, CASE)
    before = {label: fingerprint(folder) for label, folder in phones.items()}
    imports = import_path(ctx, phones["phone-A"], CASE, "phone-A", owner="+44 7700 900001")
    imports += import_from_evidence(ctx, CASE, "phone-B")
    imports += import_from_evidence(ctx, CASE, "phone-C")
    # Evidence is never written to: same bytes, same modification times.
    assert {label: fingerprint(folder) for label, folder in phones.items()} == before
    try:
        yield Harbour(ctx, phones, imports, analyse_case(ctx, CASE), root)
    finally:
        ctx.close()


def test_imports_record_originals_recovery_and_problems(harbour: Harbour) -> None:
    summaries = {(s.evidence, s.path): s for s in harbour.imports}
    assert list(summaries) == [
        ("phone-A", f"{DB}/msgstore.db"),
        ("phone-A", f"{DB}/wa.db"),
        ("phone-A", "data/media/0/WhatsApp/Databases/msgstore.db.crypt15"),
        ("phone-B", f"{DB}/msgstore.db"),
        ("phone-C", "private/var/mobile/Containers/Shared/AppGroup/0A1B2C3D/ChatStorage.sqlite"),
    ]
    a = summaries[("phone-A", f"{DB}/msgstore.db")]
    folder = harbour.phones["phone-A"] / DB
    assert a.originals == [
        {
            "name": n,
            "sha256": hashlib.sha256((folder / n).read_bytes()).hexdigest(),
            "size": (folder / n).stat().st_size,
        }
        for n in ("msgstore.db", "msgstore.db-wal", "msgstore.db-shm")
    ]
    assert (a.format, a.status, a.exit_code) == ("whatsapp-android", "completed", 0)
    assert a.counts == {
        "accounts": 5,
        "groups": 2,
        "group_events": 9,
        "messages": 13,
        "media": 6,
        "thumbnails": 1,
        "recovered_messages": 1,
    }
    assert a.recovery == (
        "1 deleted record recovered from the WAL (3 commits); free pages "
        "of the main file not carved"
    )
    backup = summaries[("phone-A", "data/media/0/WhatsApp/Databases/msgstore.db.crypt15")]
    assert (backup.status, backup.exit_code, backup.format) == ("failed", 1, None)
    assert backup.issues == [
        "error unreadable (data/media/0/WhatsApp/Databases/msgstore.db.crypt15): "
        "msgstore.db.crypt15 is an encrypted WhatsApp backup (crypt15): reading it needs the "
        "64-hex-digit end-to-end backup key (shown once to the user when backups were "
        "encrypted) or the 'encrypted_backup.key' file from the app's private files folder. "
        "Cairn does not decrypt backups: decrypt it with that key and import the resulting "
        "msgstore.db, or import the live msgstore.db from the extraction"
    ]
    b = summaries[("phone-B", f"{DB}/msgstore.db")]
    assert b.issues[-1] == (
        "info unresolved-lid (table jid): 1 @lid ids are not mapped to "
        "phone numbers (kept as lid accounts)"
    )
    c = summaries[
        ("phone-C", "private/var/mobile/Containers/Shared/AppGroup/0A1B2C3D/ChatStorage.sqlite")
    ]
    assert (c.format, c.counts["messages"], c.counts["media"]) == ("whatsapp-ios", 11, 7)


def test_clocks_and_owners(harbour: Harbour) -> None:
    assert harbour.analysis.clocks == [
        ClockOffset("phone-A", "phone-A", 0.0, 0.0, 0),
        ClockOffset("phone-B", "phone-A", 90.0, 2.5, 5),
        ClockOffset("phone-C", "phone-A", -30.0, 1.0, 8),
    ]
    assert harbour.analysis.owners == {
        "phone-A": f"{ALICE} (given at import)",
        "phone-B": f"{BOB} (inferred: 2 of 2 messages sent from phone-B are held by other "
        "phones as received from that account)",
        "phone-C": f"{CAROL} (inferred: 3 of 3 messages sent from phone-C are held by other "
        "phones as received from that account)",
    }


def test_first_posters_later_sharings_and_links(harbour: Harbour) -> None:
    media = {m.sha256: m for m in harbour.analysis.media}
    assert sorted(media) == sorted(SHA.values())
    x = media[SHA["x"]]
    assert x.claim == (f"first posted by {DAN} in 'Harbour Club' at 2024-05-01T08:00:00Z ({REF})")
    assert (x.first.seen_on, x.forwards, x.order_established) == (("phone-A", "phone-B"), 2, True)
    assert [
        (s.sender, s.chat, s.at, s.device, s.clock, s.forwarded, s.forward_score) for s in x.later
    ] == [
        (BOB, "Park Run", "2024-05-01T08:10:00Z", "phone-C", C_CLOCK, True, 1),
        (CAROL, "Night Owls", "2024-05-01T08:15:00Z", "phone-A", REF, True, 2),
    ]
    # X's file is gone from phone-A (only its message, media row and thumbnail remain), but
    # its hash still links it to phone-B's copy and to the hash set.
    assert x.files == (
        "phone-B:data/media/0/WhatsApp/Media/WhatsApp Images/IMG-20240501-WA0001.jpg",
    )
    assert x.hash_sets == ("test-known (illegal; sha256)",) and x.thumbnail
    z = media[SHA["z"]]
    # Only the clock correction puts Bob first: phone-B recorded his posting at 08:34:50.
    assert z.claim == (f"first posted by {BOB} in 'Quiet Room' at 2024-05-01T08:33:20Z ({B_CLOCK})")
    assert z.first.recorded_at == "2024-05-01T08:34:50Z"
    assert [(s.sender, s.at) for s in z.later] == [(ERIN, "2024-05-01T08:34:20Z")]
    d = media[SHA["d"]]
    assert (d.first.sender, d.first.recovered, d.first.seen_on, d.files) == (
        ERIN,
        "WAL commit 2 of 3",
        ("phone-A", "phone-C"),
        (),
    )
    p = media[SHA["p"]]
    assert p.files == (
        f"phone-A:{CAMERA_PATH}",
        "phone-A:data/media/0/WhatsApp/Media/WhatsApp Images/Sent/IMG-20240501-WA0003.jpg",
    )
    assert (p.mime, p.size) == ("image/jpeg", len(MEDIA.p))


def test_producer_and_distributor_ranks_with_their_evidence(harbour: Harbour) -> None:
    w_first = f"first posted in 'Night Owls' at 2024-05-01T08:40:00Z ({REF})"
    d_first = f"first posted in 'Night Owls' at 2024-05-01T08:45:00Z ({REF})"
    # Lines come item by item, in SHA-256 order: here, sorting them gives that order.
    erin = tuple(
        sorted(
            [
                f"{SHORT['w']}: {w_first}, but marked forwarded: +0",
                f"{SHORT['d']}: {d_first}, not forwarded: +1",
                f"{SHORT['d']}: in no hash set (new material): +1",
            ]
        )
    )
    assert harbour.analysis.producers == [
        Score(
            ALICE,
            4,
            1,
            (
                f"{SHORT['p']}: first posted in 'Night Owls' at 2024-05-01T08:20:00Z ({REF}), "
                "not forwarded: +1",
                f"{SHORT['p']}: in no hash set (new material): +1",
                f"{SHORT['p']}: camera original on own phone phone-A:{CAMERA_PATH} (EXIF CairnDemo "
                "Synthetic One): +2",
            ),
        ),
        Score(
            BOB,
            2,
            2,
            (
                f"{SHORT['z']}: first posted in 'Quiet Room' at 2024-05-01T08:33:20Z ({B_CLOCK}), "
                "not forwarded: +1",
                f"{SHORT['z']}: in no hash set (new material): +1",
            ),
        ),
        Score(ERIN, 2, 3, erin),
        Score(
            DAN,
            1,
            4,
            (
                f"{SHORT['x']}: first posted in 'Harbour Club' at 2024-05-01T08:00:00Z ({REF}), "
                "not forwarded: +1",
                f"{SHORT['x']}: known in hash set test-known (illegal; sha256): +0",
            ),
        ),
    ]
    carol_forwards = sorted(
        [
            f"{SHORT['x']}: forwarded to 'Night Owls' at 2024-05-01T08:15:00Z ({REF}, forward "
            "score 2): +1",
            # Its time from phone-C's clock; its forward score from phone-B (iOS keeps none).
            f"{SHORT['p']}: forwarded to 'Park Run' at 2024-05-01T08:25:00Z ({C_CLOCK}, forward "
            "score 1): +1",
        ]
    )
    assert harbour.analysis.distributors == [
        Score(
            CAROL,
            4,
            1,
            (*carol_forwards, "posted media in 2 groups ('Night Owls', 'Park Run'): +2"),
        ),
        Score(
            BOB,
            3,
            2,
            (
                f"{SHORT['x']}: forwarded to 'Park Run' at 2024-05-01T08:10:00Z ({C_CLOCK}, "
                "forward score 1): +1",
                "posted media in 2 groups ('Park Run', 'Quiet Room'): +2",
            ),
        ),
        Score(
            ERIN,
            2,
            3,
            (
                f"{SHORT['w']}: forwarded to 'Night Owls' at 2024-05-01T08:40:00Z ({REF}, forward "
                "score 5): +1",
                "posted media in 1 group ('Night Owls'): +1",
            ),
        ),
        Score(ALICE, 1, 4, ("posted media in 1 group ('Night Owls'): +1",)),
        Score(DAN, 1, 5, ("posted media in 1 group ('Harbour Club'): +1",)),
    ]


def test_people(harbour: Harbour) -> None:
    people = {p.key: p for p in harbour.analysis.people}
    assert list(people) == [ALICE, BOB, ERIN, DAN, CAROL, FRANK, "lid:190000000000006"]
    alice = people[ALICE]
    assert alice.phones_owned == ("phone-A: +447700900001 (given at import)",)
    assert alice.groups == (
        "Harbour Club (admin)",
        "Night Owls (admin, created, creator, superadmin)",
    )
    assert alice.camera_matches == (
        f"{SHORT['p']} on phone-A:{CAMERA_PATH} (EXIF CairnDemo Synthetic One)",
        f"{SHORT['p']} on phone-A:data/media/0/WhatsApp/Media/WhatsApp Images/Sent/"
        "IMG-20240501-WA0003.jpg (EXIF CairnDemo Synthetic One)",
    )
    assert (alice.first_posted, alice.producer_rank, alice.distributor_rank) == ((SHA["p"],), 1, 4)
    bob = people[BOB]
    assert bob.groups == (
        "Harbour Club (added, member)",
        "Park Run (member)",
        "Quiet Room (created, superadmin)",
    )
    assert (bob.forwarded, bob.media_sent, bob.messages_seen) == ((SHA["x"],), 2, 6)
    assert people[ERIN].names == ("Erin", "Erin Harbour")
    # Frank's number (from the member list) and his unmapped @lid stay two accounts.
    assert people[FRANK].groups == ("Quiet Room (left, member)",)
    assert people["lid:190000000000006"].messages_seen == 2


def test_groups(harbour: Harbour) -> None:
    groups = {g.name: g for g in harbour.analysis.groups}
    assert groups["Harbour Club"] == GroupReport(
        "group:120363000000000011",
        "Harbour Club",
        DAN,
        "2024-04-30T08:00:00Z",
        ("phone-A", "phone-B"),
        (f"{ALICE} (admin)", f"{BOB} (member)", f"{DAN} (superadmin)"),
        (ALICE, DAN),
        (),
        # One event seen on two phones, whose stamps differ by phone-B's 90 s.
        (f"2024-05-01T06:00:00Z {BOB} added by {DAN} ({REF}; seen on phone-A, phone-B)",),
        10,
        1,
    )
    night = groups["Night Owls"]
    assert night.invite_link_joins == (f"{ERIN} at 2024-05-01T07:00:00Z ({REF}; seen on phone-A)",)
    assert (night.seen_on, night.messages, night.media_items) == (("phone-A", "phone-C"), 16, 5)
    # No wa.db on phone-B: the creator comes from the "created" event.
    assert groups["Quiet Room"].creator == BOB
    assert groups["Quiet Room"].events == (
        f"2024-04-30T18:06:40Z {BOB} created ({B_CLOCK}; seen on phone-B)",
        f"2024-05-01T08:41:40Z {FRANK} left ({B_CLOCK}; seen on phone-B)",
    )


def test_whatsapp_thumbnail_of_a_deleted_file_is_sealed(harbour: Harbour) -> None:
    key = load_or_create_key(harbour.ctx.workspace.key_file)
    with harbour.ctx.db.session() as session:
        blobs = dict(session.execute(select(MsgThumbnail.sha256, MsgThumbnail.blob)).all())
    assert list(blobs) == [SHA["x"]]
    assert b"\xff\xd8" not in blobs[SHA["x"]][:16]  # sealed, not a JPEG at rest
    with Image.open(io.BytesIO(open_thumbnail(blobs[SHA["x"]], key))) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("JPEG", (8, 8))


def test_importing_again_adds_nothing(harbour: Harbour) -> None:
    with harbour.ctx.db.session() as session:
        before = session.scalar(select(func.count()).select_from(MsgMessage))
    again = import_from_evidence(harbour.ctx, CASE, "phone-B")
    assert [(s.status, s.exit_code) for s in again] == [("already-imported", 0)]
    with harbour.ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(MsgMessage)) == before


def test_graph(harbour: Harbour) -> None:
    graph = case_graph(harbour.analysis)
    kinds = nx.get_node_attributes(graph, "kind")
    assert sorted(kinds.values()).count("media") == 5
    assert sorted(kinds.values()).count("group") == 4
    assert graph.edges[ALICE, f"media:{SHA['p']}"] == {
        "kind": "posted",
        "weight": 1,
        "first": True,
        "forwarded": 0,
    }
    assert graph.edges[CAROL, "group:120363000000000013"]["roles"] == (
        "admin, created, creator, superadmin"
    )
    alice = graph.nodes[ALICE]
    assert (alice["producer_rank"], alice["distributor_rank"]) == (1, 4)
    # Alice: two groups and one item of 15 other nodes.
    assert alice["degree_centrality"] == 0.2
    for _node, data in graph.nodes(data=True):
        assert {"community", "degree_centrality", "betweenness_centrality"} <= set(data)
    # Night Owls, where all five items pass, sits on the most shortest paths.
    betweenness = nx.get_node_attributes(graph, "betweenness_centrality")
    assert max(betweenness, key=betweenness.__getitem__) == "group:120363000000000012"


def test_cli_reports_and_graph_exports(harbour: Harbour, run_cli: RunCli) -> None:
    run = run_cli
    workspace = harbour.root / "workspace"
    code, out, err = run("messaging", "people", "--case", CASE, "--json", workspace=workspace)
    assert code == 0, err
    people = json.loads(out)
    assert people["people"][0]["key"] == ALICE
    assert people["clocks"][1]["offset"] == 90.0
    code, out, _ = run("messaging", "media", "--case", CASE, "--json", workspace=workspace)
    assert {m["sha256"] for m in json.loads(out)} == set(SHA.values())
    code, out, _ = run("messaging", "groups", "--case", CASE, workspace=workspace)
    assert code == 0 and "Harbour Club" in out
    for fmt, reader in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
        target = harbour.root / f"graph.{fmt}"
        code, _out, err = run(
            "messaging", "graph", "--case", CASE, "--format", fmt, "-o", target, workspace=workspace
        )
        assert code == 0, err
        assert err.startswith("wrote 16 nodes and ")
        assert reader(target).number_of_nodes() == 16
    code, out, _ = run(
        "messaging", "graph", "--case", CASE, "--format", "json", workspace=workspace
    )
    assert len(json.loads(out)["nodes"]) == 16
    code, _out, err = run(
        "messaging", "graph", "--case", CASE, "--format", "dot", workspace=workspace
    )
    assert code == 2 and "--format must be one of graphml, gexf, json" in err


# --- bad input -------------------------------------------------------------------------


@pytest.fixture
def case(ctx: Context) -> Context:
    create_case(ctx, "C")
    return ctx


def import_one(ctx: Context, path: Path, **options: str) -> ImportSummary:
    (summary,) = import_path(ctx, path, "C", "phone", **options)  # type: ignore[arg-type]
    return summary


def test_corrupt_database_fails_with_the_file_named(case: Context, tmp_path: Path) -> None:
    good = write_msgstore(tmp_path / "good" / "msgstore.db", example_device())
    bad = tmp_path / "msgstore.db"
    data = good.read_bytes()
    bad.write_bytes(data[:100] + b"\x00" * (len(data) - 100))
    summary = import_one(case, bad)
    assert (summary.status, summary.exit_code) == ("failed", 1)
    assert summary.issues == [
        "error unreadable (msgstore.db): SQLite cannot open it: database disk image is malformed"
    ]
    with case.db.session() as session:
        row = session.scalar(select(MsgImport))
        assert row is not None and row.status == "failed"
        assert session.scalar(select(MsgImportIssue.message)) == (
            "SQLite cannot open it: database disk image is malformed"
        )


def test_a_locked_database_is_read_as_last_committed(case: Context, tmp_path: Path) -> None:
    """WhatsApp holds its database open with a write lock: the copy is read, not the lock."""
    path = write_msgstore(tmp_path / "msgstore.db", example_device())
    with closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("DELETE FROM message")
        summary = import_one(case, path, owner="+447700900001")
        holder.execute("ROLLBACK")
    assert (summary.status, summary.counts["messages"]) == ("completed", 5)


def test_other_sqlite_files_and_plain_files_are_refused(case: Context, tmp_path: Path) -> None:
    other = tmp_path / "wa.db"
    with closing(sqlite3.connect(other)) as connection:
        connection.execute("CREATE TABLE notes (x)")
    summary = import_one(case, other)
    assert summary.issues == [
        "error unreadable (wa.db): not a WhatsApp database or chat export (SQLite tables: notes)"
    ]
    with pytest.raises(UsageError, match="is not an international phone number"):
        import_path(case, other, "C", "phone", owner="Alice")
    with pytest.raises(UsageError, match="no such file"):
        import_path(case, tmp_path / "missing.db", "C", "phone")


def test_export_with_attachments_beside_it(case: Context, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    photo = jpeg_bytes(synthetic_image(9, 64, 48))
    (folder / "IMG-20240512-WA0001.jpg").write_bytes(photo)
    (folder / "WhatsApp Chat with Playa.txt").write_text(
        "12/05/2024, 10:30 - Ana: IMG-20240512-WA0001.jpg (file attached)\n"
        "12/05/2024, 10:31 - Luis: IMG-20240512-WA0002.jpg (file attached)\n"
        "12/05/2024, 10:32 - Eva: hola\n"
    )
    (summary,) = import_path(case, folder, "C", "phone")
    # Accounts: the three voices, and the phone's (unknown) owner.
    assert (summary.format, summary.counts) == (
        "whatsapp-export",
        {"accounts": 4, "groups": 1, "messages": 3, "media": 1, "media_without_hash": 1},
    )
    analysis = analyse_case(case, "C")
    assert [m.sha256 for m in analysis.media] == [hashlib.sha256(photo).hexdigest()]
    assert analysis.media[0].first.sender == "Ana"


def test_databases_in_a_zipped_extraction(case: Context, tmp_path: Path) -> None:
    store = write_msgstore(tmp_path / "build" / "msgstore.db", example_device())
    archive = tmp_path / "phone.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.write(store, f"{DB}/msgstore.db")
        out.writestr("system/build.prop", b"ro.product.model=Zip\n")
    assert ingest(case, "C", archive, workers=0).exit_code == 0
    (summary,) = import_from_evidence(case, "C", "phone.zip")
    assert (summary.path, summary.status, summary.counts["messages"]) == (
        f"phone.zip!{DB}/msgstore.db",
        "completed",
        5,
    )
    assert summary.originals[0]["sha256"] == hashlib.sha256(store.read_bytes()).hexdigest()


def test_cli_import(tmp_path: Path, run_cli: RunCli) -> None:
    assert run_cli("case", "create", "C")[0] == 0
    store = write_msgstore(tmp_path / "phone" / "msgstore.db", example_device())
    code, out, err = run_cli(
        "messaging",
        "import",
        store,
        "--case",
        "C",
        "--evidence",
        "phone",
        "--owner",
        "+447700900001",
    )
    assert code == 0, err
    digest = hashlib.sha256(store.read_bytes()).hexdigest()
    assert f"original msgstore.db: {store.stat().st_size:,} bytes, SHA-256 {digest}" in out
    assert "deleted records: no WAL to replay" in out
    backup = tmp_path / "phone" / "msgstore.db.crypt14"
    backup.write_bytes(bytes(512))
    code, out, _ = run_cli(
        "messaging", "import", backup, "--case", "C", "--evidence", "phone", "--json"
    )
    assert code == 1
    (summary,) = json.loads(out)
    assert (summary["status"], summary["exit_code"]) == ("failed", 1)
    assert (
        "the app's key file (/data/data/com.whatsapp/files/key, 158 bytes)" in summary["issues"][0]
    )
    # Without a PATH: the artefacts of the (ingested) evidence item, here none.
    code, out, _ = run_cli("messaging", "import", "--case", "C", "--evidence", "phone")
    assert (code, out.strip()) == (0, "no WhatsApp artefacts found")


def test_every_issue_is_stored(case: Context, tmp_path: Path) -> None:
    export = tmp_path / "WhatsApp Chat with Ana.txt"
    export.write_text("".join(f"{d}/13/2023, 10:00 - Ana: bad\n" for d in range(1, 160)))
    summary = import_one(case, export)
    assert summary.issue_counts == {"info": 1, "warning": 1, "error": 159}
    assert len(summary.issues) == 100  # shown; all are stored
    with case.db.session() as session:
        stored = session.scalar(select(func.count()).select_from(MsgImportIssue))
    assert stored == 161


def test_demo_device_with_whatsapp(case: Context, tmp_path: Path) -> None:
    """What `cairn demo` can show: the demo phone's groups, producer and distributor."""
    from cairn.messaging.scenario import demo_whatsapp
    from cairn.services.demo import build_device
    from cairn.services.messaging import summary_lines

    device = build_device(tmp_path / "demo-device")
    demo_whatsapp(device)
    ingest(case, "C", device, workers=0)  # exit code 1: the demo holds a truncated JPEG
    (summary,) = import_from_evidence(case, "C", "demo-device")
    assert (summary.path, summary.counts["messages"]) == (f"{DB}/msgstore.db", 6)
    camera = "DCIM/Camera/IMG_20240512_1030.jpg"
    photo = hashlib.sha256((device / camera).read_bytes()).hexdigest()
    assert summary_lines(analyse_case(case, "C")) == [
        "WhatsApp: 2 media items shared in 2 groups, 4 people, 1 phones",
        f"top producer candidate: owner of demo-device (4 points; {photo[:12]}: first posted in "
        "'Demo Walkers' at 2024-05-01T08:00:00Z (demo-device reference clock), not forwarded: "
        "+1); `cairn messaging people --case C` explains it",
        "top distributor: +447700900102 (3 points; "
        f"{photo[:12]}: forwarded to 'Demo Photo Club' at 2024-05-01T08:10:00Z (demo-device "
        "reference clock, forward score 1): +1); `cairn messaging people --case C` explains it",
    ]


def test_databases_cairn_cannot_reach_are_reported(case: Context, tmp_path: Path) -> None:
    import tarfile

    store = write_msgstore(tmp_path / "build" / "msgstore.db", example_device())
    folder = tmp_path / "seized"
    folder.mkdir()
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as out:
        out.write(store, "msgstore.db")
    with zipfile.ZipFile(folder / "outer.zip", "w") as out:
        out.writestr("inner.zip", inner.getvalue())
    with tarfile.open(folder / "backup.tar", "w") as out:
        out.add(store, "msgstore.db")
    ingest(case, "C", folder, workers=0)
    summaries = import_from_evidence(case, "C", "seized")
    assert [(s.path, s.status, s.issues) for s in summaries] == [
        (
            "backup.tar!msgstore.db",
            "failed",
            [
                "error unreadable (backup.tar!msgstore.db): backup.tar is not a readable zip (File "
                "is not a zip file): extract it and import the file"
            ],
        ),
        (
            "outer.zip!inner.zip!msgstore.db",
            "failed",
            [
                "error unreadable (outer.zip!inner.zip!msgstore.db): inside a nested container: "
                "not read; extract it and run `cairn messaging import FILE --evidence LABEL`"
            ],
        ),
    ]
    assert all(s.exit_code == 1 for s in summaries)
