"""Federation: trusted partner instances, what was exported to and imported from them, and the
requests for details that hits through a partner's match filter raise (docs/federation.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cairn.store.models import Base


class TrustedInstance(Base):
    """Another Cairn instance's Ed25519 public key, trusted under a name until revoked."""

    __tablename__ = "share_trust"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    public_key: Mapped[str] = mapped_column(String(64), index=True)  # hex
    added_at: Mapped[datetime]
    added_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ShareExport(Base):
    """One export of a hash set: its version, and the highest known-hash id it covered, which
    is where a later delta starts."""

    __tablename__ = "share_exports"
    __table_args__ = (UniqueConstraint("set_uid", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hashset_id: Mapped[int] = mapped_column(ForeignKey("hash_sets.id"), index=True)
    set_uid: Mapped[str] = mapped_column(String(32))  # the set's name across instances
    version: Mapped[int] = mapped_column(Integer)
    since: Mapped[int | None] = mapped_column(Integer)  # a delta's base version
    kind: Mapped[str] = mapped_column(String(20))  # hashset, filter
    last_known_id: Mapped[int] = mapped_column(BigInteger)
    entries: Mapped[int] = mapped_column(Integer)
    exported_at: Mapped[datetime]
    exported_by: Mapped[str] = mapped_column(String(200))


class ShareImport(Base):
    """One accepted share file: the importer's checkpoint per signer and set (the newest
    version imported), which refuses replays and orders deltas."""

    __tablename__ = "share_imports"
    __table_args__ = (UniqueConstraint("signer", "set_uid", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signer: Mapped[str] = mapped_column(String(64))  # public key, hex
    trust_name: Mapped[str] = mapped_column(String(200))
    set_uid: Mapped[str] = mapped_column(String(32))
    # Notice lists are versioned by their time in microseconds: 64 bits.
    version: Mapped[int] = mapped_column(BigInteger)
    since: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    hashset_id: Mapped[int | None] = mapped_column(ForeignKey("hash_sets.id"), index=True)
    entries: Mapped[int] = mapped_column(Integer)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime]
    imported_by: Mapped[str] = mapped_column(String(200))


class DetailsRequest(Base):
    """A case item found through a partner's match filter: the owner holds the details and is
    to be asked out of band. One per set, case and item."""

    __tablename__ = "share_requests"
    __table_args__ = (UniqueConstraint("hashset_id", "case_id", "media_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hashset_id: Mapped[int] = mapped_column(ForeignKey("hash_sets.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    media_sha256: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    owner: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime]


class PartnerSeries(Base):
    """A series status a partner instance shared for deconfliction: where it stands, which
    country, whom to call, and its members' SHA-256s (never media). A newer list from the same
    partner replaces its rows."""

    __tablename__ = "share_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(200), index=True)  # the trusted name
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30))  # core.types.SeriesStatus
    victim_identified: Mapped[bool | None]
    offender_identified: Mapped[bool | None]
    country: Mapped[str] = mapped_column(String(2))
    contact: Mapped[str] = mapped_column(Text, default="")
    media: Mapped[list[str]] = mapped_column(JSON)  # member SHA-256s
    received_at: Mapped[datetime]
