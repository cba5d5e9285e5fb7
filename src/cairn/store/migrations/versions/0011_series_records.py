"""victim-identification records of a series: victims, persons, location clues, leads, object
crops and tips, their history, the outcome inbox

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """A foreign key named as the models' naming convention names it."""
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _table(name: str, *columns: sa.Column[object], indexed: Sequence[str] = ()) -> None:
    """A record table: its columns, then the series it belongs to, when and by whom."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        *columns,
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _fk(name, "series_id", "series"),
        *(_fk(name, column, target) for column, target in _REFERENCES.get(name, ())),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    for column in ("series_id", *indexed):
        op.create_index(op.f(f"ix_{name}_{column}"), name, [column], unique=False)


_REFERENCES = {
    "object_crops": (("clue_id", "location_clues"),),
    "tips": (("crop_id", "object_crops"),),
}


def upgrade() -> None:
    _table(
        "victims",
        sa.Column("age_band", sa.String(length=20), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
    )
    _table(
        "persons",
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("phones", sa.JSON(), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
    )
    _table(
        "location_clues",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("socket_type", sa.String(length=2), nullable=True),
        sa.Column("media_sha256", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=60), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("countries", sa.JSON(), nullable=False),
        indexed=("media_sha256",),
    )
    _table(
        "leads",
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("sent_at", _WHEN, nullable=False),
        sa.Column("sent_by", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
    )
    _table(
        "object_crops",
        sa.Column("clue_id", sa.Integer(), nullable=False),
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=60), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("detector", sa.Text(), nullable=True),
        sa.Column("faces", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("confirmed_by", sa.String(length=200), nullable=True),
        sa.Column("confirmed_at", _WHEN, nullable=True),
        indexed=("clue_id",),
    )
    _table(
        "tips",
        sa.Column("crop_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("countries", sa.JSON(), nullable=False),
        indexed=("crop_id",),
    )
    op.create_table(
        "record_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", _WHEN, nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        _fk("record_changes", "series_id", "series"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_changes")),
    )
    op.create_index(
        op.f("ix_record_changes_series_id"), "record_changes", ["series_id"], unique=False
    )
    op.create_table(
        "inbox_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("read_at", _WHEN, nullable=True),
        _fk("inbox_entries", "series_id", "series"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_entries")),
    )
    op.create_index(
        op.f("ix_inbox_entries_recipient"), "inbox_entries", ["recipient"], unique=False
    )


def downgrade() -> None:
    for table in (
        "inbox_entries",
        "record_changes",
        "tips",
        "object_crops",
        "leads",
        "location_clues",
        "persons",
        "victims",
    ):
        op.drop_table(table)
