"""Signed bundles between two instances: round trip, deltas, and every refusal (nothing
imported, on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cairn.core.errors import CairnError, UsageError
from cairn.hashsets.share_file import ShareFileError, ShareWriter
from cairn.services.cases import create_case
from cairn.services.context import Context
from cairn.services.hashsets import import_hashset, list_hashsets
from cairn.services.sharing.bundles import export_bundle, import_share
from cairn.services.sharing.trust import export_public_key, instance_key, revoke_trust, trust
from cairn.store.models import HashSet, KnownHash
from cairn.store.share_models import ShareImport

from .conftest import PDQ, SHA, set_file


def _entries(ctx: Context, name: str) -> list[tuple[object, ...]]:
    with ctx.db.session() as session:
        rows = session.execute(
            select(
                KnownHash.sha256,
                KnownHash.pdq,
                KnownHash.category_scheme,
                KnownHash.category_code,
                KnownHash.series,
            )
            .join(HashSet, HashSet.id == KnownHash.hashset_id)
            .where(HashSet.name == name)
            .order_by(KnownHash.id)
        )
        return [tuple(r) for r in rows]


def _nothing_imported(ctx: Context) -> None:
    assert [h.name for h in list_hashsets(ctx, include_removed=True)] == []
    with ctx.db.session() as session:
        assert session.scalar(select(func.count(KnownHash.id))) == 0
        assert session.scalar(select(func.count(ShareImport.id))) == 0


def test_a_bundle_round_trips_hashes_labels_and_provenance(
    partner: Context, trusted: Context, tmp_path: Path
) -> None:
    out = tmp_path / "national.share"
    summary = export_bundle(partner, "national", out)
    assert (summary.version, summary.entries, summary.since) == (1, 4, None)
    imported = import_share(trusted, out)
    assert (imported.name, imported.owner, imported.entries) == ("national", "NL", 4)
    assert _entries(trusted, "national") == _entries(partner, "national")
    (info,) = list_hashsets(trusted)
    assert (info.owner, info.kind, info.format, info.entries) == (
        "NL",
        "illegal",
        "share-bundle",
        4,
    )
    with trusted.db.session() as session:
        details = session.scalars(select(KnownHash.details)).first()
    assert details is not None
    assert dict(details["extra"])["submissions"] == "1"
    assert datetime.fromisoformat(dict(details["extra"])["first_seen"]).tzinfo is not None
    text = out.read_bytes()
    assert b"national.csv" not in text and b"partner" not in text  # no path leaves


def test_deltas_imported_in_order_equal_the_whole_set(
    partner: Context, trusted: Context, tmp_path: Path
) -> None:
    first = tmp_path / "v1.share"
    export_bundle(partner, "national", first)
    more = set_file(tmp_path, "more.csv", [f"{SHA[3]},,vics:1,Bridge", f"{SHA[4]},,,"])
    import_hashset(partner, more, "national", append=True)
    delta = tmp_path / "v2.share"
    assert export_bundle(partner, "national", delta, since=1).entries == 2
    whole = tmp_path / "v3.share"
    assert export_bundle(partner, "national", whole).entries == 6

    with pytest.raises(ShareFileError, match="in order"):
        import_share(trusted, delta)  # a delta before its base
    _nothing_imported(trusted)
    import_share(trusted, first)
    import_share(trusted, delta, "ignored: a delta goes into its base set")
    assert len(_entries(trusted, "national")) == 6
    assert _entries(trusted, "national") == _entries(partner, "national")
    with pytest.raises(ShareFileError, match="replay"):
        import_share(trusted, delta)
    with pytest.raises(ShareFileError, match="replay"):
        import_share(trusted, first)


def test_an_export_refuses_labels_that_are_paths_or_case_names(
    partner: Context, tmp_path: Path
) -> None:
    create_case(partner, "OP-7")
    for n, series in enumerate(["C:\\Users\\x\\IMG_1.jpg", "/mnt/exhibits/a.jpg", "OP-7"]):
        path = set_file(tmp_path, f"bad{n}.csv", [f"{SHA[0]},,vics:1,{series}"])
        import_hashset(partner, path, f"bad{n}")
        out = tmp_path / f"bad{n}.share"
        with pytest.raises(UsageError, match="refusing to export"):
            export_bundle(partner, f"bad{n}", out)
        assert list(tmp_path.glob(f"*bad{n}.share*")) == []


def _tampered(source: Path, target: Path, offset: int) -> Path:
    data = bytearray(source.read_bytes())
    data[offset] ^= 0x01
    target.write_bytes(bytes(data))
    return target


def _signed(partner: Context, path: Path, body: bytes, **manifest: object) -> Path:
    writer = ShareWriter(path)
    writer.write(body)
    base = {
        "kind": "hashset",
        "set": {"uid": "a" * 32, "name": "forged", "kind": "illegal", "pdq_threshold": 31},
        "version": 1,
        "since": None,
        "entries": 1,
    }
    writer.finish({**base, **manifest}, instance_key(partner))
    return path


def _entry(**extra: object) -> bytes:
    entry = {"sha256": SHA[0], "first_seen": "2026-01-01T00:00:00+00:00", "submissions": 1}
    return json.dumps({**entry, **extra}).encode() + b"\n"


def test_every_refusal_imports_nothing(partner: Context, trusted: Context, tmp_path: Path) -> None:
    good = tmp_path / "good.share"
    export_bundle(partner, "national", good)
    size = good.stat().st_size
    cases: dict[str, tuple[Path, str]] = {
        "changed body byte": (_tampered(good, tmp_path / "b.share", 20), "signed hash"),
        "changed manifest byte": (_tampered(good, tmp_path / "m.share", size - 140), "signature"),
        "changed signature": (_tampered(good, tmp_path / "s.share", size - 3), "signature"),
        "not a share file": (set_file(tmp_path, "plain.csv", [SHA[0]]), "not a Cairn share"),
        "entries declared wrong": (
            _signed(partner, tmp_path / "e.share", _entry() + _entry(), entries=1),
            "declares 1",
        ),
        "forbidden field": (
            _signed(partner, tmp_path / "f.share", _entry(path="DCIM/a.jpg")),
            "may not carry: path",
        ),
        "absurd size": (
            _signed(partner, tmp_path / "a.share", _entry(), entries=10**12),
            "absurd",
        ),
        "bad hash": (_signed(partner, tmp_path / "h.share", _entry(sha256="xyz")), "entry 1"),
    }
    truncated = tmp_path / "t.share"
    truncated.write_bytes(good.read_bytes()[: size // 2])
    cases["truncated"] = (truncated, r"truncated|signature")
    for what, (path, message) in cases.items():
        with pytest.raises(ShareFileError, match=message):
            import_share(trusted, path)
        _nothing_imported(trusted)
        assert what


def test_unknown_revoked_and_expired_signers_are_refused(
    partner: Context, db_ctx: Context, tmp_path: Path
) -> None:
    bundle = tmp_path / "national.share"
    export_bundle(partner, "national", bundle)
    with pytest.raises(ShareFileError, match="unknown instance"):
        import_share(db_ctx, bundle)
    key = tmp_path / "nl.key"
    export_public_key(partner, key)
    trust(db_ctx, "NL", key, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(ShareFileError, match="revoked or expired"):
        import_share(db_ctx, bundle)
    revoke_trust(db_ctx, "NL")
    with pytest.raises(ShareFileError, match="revoked or expired"):
        import_share(db_ctx, bundle)
    _nothing_imported(db_ctx)
    trust(db_ctx, "NL", key)
    assert import_share(db_ctx, bundle).entries == 4


def test_trust_refuses_own_key_and_bad_key_files(db_ctx: Context, tmp_path: Path) -> None:
    own = tmp_path / "own.key"
    export_public_key(db_ctx, own)
    with pytest.raises(UsageError, match="own key"):
        trust(db_ctx, "me", own)
    junk = tmp_path / "junk.key"
    junk.write_text("not a key")
    with pytest.raises(UsageError, match="not a Cairn instance key"):
        trust(db_ctx, "x", junk)
    key_file = db_ctx.workspace.root / "instance.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.read_bytes().hex() not in own.read_text()
    assert isinstance(ShareFileError("x"), CairnError)
    assert PDQ
