"""links between media items

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("a_sha256", sa.String(length=64), nullable=False),
        sa.Column("b_sha256", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=30), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("a_region", sa.JSON(), nullable=True),
        sa.Column("b_region", sa.JSON(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["a_sha256"], ["media.sha256"], name=op.f("fk_media_links_a_sha256_media")
        ),
        sa.ForeignKeyConstraint(
            ["b_sha256"], ["media.sha256"], name=op.f("fk_media_links_b_sha256_media")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["processing_runs.id"], name=op.f("fk_media_links_run_id_processing_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_links")),
        sa.UniqueConstraint(
            "a_sha256", "b_sha256", "method", name=op.f("uq_media_links_a_sha256_b_sha256_method")
        ),
    )
    with op.batch_alter_table("media_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_links_a_sha256"), ["a_sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_links_b_sha256"), ["b_sha256"], unique=False)


def downgrade() -> None:
    op.drop_table("media_links")
