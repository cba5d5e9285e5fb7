"""agencies, users, API tokens, series; agency ownership of cases and hash sets; audit origin

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """A foreign key named as the models' naming convention names it."""
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _owner_column(table: str) -> None:
    """A nullable agency_id on an existing table, added in place: on SQLite a batch rebuild
    would drop the table that evidence rows point at, and its ADD COLUMN takes an inline
    REFERENCES clause that Alembic does not render."""
    fk_name = f"fk_{table}_agency_id_agencies"
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN agency_id INTEGER "
            f"CONSTRAINT {fk_name} REFERENCES agencies (id)"
        )
    else:
        op.add_column(table, sa.Column("agency_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(fk_name), table, "agencies", ["agency_id"], ["id"])
    op.create_index(op.f(f"ix_{table}_agency_id"), table, ["agency_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agencies")),
        sa.UniqueConstraint("code", name=op.f("uq_agencies_code")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _fk("users", "agency_id", "agencies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_agency_id"), "users", ["agency_id"], unique=False)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        _fk("api_tokens", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_tokens_token_sha256")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("victim_identified", sa.Boolean(), nullable=True),
        sa.Column("offender_identified", sa.Boolean(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _fk("series", "agency_id", "agencies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series")),
        sa.UniqueConstraint("agency_id", "name", name=op.f("uq_series_agency_id_name")),
    )
    op.create_index(op.f("ix_series_agency_id"), "series", ["agency_id"], unique=False)
    _owner_column("cases")
    _owner_column("hash_sets")
    op.add_column(
        "hash_sets",
        sa.Column("shared", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("audit_events", sa.Column("origin", sa.String(length=100), nullable=True))
    op.add_column("audit_events", sa.Column("agency", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("agency")
        batch_op.drop_column("origin")
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in ("hash_sets", "cases"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == "hash_sets":
                batch_op.drop_column("shared")
            batch_op.drop_index(batch_op.f(f"ix_{table}_agency_id"))
            if not sqlite:  # SQLite's rebuild drops the inline REFERENCES with the column
                batch_op.drop_constraint(batch_op.f(f"fk_{table}_agency_id_agencies"), "foreignkey")
            batch_op.drop_column("agency_id")
    op.drop_table("series")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("agencies")
