"""The instance's Ed25519 identity key and the partner instances it trusts.

The private key is a 32-byte seed in the workspace (`instance.key`, mode 0600, made on first
use, never logged); other instances know this one by its public key, trusted under a name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.core import keys
from cairn.core.errors import NotFoundError, UsageError
from cairn.hashsets.share_file import ShareFileError, public_key_hex
from cairn.services.context import Context
from cairn.store import audit
from cairn.store.share_models import TrustedInstance

KEY_FILE = "instance.key"
KEY_FORMAT = "cairn-instance-key/1"
MAX_KEY_FILE = 4096


@dataclass(frozen=True)
class TrustInfo:
    name: str
    public_key: str
    added_at: str
    added_by: str
    expires_at: str | None
    revoked_at: str | None


def instance_key(ctx: Context) -> Ed25519PrivateKey:
    seed = keys.load_or_create_key(ctx.workspace.root / KEY_FILE, "instance key")
    return Ed25519PrivateKey.from_private_bytes(seed)


def export_public_key(ctx: Context, out: Path) -> str:
    """Write this instance's public key (only that) to `out`; returns it in hex."""
    public = public_key_hex(instance_key(ctx))
    out.write_text(json.dumps({"format": KEY_FORMAT, "public_key": public}) + "\n")
    with ctx.db.session() as session:
        audit.record(session, ctx.actor, "share.key.export", None, public_key=public)
    return public


def read_public_key(path: Path) -> str:
    try:
        with path.open("rb") as file:
            data = json.loads(file.read(MAX_KEY_FILE + 1))
        if data["format"] != KEY_FORMAT:
            raise ValueError
        key = bytes.fromhex(data["public_key"])
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"{path}: not a Cairn instance key ({KEY_FORMAT})") from None
    if len(key) != 32:
        raise UsageError(f"{path}: an Ed25519 public key is 32 bytes")
    return key.hex()


def _info(row: TrustedInstance) -> TrustInfo:
    return TrustInfo(
        row.name,
        row.public_key,
        row.added_at.isoformat(),
        row.added_by,
        row.expires_at.isoformat() if row.expires_at else None,
        row.revoked_at.isoformat() if row.revoked_at else None,
    )


def trust(
    ctx: Context, name: str, key_file: Path, *, expires_at: datetime | None = None
) -> TrustInfo:
    """Trust another instance's key under `name` (a revoked name may be trusted again)."""
    if not name.strip() or len(name) > 200:
        raise UsageError("a trusted instance needs a name of at most 200 characters")
    if expires_at is not None and expires_at.tzinfo is None:
        raise UsageError("--expires needs a UTC offset")
    public = read_public_key(key_file)
    if public == public_key_hex(instance_key(ctx)):
        raise UsageError(f"{key_file}: that is this instance's own key")
    now = datetime.now(UTC)
    with ctx.db.session() as session:
        row = session.scalar(select(TrustedInstance).where(TrustedInstance.name == name))
        if row is not None and row.revoked_at is None:
            raise UsageError(f"{name!r} is already trusted; revoke it first to change its key")
        if row is None:
            row = TrustedInstance(name=name, public_key=public, added_at=now, added_by="")
            session.add(row)
        row.public_key, row.added_at, row.added_by = public, now, ctx.actor.user
        row.expires_at, row.revoked_at = expires_at, None
        audit.record(session, ctx.actor, "share.trust", None, name=name, public_key=public)
        session.flush()
        return _info(row)


def list_trust(ctx: Context) -> list[TrustInfo]:
    with ctx.db.session() as session:
        rows = session.scalars(select(TrustedInstance).order_by(TrustedInstance.name))
        return [_info(row) for row in rows]


def revoke_trust(ctx: Context, name: str) -> TrustInfo:
    with ctx.db.session() as session:
        row = session.scalar(
            select(TrustedInstance).where(
                TrustedInstance.name == name, TrustedInstance.revoked_at.is_(None)
            )
        )
        if row is None:
            raise NotFoundError(f"no trusted instance {name!r}")
        row.revoked_at = datetime.now(UTC)
        audit.record(session, ctx.actor, "share.revoke", None, name=name)
        session.flush()
        return _info(row)


def trusted_signer(session: Session, signer: str) -> str:
    """The name under which `signer` (a public key, hex) is trusted now; ShareFileError for an
    unknown, revoked or expired signer."""
    rows = list(
        session.scalars(select(TrustedInstance).where(TrustedInstance.public_key == signer))
    )
    now = datetime.now(UTC)
    for row in rows:
        expires = row.expires_at
        if expires is not None and expires.tzinfo is None:  # SQLite returns naive UTC
            expires = expires.replace(tzinfo=UTC)
        if row.revoked_at is None and (expires is None or expires > now):
            return row.name
    if not rows:
        raise ShareFileError(f"signed by an unknown instance (key {signer[:16]}…): not trusted")
    raise ShareFileError(f"signed by {rows[0].name!r}, whose trust is revoked or expired")
