"""messaging imports record how the phone's owner is known

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("msg_imports") as batch:
        batch.add_column(sa.Column("owner_source", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("msg_imports") as batch:
        batch.drop_column("owner_source")
