"""alerts, person notices and their hits; share imports' versions in 64 bits

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("share_imports") as batch:
        batch.alter_column("version", type_=sa.BigInteger(), existing_nullable=False)
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("notice", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=True),
        sa.Column("origin_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("removed_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_alerts_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(op.f("ix_alerts_agency_id"), "alerts", ["agency_id"], unique=False)
    op.create_table(
        "alert_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("item", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("remote", sa.String(length=200), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_hits_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_alert_hits_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_hits")),
        sa.UniqueConstraint(
            "alert_id",
            "case_id",
            "item",
            "remote",
            name=op.f("uq_alert_hits_alert_id_case_id_item_remote"),
        ),
    )
    op.create_index(op.f("ix_alert_hits_alert_id"), "alert_hits", ["alert_id"], unique=False)
    op.create_index(op.f("ix_alert_hits_case_id"), "alert_hits", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_table("alert_hits")
    op.drop_table("alerts")
    with op.batch_alter_table("share_imports") as batch:
        batch.alter_column("version", type_=sa.Integer(), existing_nullable=False)
