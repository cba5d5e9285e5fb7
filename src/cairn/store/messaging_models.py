"""Messaging tables (issue 6): imports, accounts, groups, group events, messages, thumbnails.

Accounts and groups belong to the case, so the same person on three phones is one row;
messages and group events belong to the import (one artefact of one evidence item) that
read them. A message's media is its SHA-256 with no foreign key to `media`: the file may be
gone from every device, and the hash still links the message to hash sets.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cairn.store.models import Base

# Messages run to millions per case: 64-bit ids on PostgreSQL (SQLite's rowid already is).
_BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class MsgAccount(Base):
    __tablename__ = "msg_accounts"
    __table_args__ = (UniqueConstraint("case_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    key: Mapped[str] = mapped_column(String(300))  # E.164, lid:…, name:…, owner:… (identity)
    phone: Mapped[str | None] = mapped_column(String(32))
    jid: Mapped[str | None] = mapped_column(Text)
    lid: Mapped[str | None] = mapped_column(Text)
    display_name: Mapped[str | None] = mapped_column(Text)
    push_name: Mapped[str | None] = mapped_column(Text)


class MsgImport(Base):
    """One artefact read from one evidence item, with the digests of its original files."""

    __tablename__ = "msg_imports"
    __table_args__ = (UniqueConstraint("evidence_id", "path", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"))
    format: Mapped[str] = mapped_column(String(40))
    path: Mapped[str] = mapped_column(Text)  # relative to the evidence root, or as given
    sha256: Mapped[str] = mapped_column(String(64))  # of the original main file
    originals: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # name, sha256, size
    owner_account_id: Mapped[int | None] = mapped_column(ForeignKey("msg_accounts.id"))
    # How the owner is known: "given at import", "inferred from …"; None: not known.
    owner_source: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # completed, failed
    counts: Mapped[dict[str, Any]]
    recovery: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime]
    imported_by: Mapped[str] = mapped_column(String(200))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("processing_runs.id"))


class MsgImportIssue(Base):
    """What an import could not use or could not offer: nothing read is dropped silently."""

    __tablename__ = "msg_import_issues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("msg_imports.id"), index=True)
    severity: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(40))
    location: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)


class MsgGroup(Base):
    __tablename__ = "msg_groups"
    __table_args__ = (UniqueConstraint("case_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    key: Mapped[str] = mapped_column(String(300))
    name: Mapped[str | None] = mapped_column(Text)
    creator_account_id: Mapped[int | None] = mapped_column(ForeignKey("msg_accounts.id"))
    created_at: Mapped[datetime | None]


class MsgGroupEvent(Base):
    """Membership over time: a member/admin snapshot (no time) or a dated join, add, leave."""

    __tablename__ = "msg_group_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("msg_imports.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("msg_groups.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("msg_accounts.id"))
    action: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime | None]
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("msg_accounts.id"))


class MsgMessage(Base):
    __tablename__ = "msg_messages"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("msg_imports.id"), index=True)
    source_row: Mapped[int] = mapped_column(BigInteger)  # _id, Z_PK or export line
    key_id: Mapped[str | None] = mapped_column(String(100), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("msg_groups.id"))
    peer_account_id: Mapped[int | None] = mapped_column(ForeignKey("msg_accounts.id"))
    sender_account_id: Mapped[int | None] = mapped_column(ForeignKey("msg_accounts.id"))
    from_me: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime | None]  # the device's clock, UTC; offsets are applied in analysis
    kind: Mapped[str] = mapped_column(String(30))
    text: Mapped[str | None] = mapped_column(Text)
    forwarded: Mapped[bool | None] = mapped_column(Boolean)  # None: the artefact cannot say
    forward_score: Mapped[int | None] = mapped_column(Integer)
    media_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    media_path: Mapped[str | None] = mapped_column(Text)
    media_size: Mapped[int | None] = mapped_column(BigInteger)
    media_mime: Mapped[str | None] = mapped_column(String(200))
    media_caption: Mapped[str | None] = mapped_column(Text)
    recovered: Mapped[str | None] = mapped_column(String(100))  # how a deleted row came back
    latitude: Mapped[float | None] = mapped_column(Float)  # a location message: WGS 84
    longitude: Mapped[float | None] = mapped_column(Float)
    place_name: Mapped[str | None] = mapped_column(Text)


class MsgThumbnail(Base):
    """A thumbnail WhatsApp kept for a media file, re-encoded and sealed like review
    thumbnails (AES-GCM, workspace key): the only view of media whose file is gone."""

    __tablename__ = "msg_thumbnails"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    import_id: Mapped[int] = mapped_column(ForeignKey("msg_imports.id"))
