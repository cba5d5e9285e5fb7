"""location messages keep their place

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("msg_messages") as batch:
        batch.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("longitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("place_name", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("msg_messages") as batch:
        batch.drop_column("place_name")
        batch.drop_column("longitude")
        batch.drop_column("latitude")
