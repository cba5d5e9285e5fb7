"""review workspace: the paged queue, violent flags, the exposure log

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_queue",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=20), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("lead_sha256", sa.String(length=64), nullable=False),
        sa.Column("is_lead", sa.Boolean(), nullable=False),
        sa.Column("stack_size", sa.Integer(), nullable=False),
        sa.Column("video", sa.Boolean(), nullable=False),
        sa.Column("has_gps", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("in_series", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_review_queue_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["sha256"], ["media.sha256"], name=op.f("fk_review_queue_sha256_media")
        ),
        sa.PrimaryKeyConstraint("case_id", "sha256", name=op.f("pk_review_queue")),
    )
    op.create_index("ix_review_queue_page", "review_queue", ["case_id", "is_lead", "rank", "seq"])
    op.create_table(
        "review_queue_state",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_mark", sa.Integer(), nullable=False),
        sa.Column("match_mark", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_review_queue_state_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_review_queue_state")),
    )
    op.create_table(
        "review_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("flag", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_review_flags_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["sha256"], ["media.sha256"], name=op.f("fk_review_flags_sha256_media")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_review_flags_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_flags")),
    )
    op.create_index("ix_review_flags_item", "review_flags", ["case_id", "sha256"])
    op.create_table(
        "review_exposure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("ended", sa.Boolean(), nullable=False),
        sa.Column("violent", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_review_exposure_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_review_exposure_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_exposure")),
    )
    op.create_index("ix_review_exposure_user_at", "review_exposure", ["user_id", "at"])


def downgrade() -> None:
    op.drop_table("review_exposure")
    op.drop_table("review_flags")
    op.drop_table("review_queue_state")
    op.drop_table("review_queue")
