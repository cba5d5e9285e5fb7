"""Video tables (issue 5): video metadata and vPDQ frame hashes, known videos, video matches.

A video's frames are rows, not a blob: matching builds its frame index from them, and a
reviewer's "where in the video" is a row's timestamp.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cairn.core.records import VideoInfo
from cairn.store.models import Base

# known_hashes.id is BIGINT on PostgreSQL and INTEGER (the rowid) on SQLite.
KNOWN_ID = BigInteger().with_variant(Integer, "sqlite")


class Video(Base):
    """What one video is (per content, like Media): metadata and how it was sampled."""

    __tablename__ = "videos"

    sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), primary_key=True)
    width: Mapped[int]
    height: Mapped[int]
    duration: Mapped[float | None] = mapped_column(Float)
    frame_rate: Mapped[float | None] = mapped_column(Float)
    rotation: Mapped[int] = mapped_column(Integer, default=0)
    container: Mapped[str | None] = mapped_column(String(100))
    video_codec: Mapped[str | None] = mapped_column(String(50))
    audio_codecs: Mapped[str] = mapped_column(String(200), default="")  # comma-separated
    creation_time: Mapped[datetime | None]
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    make: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text)
    sampling: Mapped[str] = mapped_column(String(20))
    seconds_per_hash: Mapped[float] = mapped_column(Float)
    frames_decoded: Mapped[int] = mapped_column(Integer, default=0)
    frames_hashed: Mapped[int] = mapped_column(Integer, default=0)
    keyframes: Mapped[list[float]] = mapped_column(JSON)  # scene-change timestamps
    sheet_times: Mapped[list[float]] = mapped_column(JSON)  # contact-sheet tiles, in order


class VideoFrame(Base):
    """One sampled frame of a video: a vPDQ line."""

    __tablename__ = "video_frames"

    media_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0, 1, ... in time order
    frame_number: Mapped[int] = mapped_column(Integer)
    quality: Mapped[int] = mapped_column(Integer)
    pdq: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[float] = mapped_column(Float)


class KnownVideoFrame(Base):
    """One frame of a known video: a line of a vPDQ file imported into a hash set, whose
    known_hashes row stands for the whole video."""

    __tablename__ = "known_video_frames"

    known_hash_id: Mapped[int] = mapped_column(
        KNOWN_ID, ForeignKey("known_hashes.id"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    frame_number: Mapped[int] = mapped_column(Integer)
    quality: Mapped[int] = mapped_column(Integer)
    pdq: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[float] = mapped_column(Float)


class VideoMatch(Base):
    """A video compared with a known video or another video of the workspace: the shares of
    frames matched both ways, and the verdict under the thresholds recorded beside it."""

    __tablename__ = "video_matches"
    __table_args__ = (UniqueConstraint("media_sha256", "compared"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    media_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"), index=True)
    compared: Mapped[str] = mapped_column(String(80))  # "known:<id>" or "media:<sha256>"
    known_hash_id: Mapped[int | None] = mapped_column(KNOWN_ID, ForeignKey("known_hashes.id"))
    hashset_id: Mapped[int | None] = mapped_column(ForeignKey("hash_sets.id"))
    other_sha256: Mapped[str | None] = mapped_column(ForeignKey("media.sha256"))
    verdict: Mapped[str] = mapped_column(String(10))  # match, clip, possible
    query_frames: Mapped[int] = mapped_column(Integer)
    query_matched: Mapped[int] = mapped_column(Integer)
    compared_frames: Mapped[int] = mapped_column(Integer)
    compared_matched: Mapped[int] = mapped_column(Integer)
    distance: Mapped[int] = mapped_column(Integer)  # median nearest distance of matched frames
    # Query frames counted for lying on the clip's time-offset line (cairn.hashing.vpdq), and
    # that line: compared time = query time + offset_seconds (None: no line found).
    aligned_frames: Mapped[int] = mapped_column(Integer, default=0)
    offset_seconds: Mapped[float | None] = mapped_column(Float)
    thresholds: Mapped[dict[str, Any]]
    hashset_file_sha256: Mapped[str | None] = mapped_column(String(64))
    matched_at: Mapped[datetime]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("processing_runs.id"))


def insert_videos(connection: Connection, engine: Engine, videos: Mapping[str, VideoInfo]) -> None:
    """Store videos (by media SHA-256) and their frames, skipping content already stored.

    Called by the ingest writer inside its transaction, beside the media rows.
    """
    from cairn.store.writer import insert_ignoring_duplicates  # the writer imports this module

    rows = [
        {
            "sha256": sha256,
            "width": v.width,
            "height": v.height,
            "duration": v.duration,
            "frame_rate": v.frame_rate,
            "rotation": v.rotation,
            "container": v.container,
            "video_codec": v.video_codec,
            "audio_codecs": ",".join(v.audio_codecs),
            "creation_time": v.creation_time,
            "gps_lat": v.gps_lat,
            "gps_lon": v.gps_lon,
            "make": v.make,
            "model": v.model,
            "sampling": v.sampling,
            "seconds_per_hash": v.seconds_per_hash,
            "frames_decoded": v.frames_decoded,
            "frames_hashed": len(v.frames),
            "keyframes": list(v.keyframes),
            "sheet_times": list(v.sheet_times),
        }
        for sha256, v in videos.items()
    ]
    frames = [
        {
            "media_sha256": sha256,
            "seq": seq,
            "frame_number": f.frame_number,
            "quality": f.quality,
            "pdq": f.pdq,
            "timestamp": f.timestamp,
        }
        for sha256, v in videos.items()
        for seq, f in enumerate(v.frames)
    ]
    connection.execute(insert_ignoring_duplicates(engine, Video, "sha256"), rows)
    if frames:
        connection.execute(
            insert_ignoring_duplicates(engine, VideoFrame, "media_sha256", "seq"), frames
        )
