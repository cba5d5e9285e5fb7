"""The tables. Media is content-addressed by SHA-256; each place it was found is an Occurrence.

Paths are stored as bytes (BLOB / bytea): seized file names are not always UTF-8 and must
survive byte for byte. Times are UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cairn.core.thresholds import PDQ_MATCH_DISTANCE

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
    }


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    # The owning agency (identity_models.Agency); NULL: the local operator's workspace.
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)


class Evidence(Base):
    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("case_id", "label"),
        UniqueConstraint("case_id", "source_path"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    label: Mapped[str] = mapped_column(String(300))
    source_path: Mapped[str] = mapped_column(Text)  # resolved; "the same source again" = same path
    source_kind: Mapped[str] = mapped_column(String(50))
    custodian: Mapped[str | None] = mapped_column(Text)
    seized_at: Mapped[datetime | None]
    timezone: Mapped[str | None] = mapped_column(String(64))
    acquisition_hash: Mapped[str | None] = mapped_column(Text)  # "algorithm:hex" as given
    source_info: Mapped[dict[str, Any] | None]
    added_at: Mapped[datetime]
    added_by: Mapped[str] = mapped_column(String(200))


class Media(Base):
    __tablename__ = "media"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    md5: Mapped[str] = mapped_column(String(32), index=True)
    sha1: Mapped[str] = mapped_column(String(40), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str | None] = mapped_column(String(200))
    width: Mapped[int | None]
    height: Mapped[int | None]
    pdq: Mapped[str | None] = mapped_column(String(64))
    pdq_quality: Mapped[int | None]
    pdq_method: Mapped[str | None] = mapped_column(String(10))
    exif_make: Mapped[str | None] = mapped_column(Text)
    exif_model: Mapped[str | None] = mapped_column(Text)
    exif_serial: Mapped[str | None] = mapped_column(Text)
    exif_software: Mapped[str | None] = mapped_column(Text)
    exif_datetime_original: Mapped[str | None] = mapped_column(String(40))
    gps_lat: Mapped[float | None]
    gps_lon: Mapped[float | None]
    exif_thumbnail: Mapped[bool] = mapped_column(Boolean, default=False)
    exif_thumbnail_distance: Mapped[int | None]
    exif_image_unique_id: Mapped[str | None] = mapped_column(Text)
    exif_lens_serial: Mapped[str | None] = mapped_column(Text)
    jpeg_signature: Mapped[str | None] = mapped_column(String(32), index=True)
    jpeg_quality: Mapped[int | None]  # IJG quality of standard tables; None: the encoder's own
    jpeg_origin: Mapped[str | None] = mapped_column(String(10))  # camera, re-saved


class Thumbnail(Base):
    """Review thumbnails, AES-GCM encrypted: as sensitive as the evidence itself."""

    __tablename__ = "thumbnails"

    sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), primary_key=True)
    blob: Mapped[bytes] = mapped_column(LargeBinary)


class ProcessingRun(Base):
    __tablename__ = "processing_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))
    command: Mapped[str] = mapped_column(String(50))
    cairn_version: Mapped[str] = mapped_column(String(40))
    libraries: Mapped[dict[str, Any]]
    settings: Mapped[dict[str, Any]]
    host: Mapped[str] = mapped_column(String(200))
    user: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")
    counts: Mapped[dict[str, Any] | None]


class Occurrence(Base):
    __tablename__ = "occurrences"
    # Paths are not unique: a zip may hold two members of one name, a FAT folder two deleted
    # entries that read alike. Resuming keys on top-level paths (depth 0) only.
    __table_args__ = (
        Index("ix_occurrences_evidence_path", "evidence_id", "path"),
        Index("ix_occurrences_evidence_depth", "evidence_id", "depth"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"))
    path: Mapped[bytes] = mapped_column(LargeBinary)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    container: Mapped[bytes | None] = mapped_column(LargeBinary)
    kind: Mapped[str] = mapped_column(String(20))
    size: Mapped[int | None] = mapped_column(BigInteger)
    media_sha256: Mapped[str | None] = mapped_column(ForeignKey("media.sha256"), index=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    unallocated: Mapped[bool] = mapped_column(Boolean, default=False)
    offset: Mapped[int | None] = mapped_column(BigInteger)
    inode: Mapped[str | None] = mapped_column(String(100))
    mtime: Mapped[datetime | None]
    ctime: Mapped[datetime | None]
    atime: Mapped[datetime | None]
    crtime: Mapped[datetime | None]
    flags: Mapped[str] = mapped_column(String(200), default="")  # comma-separated Flag values
    run_id: Mapped[int | None] = mapped_column(ForeignKey("processing_runs.id"))


class IngestError(Base):
    __tablename__ = "ingest_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"), index=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id"), index=True)
    path: Mapped[bytes] = mapped_column(LargeBinary)
    stage: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("processing_runs.id"))


class AuditEvent(Base):
    """Append-only and hash-chained: each event's hash covers its content and the previous hash."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    user: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    case_ref: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Where the request came from ("cli", a client address) and the acting user's agency.
    # NULL in events written before they existed; hashed only when set (store/audit.py).
    origin: Mapped[str | None] = mapped_column(String(100))
    agency: Mapped[str | None] = mapped_column(String(40))


class MediaPdqVariant(Base):
    """Extra PDQs of one image (rotations, flips, trimmed borders) that matching queries too."""

    __tablename__ = "media_pdq_variants"

    media_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), primary_key=True)
    variant: Mapped[str] = mapped_column(String(40), primary_key=True)
    pdq: Mapped[str] = mapped_column(String(64))
    quality: Mapped[int]


class HashSet(Base):
    """An imported list of known hashes. Removing one keeps the matches it already produced."""

    __tablename__ = "hash_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # illegal, ignorable, alert
    format: Mapped[str] = mapped_column(String(40))
    source_file: Mapped[str] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64))
    source_date: Mapped[datetime | None]  # the file's modification time
    pdq_threshold: Mapped[int] = mapped_column(Integer, default=PDQ_MATCH_DISTANCE)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    bad_records: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime]
    imported_by: Mapped[str] = mapped_column(String(200))
    removed_at: Mapped[datetime | None]
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)  # usable by every agency
    # The partner instance a set was imported from (its trusted name); NULL: made here.
    owner: Mapped[str | None] = mapped_column(String(200))


class KnownHash(Base):
    """One record of a hash set. Lookups go through the workspace's index files, not SQL
    indexes: a national set or NSRL has tens of millions of rows."""

    __tablename__ = "known_hashes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    hashset_id: Mapped[int] = mapped_column(ForeignKey("hash_sets.id"), index=True)
    md5: Mapped[str | None] = mapped_column(String(32))
    sha1: Mapped[str | None] = mapped_column(String(40))
    sha256: Mapped[str | None] = mapped_column(String(64))
    pdq: Mapped[str | None] = mapped_column(String(64))
    photodna: Mapped[str | None] = mapped_column(Text)
    category_scheme: Mapped[str | None] = mapped_column(String(10))
    category_code: Mapped[str | None] = mapped_column(String(20))
    series: Mapped[str | None] = mapped_column(Text)  # comma-separated, as VICS writes it
    victim_identified: Mapped[bool | None]
    offender_identified: Mapped[bool | None]
    distributed: Mapped[bool | None]
    media_id: Mapped[str | None] = mapped_column(Text)  # the source's id (MediaID, Image ID)
    file_name: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any] | None]  # comments, tags, MIME type, format-specific facts


class Match(Base):
    """A media item found in a hash set. Carries the set file's SHA-256 so the finding stays
    traceable to its source even after the set is removed."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("media_sha256", "known_hash_id", "method", "variant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    media_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), index=True)
    hashset_id: Mapped[int] = mapped_column(ForeignKey("hash_sets.id"), index=True)
    known_hash_id: Mapped[int] = mapped_column(ForeignKey("known_hashes.id"))
    method: Mapped[str] = mapped_column(String(10))  # md5, sha1, sha256, pdq
    distance: Mapped[int] = mapped_column(Integer, default=0)
    variant: Mapped[str] = mapped_column(String(40), default="")  # "" = the image as stored
    band: Mapped[str] = mapped_column(String(10))  # match, possible
    hashset_file_sha256: Mapped[str] = mapped_column(String(64))
    matched_at: Mapped[datetime]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("processing_runs.id"))
