"""Grades: a reviewer's category for a media item, one row per vote (who, when, what)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cairn.store.models import Base


class Grade(Base):
    """One vote. A retracted vote stays (the history of a grading); a new vote of the same
    reviewer on the same item retracts the previous one."""

    __tablename__ = "grades"
    __table_args__ = (Index("ix_grades_case_media", "case_id", "media_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    media_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), index=True)
    # (scheme, code) as core.types.Category; scheme "ignorable" with code "" marks it ignorable.
    scheme: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(20))
    by: Mapped[str] = mapped_column(String(200))
    # The grader's agency (NULL: the local operator), which decides where the grade counts.
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    at: Mapped[datetime]
    # The stack's lead item when the vote was given to a whole stack of near-duplicates.
    via: Mapped[str | None] = mapped_column(String(64))
    retracted_at: Mapped[datetime | None]
    retracted_by: Mapped[str | None] = mapped_column(String(200))


class GradePolicy(Base):
    """How many agreeing votes an agency needs before a grade stands (UK CAID asks three)."""

    __tablename__ = "grade_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), unique=True)
    votes_required: Mapped[int] = mapped_column(Integer, default=1)
    set_at: Mapped[datetime]
    set_by: Mapped[str] = mapped_column(String(200))
