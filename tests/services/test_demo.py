"""`cairn demo` end to end: the README's first command must keep working and keep showing
what the demo promises (duplicates, a recovered deleted photo, triage of known material)."""

from __future__ import annotations

from pathlib import Path

from cairn.services.context import Context
from cairn.services.demo import run_demo
from cairn.services.status import case_status


def test_demo_finds_what_it_planted(ctx: Context, tmp_path: Path) -> None:
    result = run_demo(ctx, tmp_path / "device", workers=0)
    # 23 files, the WhatsApp database and two generated videos
    assert result.ingest.counts["hashed"] == 27
    assert [e.path for e in result.ingest.errors] == [b"Documents/broken.jpg"]
    assert result.more_ingests and result.more_ingests[0].counts["hashed"] == 2
    findings = "\n".join(result.findings)
    assert "1 deleted file(s) recovered with digests: _eleted.jpg" in findings
    assert "content does not match its name: device:Documents/notes.dat" in findings
    assert "device:Download/backup.zip!backup/inner.zip!inner/photo.jpg" in findings
    triage = "triage of unique items: known 2, near-known 7, known-ignorable 1, possible 0, new 13"
    assert triage in findings  # the clip is near-known; the database and the other film new
    assert "device:videos/clip.mp4: clip of known video demo-known-videos:" in findings
    assert "WhatsApp: 2 media items shared in 2 groups" in findings
    assert "phone owner of device: +447700900100 (stated by the phone:" in findings
    assert "top producer candidate: +447700900100" in findings
    assert "  2024-05-01T08:16:00Z +447700900103: nice walk" in findings
    assert "location: +447700900103 shared 51.50740, -0.12780" in findings
    assert "top distributor: +447700900102" in findings
    assert "report it: cairn report --case DEMO-1 --format pdf -o DEMO-1.pdf" in findings
    assert "review it in a browser: http://127.0.0.1:8000/cases/DEMO-1/queue" in findings
    assert (
        "identified elsewhere: series 'Demo series Z' of DEMO-2 (identified; contact "
        "victim-id@demo-2.example) holds device:DCIM/Camera/IMG_20240515_1030.jpg (sha256)"
    ) in findings
    assert "proposed series of 4 new items: device:DCIM/Camera/IMG_20240513_1030.jpg" in findings
    assert "proposed series of 4 new items: device:Movies/VID_0910.mp4 (local-features)" in findings
    # A cropped copy found and a re-shot scene linked, by local features; and the room filmed,
    # linked at its first frame.
    linked = [line for line in result.findings if line.startswith("same picture or scene")]
    room, reshot = "Pictures/Room/IMG_0900.jpg", "Pictures/Room/IMG_0905.jpg"
    cropped = "WhatsApp/Media/WhatsApp Images/IMG-20240602-WA0003.jpg"
    film = "device:Movies/VID_0910.mp4 (its frame at 0 s)"
    for a, b in ((room, cropped), (room, reshot), (film, room), (film, reshot), (film, cropped)):
        assert any(a in line and b in line for line in linked), (a, b)
    statuses = {s.label: s for s in case_status(ctx, "DEMO-1")}
    assert statuses["device"].enumerated == statuses["device"].hashed == 27
    # Running it again adds nothing: the device, the sets and the case are reused.
    again = run_demo(ctx, tmp_path / "device", workers=0)
    assert again.ingest.counts == {} and again.matched.new_matches == 0


def test_demo_command(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli("demo", "--output", tmp_path / "device")
    assert code == 0, err
    assert "need no human view" in out
