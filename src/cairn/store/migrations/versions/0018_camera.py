"""camera forensics: EXIF ids and JPEG signatures of media, PRNU residuals, cameras, tests

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.add_column(sa.Column("exif_image_unique_id", sa.Text(), nullable=True))
        batch.add_column(sa.Column("exif_lens_serial", sa.Text(), nullable=True))
        batch.add_column(sa.Column("jpeg_signature", sa.String(32), nullable=True))
        batch.add_column(sa.Column("jpeg_quality", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("jpeg_origin", sa.String(10), nullable=True))
        batch.create_index("ix_media_jpeg_signature", ["jpeg_signature"])
    op.create_table(
        "prnu_residuals",
        sa.Column("media_sha256", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["media_sha256"], ["media.sha256"], name="fk_prnu_residuals_media_sha256_media"
        ),
        sa.PrimaryKeyConstraint("media_sha256", name="pk_prnu_residuals"),
    )
    op.create_table(
        "cameras",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_cameras_case_id_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_cameras"),
        sa.UniqueConstraint("case_id", "name", name="uq_cameras_case_id_name"),
    )
    op.create_index("ix_cameras_case_id", "cameras", ["case_id"])
    op.create_table(
        "camera_references",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name="fk_camera_references_camera_id_cameras"
        ),
        sa.PrimaryKeyConstraint("camera_id", "sha256", name="pk_camera_references"),
    )
    op.create_table(
        "camera_tests",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("media_sha256", sa.String(64), nullable=False),
        sa.Column("pce", sa.Float(), nullable=True),
        sa.Column("transform", sa.String(40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name="fk_camera_tests_camera_id_cameras"
        ),
        sa.ForeignKeyConstraint(
            ["media_sha256"], ["media.sha256"], name="fk_camera_tests_media_sha256_media"
        ),
        sa.PrimaryKeyConstraint("camera_id", "media_sha256", name="pk_camera_tests"),
    )


def downgrade() -> None:
    op.drop_table("camera_tests")
    op.drop_table("camera_references")
    op.drop_index("ix_cameras_case_id", table_name="cameras")
    op.drop_table("cameras")
    op.drop_table("prnu_residuals")
    with op.batch_alter_table("media") as batch:
        batch.drop_index("ix_media_jpeg_signature")
        batch.drop_column("jpeg_origin")
        batch.drop_column("jpeg_quality")
        batch.drop_column("jpeg_signature")
        batch.drop_column("exif_lens_serial")
        batch.drop_column("exif_image_unique_id")
