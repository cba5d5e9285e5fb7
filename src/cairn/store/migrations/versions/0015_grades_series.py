"""grades and grading policies; series statuses, contact, merges, members and history

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str, key: str = "id") -> sa.ForeignKeyConstraint:
    """A foreign key named as the models' naming convention names it."""
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.{key}"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _series_columns_sqlite() -> None:
    """The new series columns in place. A batch rebuild (copy, DROP, RENAME) cannot run here:
    the records of migration 0011 point at `series`, and SQLite's foreign-key check fails the
    DROP inside a transaction. Dropping a NOT NULL constraint leaves the stored rows as they
    are, so SQLite's documented way is to edit the table's definition in the schema
    (https://www.sqlite.org/lang_altertable.html#otheralter), then add the columns."""
    bind = op.get_bind()
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = replace(sql, 'agency_id INTEGER NOT NULL', "
        "'agency_id INTEGER') WHERE type = 'table' AND name = 'series'"
    )
    bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")
    op.execute("ALTER TABLE series ADD COLUMN status VARCHAR(30) DEFAULT 'unidentified' NOT NULL")
    op.execute("ALTER TABLE series ADD COLUMN contact TEXT DEFAULT '' NOT NULL")
    op.execute(
        "ALTER TABLE series ADD COLUMN merged_into INTEGER "
        "CONSTRAINT fk_series_merged_into_series REFERENCES series (id)"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _series_columns_sqlite()
    else:
        op.alter_column("series", "agency_id", existing_type=sa.Integer(), nullable=True)
        status = sa.String(length=30)
        op.add_column(
            "series", sa.Column("status", status, nullable=False, server_default="unidentified")
        )
        op.add_column("series", sa.Column("contact", sa.Text(), nullable=False, server_default=""))
        op.add_column("series", sa.Column("merged_into", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_series_merged_into_series"), "series", "series", ["merged_into"], ["id"]
        )
    op.create_table(
        "series_media",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        _fk("series_media", "case_id", "cases"),
        _fk("series_media", "media_sha256", "media", "sha256"),
        _fk("series_media", "series_id", "series"),
        sa.PrimaryKeyConstraint("series_id", "media_sha256", name=op.f("pk_series_media")),
    )
    op.create_index(
        op.f("ix_series_media_media_sha256"), "series_media", ["media_sha256"], unique=False
    )
    op.create_table(
        "series_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _fk("series_events", "series_id", "series"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series_events")),
    )
    op.create_index(
        op.f("ix_series_events_series_id"), "series_events", ["series_id"], unique=False
    )
    op.create_table(
        "grades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("scheme", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("via", sa.String(length=64), nullable=True),
        sa.Column("retracted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retracted_by", sa.String(length=200), nullable=True),
        _fk("grades", "agency_id", "agencies"),
        _fk("grades", "case_id", "cases"),
        _fk("grades", "media_sha256", "media", "sha256"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grades")),
    )
    op.create_index("ix_grades_case_media", "grades", ["case_id", "media_sha256"], unique=False)
    op.create_index(op.f("ix_grades_agency_id"), "grades", ["agency_id"], unique=False)
    op.create_index(op.f("ix_grades_media_sha256"), "grades", ["media_sha256"], unique=False)
    op.create_table(
        "grade_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("votes_required", sa.Integer(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        _fk("grade_policies", "agency_id", "agencies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grade_policies")),
        sa.UniqueConstraint("agency_id", name=op.f("uq_grade_policies_agency_id")),
    )


def downgrade() -> None:
    op.drop_table("grade_policies")
    op.drop_table("grades")
    op.drop_table("series_events")
    op.drop_table("series_media")
    with op.batch_alter_table("series") as batch:
        if op.get_bind().dialect.name != "sqlite":  # SQLite's rebuild drops the inline REFERENCES
            batch.drop_constraint(batch.f("fk_series_merged_into_series"), "foreignkey")
        batch.drop_column("merged_into")
        batch.drop_column("contact")
        batch.drop_column("status")
        batch.alter_column("agency_id", existing_type=sa.Integer(), nullable=False)
