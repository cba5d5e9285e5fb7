"""video tables

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KNOWN_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "videos",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("frame_rate", sa.Float(), nullable=True),
        sa.Column("rotation", sa.Integer(), nullable=False),
        sa.Column("container", sa.String(length=100), nullable=True),
        sa.Column("video_codec", sa.String(length=50), nullable=True),
        sa.Column("audio_codecs", sa.String(length=200), nullable=False),
        sa.Column("creation_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gps_lat", sa.Float(), nullable=True),
        sa.Column("gps_lon", sa.Float(), nullable=True),
        sa.Column("make", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("sampling", sa.String(length=20), nullable=False),
        sa.Column("seconds_per_hash", sa.Float(), nullable=False),
        sa.Column("frames_decoded", sa.Integer(), nullable=False),
        sa.Column("frames_hashed", sa.Integer(), nullable=False),
        sa.Column("keyframes", sa.JSON(), nullable=False),
        sa.Column("sheet_times", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["sha256"], ["media.sha256"], name=op.f("fk_videos_sha256_media")),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_videos")),
    )
    op.create_table(
        "video_frames",
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("frame_number", sa.Integer(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_sha256"], ["media.sha256"], name=op.f("fk_video_frames_media_sha256_media")
        ),
        sa.PrimaryKeyConstraint("media_sha256", "seq", name=op.f("pk_video_frames")),
    )
    op.create_table(
        "known_video_frames",
        sa.Column("known_hash_id", KNOWN_ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("frame_number", sa.Integer(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["known_hash_id"],
            ["known_hashes.id"],
            name=op.f("fk_known_video_frames_known_hash_id_known_hashes"),
        ),
        sa.PrimaryKeyConstraint("known_hash_id", "seq", name=op.f("pk_known_video_frames")),
    )
    op.create_table(
        "video_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("compared", sa.String(length=80), nullable=False),
        sa.Column("known_hash_id", KNOWN_ID, nullable=True),
        sa.Column("hashset_id", sa.Integer(), nullable=True),
        sa.Column("other_sha256", sa.String(length=64), nullable=True),
        sa.Column("verdict", sa.String(length=10), nullable=False),
        sa.Column("query_frames", sa.Integer(), nullable=False),
        sa.Column("query_matched", sa.Integer(), nullable=False),
        sa.Column("compared_frames", sa.Integer(), nullable=False),
        sa.Column("compared_matched", sa.Integer(), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("hashset_file_sha256", sa.String(length=64), nullable=True),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hashset_id"], ["hash_sets.id"], name=op.f("fk_video_matches_hashset_id_hash_sets")
        ),
        sa.ForeignKeyConstraint(
            ["known_hash_id"],
            ["known_hashes.id"],
            name=op.f("fk_video_matches_known_hash_id_known_hashes"),
        ),
        sa.ForeignKeyConstraint(
            ["media_sha256"], ["media.sha256"], name=op.f("fk_video_matches_media_sha256_media")
        ),
        sa.ForeignKeyConstraint(
            ["other_sha256"], ["media.sha256"], name=op.f("fk_video_matches_other_sha256_media")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["processing_runs.id"], name=op.f("fk_video_matches_run_id_processing_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_video_matches")),
        sa.UniqueConstraint(
            "media_sha256", "compared", name=op.f("uq_video_matches_media_sha256_compared")
        ),
    )
    with op.batch_alter_table("video_matches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_video_matches_media_sha256"), ["media_sha256"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("video_matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_video_matches_media_sha256"))
    op.drop_table("video_matches")
    op.drop_table("known_video_frames")
    op.drop_table("video_frames")
    op.drop_table("videos")
