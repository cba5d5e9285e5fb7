"""The single writer of an ingest: turns worker records into rows, in batches.

A unit (a top-level entry and everything nested in it) always lands in one transaction, so
after a crash the store holds whole units only and a rerun skips exactly those.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from cairn.core.records import EntryRecord, ImageInfo, LocalFeatures, UnitResult, VideoInfo
from cairn.store.camera_models import PrnuResidual
from cairn.store.models import IngestError, Media, MediaPdqVariant, Occurrence, Thumbnail
from cairn.store.video_models import insert_videos


def insert_ignoring_duplicates(engine: Engine, table: Any, *key: str) -> Any:
    """INSERT that skips rows whose `key` already exists (content-addressed tables)."""
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(key))
    if engine.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key))
    raise NotImplementedError(engine.dialect.name)


def _media_row(entry: EntryRecord) -> dict[str, Any] | None:
    content = entry.content
    if content is None:
        return None
    d = content.digests
    row: dict[str, Any] = {
        "sha256": d.sha256,
        "md5": d.md5,
        "sha1": d.sha1,
        "size": d.size,
        "mime": content.mime,
        "width": None,
        "height": None,
        "pdq": None,
        "pdq_quality": None,
        "pdq_method": None,
        "exif_make": None,
        "exif_model": None,
        "exif_serial": None,
        "exif_software": None,
        "exif_datetime_original": None,
        "gps_lat": None,
        "gps_lon": None,
        "exif_thumbnail": False,
        "exif_thumbnail_distance": None,
        "exif_image_unique_id": None,
        "exif_lens_serial": None,
        "jpeg_signature": None,
        "jpeg_quality": None,
        "jpeg_origin": None,
    }
    if content.video is not None:
        row.update(width=content.video.width, height=content.video.height)
    image = content.image
    if image is not None:
        row.update(
            width=image.width,
            height=image.height,
            pdq=image.pdq,
            pdq_quality=image.pdq_quality,
            pdq_method=image.pdq_method,
        )
        if image.jpeg is not None:
            row.update(
                jpeg_signature=image.jpeg.digest,
                jpeg_quality=image.jpeg.quality,
                jpeg_origin=image.jpeg.origin,
            )
        exif = image.exif
        if exif is not None:
            row.update(
                exif_make=exif.make,
                exif_model=exif.model,
                exif_serial=exif.serial,
                exif_software=exif.software,
                exif_datetime_original=exif.datetime_original,
                gps_lat=exif.gps_lat,
                gps_lon=exif.gps_lon,
                exif_thumbnail=exif.has_thumbnail,
                exif_thumbnail_distance=exif.thumbnail_pdq_distance,
                exif_image_unique_id=exif.image_unique_id,
                exif_lens_serial=exif.lens_serial,
            )
    return row


def residual_row(sha256: str, image: ImageInfo) -> dict[str, Any]:
    """The prnu_residuals row of an image analysed with residuals on."""
    assert image.prnu is not None
    return {
        "media_sha256": sha256,
        "width": image.width,
        "height": image.height,
        "data": image.prnu.data,
        "reason": image.prnu.reason,
    }


class IngestWriter:
    """Commits whole units, every `batch_entries` entries or `batch_seconds` seconds.

    The time bound matters for sources of large files: a few hundred videos take minutes to
    hash, and a killed run should lose seconds of work, not all of it.
    """

    def __init__(
        self,
        engine: Engine,
        evidence_id: int,
        run_id: int | None,
        batch_entries: int = 5000,
        batch_seconds: float = 2.0,
        on_features: Callable[[list[tuple[str, LocalFeatures]]], None] | None = None,
    ):
        """`on_features` takes each batch's local features (by SHA-256: an image's, and its
        keyframes' for a video) before the batch is committed, so that every committed item
        has its features kept (the feature index)."""
        self.engine = engine
        self.on_features = on_features
        self.evidence_id = evidence_id
        self.run_id = run_id
        self.batch_entries = batch_entries
        self.batch_seconds = batch_seconds
        self._pending: list[EntryRecord] = []
        self._flushed_at = time.monotonic()
        self.counts: Counter[str] = Counter()

    def done_units(self) -> set[bytes]:
        """Top-level paths already stored for this evidence: what a resumed run skips."""
        query = select(Occurrence.path).where(
            Occurrence.evidence_id == self.evidence_id, Occurrence.depth == 0
        )
        with self.engine.connect() as connection:
            return set(connection.scalars(query))

    def add(self, item: UnitResult | EntryRecord) -> None:
        entries: Iterable[EntryRecord] = item.entries if isinstance(item, UnitResult) else (item,)
        self._pending.extend(entries)
        if (
            len(self._pending) >= self.batch_entries
            or time.monotonic() - self._flushed_at >= self.batch_seconds
        ):
            self.flush()

    def flush(self) -> None:
        self._flushed_at = time.monotonic()
        if not self._pending:
            return
        media: dict[str, dict[str, Any]] = {}
        thumbnails: dict[str, bytes] = {}
        videos: dict[str, VideoInfo] = {}
        features: dict[tuple[str, float | None], LocalFeatures] = {}  # by item and keyframe
        variants: dict[tuple[str, str], dict[str, Any]] = {}
        residuals: dict[str, dict[str, Any]] = {}
        occurrences: list[dict[str, Any]] = []
        for entry in self._pending:
            row = _media_row(entry)
            if row is not None:
                media.setdefault(row["sha256"], row)
                image = entry.content.image if entry.content else None
                video = entry.content.video if entry.content else None
                if video is not None:
                    videos.setdefault(row["sha256"], video)
                    for frame in video.features:
                        features.setdefault((row["sha256"], frame.time), frame)
                    if video.contact_sheet is not None:  # the video's review thumbnail
                        thumbnails.setdefault(row["sha256"], video.contact_sheet)
                if image is not None and image.thumbnail is not None:
                    thumbnails.setdefault(row["sha256"], image.thumbnail)
                if image is not None and image.features is not None and image.features.count:
                    features.setdefault((row["sha256"], None), image.features)
                if image is not None and image.prnu is not None:
                    residuals.setdefault(row["sha256"], residual_row(row["sha256"], image))
                for variant in image.pdq_variants if image is not None else ():
                    variants.setdefault(
                        (row["sha256"], variant.name),
                        {
                            "media_sha256": row["sha256"],
                            "variant": variant.name,
                            "pdq": variant.pdq,
                            "quality": variant.quality,
                        },
                    )
            occurrences.append(
                {
                    "evidence_id": self.evidence_id,
                    "path": entry.path,
                    "depth": entry.depth,
                    "container": entry.container,
                    "kind": entry.kind.value,
                    "size": entry.size,
                    "media_sha256": row["sha256"] if row else None,
                    "deleted": entry.deleted,
                    "unallocated": entry.unallocated,
                    "offset": entry.offset,
                    "inode": entry.inode,
                    "mtime": entry.times.mtime,
                    "ctime": entry.times.ctime,
                    "atime": entry.times.atime,
                    "crtime": entry.times.crtime,
                    "flags": ",".join(sorted(entry.flags)),
                    "run_id": self.run_id,
                }
            )
            self._count(entry)
        if features and self.on_features is not None:
            self.on_features([(sha, record) for (sha, _time), record in features.items()])
        with self.engine.begin() as connection:
            if media:
                connection.execute(
                    insert_ignoring_duplicates(self.engine, Media, "sha256"), list(media.values())
                )
            if variants:
                connection.execute(
                    insert_ignoring_duplicates(
                        self.engine, MediaPdqVariant, "media_sha256", "variant"
                    ),
                    list(variants.values()),
                )
            if videos:
                insert_videos(connection, self.engine, videos)
            if residuals:
                connection.execute(
                    insert_ignoring_duplicates(self.engine, PrnuResidual, "media_sha256"),
                    list(residuals.values()),
                )
            if thumbnails:
                connection.execute(
                    insert_ignoring_duplicates(self.engine, Thumbnail, "sha256"),
                    [{"sha256": k, "blob": v} for k, v in thumbnails.items()],
                )
            self._insert_occurrences(connection, occurrences)
        self._pending.clear()

    def _insert_occurrences(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        """Insert occurrences in order; only those with errors need their new id back.

        Runs of error-free rows go in one executemany; a row with errors is inserted alone
        with RETURNING. (Asking for all ids in parameter order made SQLAlchemy insert row by
        row on SQLite: most of the writer's time on a tree of small files.)
        """
        plain = insert(Occurrence)
        returning = insert(Occurrence).returning(Occurrence.id)
        run: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for row, entry in zip(rows, self._pending, strict=True):
            if not entry.errors:
                run.append(row)
                continue
            if run:
                connection.execute(plain, run)
                run = []
            occurrence_id = connection.execute(returning, row).scalar_one()
            errors.extend(
                {
                    "evidence_id": self.evidence_id,
                    "occurrence_id": occurrence_id,
                    "path": entry.path,
                    "stage": error.stage,
                    "message": error.message,
                    "run_id": self.run_id,
                }
                for error in entry.errors
            )
        if run:
            connection.execute(plain, run)
        if errors:
            connection.execute(insert(IngestError), errors)

    def _count(self, entry: EntryRecord) -> None:
        self.counts["enumerated"] += 1
        if entry.kind.is_non_regular:
            self.counts["non_regular"] += 1
        elif entry.content is not None:
            self.counts["hashed"] += 1
            self.counts["bytes"] += entry.content.digests.size
        else:
            self.counts["errored"] += 1
        if entry.errors:
            self.counts["with_errors"] += 1
