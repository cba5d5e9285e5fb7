"""Alerts ("tell me when this appears"), person notices shared with other agencies and
instances, and the hits they raise (docs/federation.md, "Alerts and notices")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cairn.store.models import Base


class Alert(Base):
    """A SHA-256, PDQ, phone number or account to watch for. A notice is also watched in other
    agencies' cases (and, exported, on partner instances); one imported from a partner names
    its origin and the id it has there."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # sha256, pdq, phone, account
    value: Mapped[str] = mapped_column(String(300))  # normalised: hex, E.164, account key
    note: Mapped[str] = mapped_column(Text, default="")
    notice: Mapped[bool] = mapped_column(Boolean, default=False)
    origin: Mapped[str | None] = mapped_column(String(200))  # trusted instance; NULL: here
    origin_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    removed_at: Mapped[datetime | None]


class AlertHit(Base):
    """An alert's value seen in a case (here), or reported by a partner instance (`remote`:
    its trusted name; no case, no item beyond the alert's own value)."""

    __tablename__ = "alert_hits"
    __table_args__ = (UniqueConstraint("alert_id", "case_id", "item", "remote"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    item: Mapped[str] = mapped_column(String(300))  # a media SHA-256 or an account key
    source: Mapped[str] = mapped_column(String(20))  # match, messaging, partner
    remote: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime]
