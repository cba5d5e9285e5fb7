"""The review workspace's tables: each case's queue as the browser pages it, the reviewers'
violent-content flags and their exposure log.

The queue is derived (from occurrences, media and matches) and kept beside them so that a page
of a million-item case is one indexed range read (keyset paging on (rank, seq)), not a
grouping of every item per request. `services.review_queue` fills it as ingest and matching add
rows, from high-water marks on the occurrence and match ids.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from cairn.store.models import Base


class QueueItem(Base):
    """One image or video of a case in its review queue; near-duplicates share a lead."""

    __tablename__ = "review_queue"
    __table_args__ = (
        Index("ix_review_queue_page", "case_id", "is_lead", "rank", "seq"),
        Index("ix_review_queue_stack", "case_id", "lead_sha256"),  # a stack's members
    )

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)  # the item's first occurrence id: arrival order
    bucket: Mapped[str] = mapped_column(String(20))  # the item's own triage bucket
    # Review order of the bucket (0 new, 1 possible, …); a lead carries its stack's lowest.
    rank: Mapped[int] = mapped_column(SmallInteger)
    lead_sha256: Mapped[str] = mapped_column(String(64))  # itself for a stack's lead
    is_lead: Mapped[bool] = mapped_column(Boolean)
    stack_size: Mapped[int] = mapped_column(Integer, default=1)  # leads: members and itself
    video: Mapped[bool] = mapped_column(Boolean, default=False)
    has_gps: Mapped[bool] = mapped_column(Boolean, default=False)
    category: Mapped[str] = mapped_column(String(40), default="")  # of the best match
    in_series: Mapped[bool] = mapped_column(Boolean, default=False)


class QueueState(Base):
    """How far a case's queue has read the occurrence and match tables."""

    __tablename__ = "review_queue_state"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    occurrence_mark: Mapped[int] = mapped_column(Integer, default=0)
    match_mark: Mapped[int] = mapped_column(Integer, default=0)


class ReviewFlag(Base):
    """A reviewer's warning on an item of a case (today: "violent"), which gates it for others."""

    __tablename__ = "review_flags"
    __table_args__ = (Index("ix_review_flags_item", "case_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"))
    flag: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]


class Exposure(Base):
    """One reveal of one item to one reviewer (or a break they took): the reviewer's own log."""

    __tablename__ = "review_exposure"
    __table_args__ = (Index("ix_review_exposure_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(10))  # reveal, break
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    sha256: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime]
    seconds: Mapped[float] = mapped_column(Float, default=0.0)  # set when the item is concealed
    ended: Mapped[bool] = mapped_column(Boolean, default=False)
    violent: Mapped[bool] = mapped_column(Boolean, default=False)  # it carried a violent flag
