"""Linking messaging media to hash sets: also known-file (NSRL) entries never matched before."""

from __future__ import annotations

from pathlib import Path

from cairn.hashsets.base import example_hashes
from cairn.hashsets.nsrl import write_rds3
from cairn.services.context import Context
from cairn.services.hashsets import import_hashset
from cairn.services.messaging.linking import known_hash_sets


def test_an_nsrl_entry_is_named_for_a_sent_file_that_is_gone(ctx: Context, tmp_path: Path) -> None:
    """A WhatsApp message names a file by SHA-256 that no device holds any more: the NSRL
    entry (kept in files, without a row until first seen) is still reported for it."""
    rows = []
    for n in range(50):
        md5, sha1, sha256 = example_hashes(n)
        rows.append((sha256.upper(), sha1.upper(), md5.upper(), f"lib{n}", "dll", n, 7))
    source = tmp_path / "rds.db"
    write_rds3(source, rows)
    import_hashset(ctx, source, "nsrl", kind="ignorable")
    wanted, unknown = example_hashes(17)[2], "ab" * 32
    with ctx.db.engine.connect() as connection:
        found = known_hash_sets(ctx, connection, [wanted, unknown])
    assert found == {wanted: ["nsrl (ignorable; sha256)"]}
