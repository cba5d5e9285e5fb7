"""Links between two media items of the workspace (docs/architecture.md, "Links").

One row per (pair, method), the pair in canonical order (`a_sha256 < b_sha256`), so that a link
is stored once and read from either side: a case ingested earlier shows the links that a later
case made to it. Which cases a link is shown in is decided when reading, from the occurrences
of each side and the reader's agency (`cairn.services.links`), never stored with the link.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cairn.store.models import Base


class MediaLink(Base):
    __tablename__ = "media_links"
    __table_args__ = (UniqueConstraint("a_sha256", "b_sha256", "method"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    a_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), index=True)
    b_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), index=True)
    method: Mapped[str] = mapped_column(String(30))  # services.links.METHODS
    score: Mapped[float] = mapped_column(Float)  # 0..1, higher is more certain
    # [x, y, w, h] in pixels of each image that the link rests on; None: the whole item.
    a_region: Mapped[list[int] | None] = mapped_column(JSON)
    b_region: Mapped[list[int] | None] = mapped_column(JSON)
    details: Mapped[dict[str, Any]]  # method facts: distance, variant, inliers, model...
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("processing_runs.id"))
