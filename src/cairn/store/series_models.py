"""Series: the images of one abuse event or victim, owned by an agency (identity_models.Agency)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cairn.store.models import Base


class Series(Base):
    """A set of images of one abuse event or victim, worked by victim-identification staff.
    A shared series is visible to every agency, so that an identified victim is known as such."""

    __tablename__ = "series"
    __table_args__ = (UniqueConstraint("agency_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    victim_identified: Mapped[bool | None]
    offender_identified: Mapped[bool | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
