"""Series: the media of one abuse event or victim, owned by an agency (identity_models.Agency),
their members and their history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cairn.store.models import Base


class Series(Base):
    """A set of images of one abuse event or victim, worked by victim-identification staff.
    A shared series is visible to every agency, so that an identified victim is known as such."""

    __tablename__ = "series"
    __table_args__ = (UniqueConstraint("agency_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # NULL: the local operator's workspace, like Case.agency_id.
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    victim_identified: Mapped[bool | None]
    offender_identified: Mapped[bool | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30), default="unidentified")  # SeriesStatus
    # Whom another agency asks about the series ("identified elsewhere": call them first).
    contact: Mapped[str] = mapped_column(Text, default="")
    # Set when merged into another series: kept for its history, no longer listed.
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("series.id"))


class SeriesMedia(Base):
    """A media item that a specialist filed in a series (Cairn only proposes)."""

    __tablename__ = "series_media"

    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), primary_key=True)
    media_sha256: Mapped[str] = mapped_column(
        ForeignKey("media.sha256"), primary_key=True, index=True
    )
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))  # where it was seen
    added_at: Mapped[datetime]
    added_by: Mapped[str] = mapped_column(String(200))


class SeriesEvent(Base):
    """The history of a series: each change, by whom, when, and why (a status going back
    needs a reason)."""

    __tablename__ = "series_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    details: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(Text, default="")
