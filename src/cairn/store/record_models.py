"""Victim-identification records of a series: victims, offenders, location clues, leads, object
crops for Trace an Object and their tips, their one history table, and the outcome inbox.

Every record belongs to a series (series_models.Series) and follows its agency's rules. Country
evidence (clues, tips) is a JSON list of {"country", "stance", "confidence"}: it is read whole
to rank a series' countries, never queried by country.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cairn.store.models import Base


class Victim(Base):
    __tablename__ = "victims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    age_band: Mapped[str] = mapped_column(String(20))
    sex: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(Text)  # only where the agency enters one
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class Person(Base):
    """An offender or suspect. Phones (E.164) and accounts are matched to the messaging
    analysis' accounts when shown, so that a person links to every case that knows them."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(Text)
    phones: Mapped[list[str]] = mapped_column(JSON)
    accounts: Mapped[list[str]] = mapped_column(JSON)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class LocationClue(Base):
    """Something seen in a media item's region (or a place a message gave) that points to or
    away from countries."""

    __tablename__ = "location_clues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)  # the words of a text or sign
    language: Mapped[str | None] = mapped_column(String(35))
    socket_type: Mapped[str | None] = mapped_column(String(2))  # IEC plug type letter
    media_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    region: Mapped[str | None] = mapped_column(String(60))  # "x,y,w,h" in the media's pixels
    message_id: Mapped[int | None] = mapped_column(BigInteger)  # a messaging location
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    countries: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class Lead(Base):
    """A series disseminated to another country's police: when, by whom, what came of it."""

    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    country: Mapped[str] = mapped_column(String(2))
    sent_at: Mapped[datetime]
    sent_by: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class ObjectCrop(Base):
    """Trace an Object: a benign object cut from a clue's region, sealed like thumbnails until
    a specialist confirms it shows no person; only a confirmed crop is ever exported."""

    __tablename__ = "object_crops"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    clue_id: Mapped[int] = mapped_column(ForeignKey("location_clues.id"), index=True)
    media_sha256: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(60))
    blob: Mapped[bytes] = mapped_column(LargeBinary)  # JPEG, AES-GCM sealed
    sha256: Mapped[str] = mapped_column(String(64))  # of the crop's JPEG
    detector: Mapped[str | None] = mapped_column(Text)  # None: no face detector ran
    faces: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(20))
    confirmed_by: Mapped[str | None] = mapped_column(String(200))
    confirmed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class Tip(Base):
    """What the public or a partner said about a published object."""

    __tablename__ = "tips"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    crop_id: Mapped[int] = mapped_column(ForeignKey("object_crops.id"), index=True)
    source: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    countries: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class RecordChange(Base):
    """The history of every record above: who changed what, when, and why."""

    __tablename__ = "record_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # victim, person, clue, lead, crop, tip
    record_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(20))  # create, update
    changes: Mapped[dict[str, Any]]
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(200))


class InboxEntry(Base):
    """Outcome feedback: a series someone worked on was identified or safeguarded."""

    __tablename__ = "inbox_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(200), index=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"))
    outcome: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
