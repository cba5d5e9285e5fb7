"""video comparisons record their time-offset line

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("video_matches") as batch:
        batch.add_column(
            sa.Column("aligned_frames", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("offset_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("video_matches") as batch:
        batch.drop_column("offset_seconds")
        batch.drop_column("aligned_frames")
