"""Chain of custody: `verify_evidence` against E01 stored hashes and examiner-given hashes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
import typer
from sqlalchemy import select, update
from typer.testing import CliRunner

from cairn.cli import workspace as cli_workspace
from cairn.cli.verify import evidence_verify
from cairn.core.errors import NotFoundError, UsageError
from cairn.services.cases import add_evidence, create_case
from cairn.services.context import Context
from cairn.services.verify import HashCheck, Reference, Status, verify_evidence
from cairn.store import audit
from cairn.store.models import AuditEvent, Evidence

CASE = "CASE-V"
MiB = 1 << 20


def run(*args: str | os.PathLike[str]) -> None:
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    subprocess.run([str(a) for a in args], check=True, capture_output=True, env=env)


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    """A small FAT volume holding one text file."""
    image = tmp_path / "usb.dd"
    run("mkfs.vfat", "-C", "-F", "16", image, "16384")
    note = tmp_path / "note.txt"
    note.write_bytes(b"benign note\n" * 1000)
    run("mcopy", "-i", image, note, "::/note.txt")
    return image


def e01_of(raw: Path, folder: Path) -> Path:
    folder.mkdir()
    run("ewfacquire", "-u", "-q", "-d", "sha1", "-c", "none", "-S", "1MiB",
        "-t", folder / "usb", raw)  # fmt: skip
    return folder / "usb.E01"


def digests(path: Path) -> dict[str, str]:
    data = path.read_bytes()
    return {name: hashlib.new(name, data).hexdigest() for name in ("md5", "sha1", "sha256")}


def register(ctx: Context, source: Path, acquisition_hash: str | None = None) -> str:
    with contextlib.suppress(UsageError):  # created by an earlier registration in the test
        create_case(ctx, CASE)
    evidence, _ = add_evidence(ctx, CASE, source, acquisition_hash=acquisition_hash)
    return evidence.label


def last_event(ctx: Context) -> AuditEvent:
    with ctx.db.session() as session:
        event = session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        assert event is not None
        assert audit.verify(session) is None  # the chain stays whole
        session.expunge(event)
        return event


def test_e01_verifies_against_its_stored_hashes(ctx: Context, raw: Path, tmp_path: Path) -> None:
    e01 = e01_of(raw, tmp_path / "ewf")
    expected = digests(raw)
    label = register(ctx, e01, f"sha256:{expected['sha256'].upper()}")
    before = [(p.stat().st_mtime_ns, p.stat().st_atime_ns) for p in sorted(e01.parent.iterdir())]
    result = verify_evidence(ctx, CASE, label)
    assert result.status is Status.VERIFIED and result.exit_code == 0
    assert result.checks == (
        HashCheck("sha256", Reference.EXAMINER, expected["sha256"], expected["sha256"]),
        HashCheck("md5", Reference.IMAGE, expected["md5"], expected["md5"]),
        HashCheck("sha1", Reference.IMAGE, expected["sha1"], expected["sha1"]),
    )
    assert result.bytes_read == raw.stat().st_size
    # Read-only, access times untouched.
    assert before == [
        (p.stat().st_mtime_ns, p.stat().st_atime_ns) for p in sorted(e01.parent.iterdir())
    ]
    event = last_event(ctx)
    assert (event.action, event.case_ref, event.user) == ("evidence.verify", CASE, ctx.actor.user)
    assert event.details["status"] == "verified"
    assert event.details["checks"][1] == {
        "algorithm": "md5", "reference": "image", "expected": expected["md5"],
        "computed": expected["md5"], "matched": True,
    }  # fmt: skip


def test_raw_image_altered_by_one_byte_fails(ctx: Context, raw: Path) -> None:
    original = digests(raw)
    label = register(ctx, raw, f"md5:{original['md5']}")
    assert verify_evidence(ctx, CASE, label).status is Status.VERIFIED
    with open(raw, "r+b") as out:  # the test's own copy of the "evidence"
        out.seek(5 * MiB)
        out.write(b"\x01")
    result = verify_evidence(ctx, CASE, label)
    assert result.status is Status.MISMATCH and result.exit_code == 1
    assert result.checks == (
        HashCheck("md5", Reference.EXAMINER, original["md5"], digests(raw)["md5"]),
    )
    event = last_event(ctx)
    assert event.details["status"] == "mismatch"
    assert event.details["checks"][0]["matched"] is False


def test_e01_with_damaged_chunk_data_fails(ctx: Context, raw: Path, tmp_path: Path) -> None:
    e01 = e01_of(raw, tmp_path / "ewf")
    note_at = raw.read_bytes().index(b"benign note")
    segment = e01.parent / "usb.E01"
    data = segment.read_bytes()
    at = data.index(raw.read_bytes()[note_at : note_at + 512])  # the note's sector, stored raw
    with open(segment, "r+b") as out:
        out.seek(at + 10)
        out.write(b"XX")
    label = register(ctx, e01)
    result = verify_evidence(ctx, CASE, label)
    # libewf zero-fills the chunk whose checksum fails: the media hash no longer matches.
    assert result.status is Status.MISMATCH
    assert [c.matched for c in result.checks] == [False, False]


def test_e01_with_a_missing_segment_is_an_error(ctx: Context, raw: Path, tmp_path: Path) -> None:
    e01 = e01_of(raw, tmp_path / "ewf")
    label = register(ctx, e01)
    e01.with_suffix(".E04").unlink()
    result = verify_evidence(ctx, CASE, label)
    assert result.status is Status.ERROR and result.exit_code == 1
    assert result.problems[0].startswith("cannot read the evidence: EIO: libewf: missing segment")
    assert last_event(ctx).details["status"] == "error"


def test_stored_hash_changed_since_registration(ctx: Context, raw: Path, tmp_path: Path) -> None:
    e01 = e01_of(raw, tmp_path / "ewf")
    label = register(ctx, e01)
    with ctx.db.session() as session:  # what registration recorded differs from the file now
        info = dict(session.scalar(select(Evidence.source_info)) or {})
        session.execute(update(Evidence).values(source_info={**info, "ewf.md5": "0" * 32}))
    result = verify_evidence(ctx, CASE, label)
    assert result.status is Status.MISMATCH
    assert [(c.reference, c.matched) for c in result.checks] == [
        (Reference.IMAGE, True), (Reference.REGISTERED, False), (Reference.IMAGE, True),
    ]  # fmt: skip


def test_nothing_to_compare(ctx: Context, raw: Path, tmp_path: Path) -> None:
    label = register(ctx, raw)
    result = verify_evidence(ctx, CASE, label)
    assert (result.status, result.exit_code, result.checks) == (Status.UNVERIFIABLE, 2, ())
    assert result.problems == (
        "no acquisition hash to compare with (register one with --acquisition-hash ALGORITHM:HEX)",
    )
    folder = tmp_path / "folder"
    folder.mkdir()
    result = verify_evidence(ctx, CASE, register(ctx, folder, "md5:" + "0" * 32))
    assert result.status is Status.UNVERIFIABLE
    assert result.problems == (
        "a directory source is a folder: it has no acquisition hash to verify",
    )
    other = tmp_path / "other.bin"
    other.write_bytes(b"x")
    result = verify_evidence(ctx, CASE, register(ctx, other, "md5:not-hex"))
    assert result.status is Status.UNVERIFIABLE
    assert result.problems == (
        "acquisition hash 'md5:not-hex' is not md5:HEX, sha1:HEX or sha256:HEX",
    )
    with pytest.raises(NotFoundError):
        verify_evidence(ctx, CASE, "no-such-label")


def test_cli_command(
    ctx: Context, raw: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = digests(raw)
    label = register(ctx, raw, f"sha1:{original['sha1']}")
    # The bare app below has no `cairn` callback: set what it would, not what an earlier
    # in-process CLI call of this worker left in the module's state.
    monkeypatch.setitem(cli_workspace._state, "workspace", workspace)
    app = typer.Typer()
    app.command()(evidence_verify)
    result = CliRunner().invoke(app, ["--case", CASE, "--evidence", label, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["status"], report["exit_code"]) == ("verified", 0)
    assert report["checks"] == [{
        "algorithm": "sha1", "reference": "examiner", "expected": original["sha1"],
        "computed": original["sha1"], "matched": True,
    }]  # fmt: skip
    with open(raw, "r+b") as out:
        out.write(b"\xff")
    result = CliRunner().invoke(app, ["--case", CASE, "--evidence", label])
    assert result.exit_code == 1
    assert "mismatch" in result.stdout
