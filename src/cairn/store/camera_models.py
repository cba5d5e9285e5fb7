"""Camera forensics: sensor-noise residuals of media, cameras fingerprinted in a case, and
the PCE tests of media against them (docs/camera.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cairn.store.models import Base


class PrnuResidual(Base):
    """An image's noise residual (camera.compact bytes), or the reason it has none."""

    __tablename__ = "prnu_residuals"

    media_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), primary_key=True)
    width: Mapped[int | None]
    height: Mapped[int | None]
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    reason: Mapped[str | None] = mapped_column(Text)  # set when data is None


class Camera(Base):
    """A camera fingerprinted in a case from reference images known to come from it."""

    __tablename__ = "cameras"
    __table_args__ = (UniqueConstraint("case_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    width: Mapped[int]
    height: Mapped[int]
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    # Reference counts, the images left out and why, the one-camera check's groups.
    details: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class CameraReference(Base):
    """An image a fingerprint was computed from: never tested against its own camera."""

    __tablename__ = "camera_references"

    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(Text)  # the item's path or the file in the folder


class CameraTest(Base):
    """One image tested against one camera: its PCE and transform, or why it was not tested."""

    __tablename__ = "camera_tests"

    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"), primary_key=True)
    media_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), primary_key=True)
    pce: Mapped[float | None] = mapped_column(Float)
    transform: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
