"""review queue: an index for a stack's members (one grading key grades a whole stack)

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_review_queue_stack", "review_queue", ["case_id", "lead_sha256"])


def downgrade() -> None:
    op.drop_index("ix_review_queue_stack", table_name="review_queue")
