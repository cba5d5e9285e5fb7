"""messaging tables

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """A foreign key named as the models' naming convention names it."""
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _indexes(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "msg_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("jid", sa.Text(), nullable=True),
        sa.Column("lid", sa.Text(), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("push_name", sa.Text(), nullable=True),
        _fk("msg_accounts", "case_id", "cases"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_msg_accounts")),
        sa.UniqueConstraint("case_id", "key", name=op.f("uq_msg_accounts_case_id_key")),
    )
    op.create_table(
        "msg_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("creator_account_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        _fk("msg_groups", "case_id", "cases"),
        _fk("msg_groups", "creator_account_id", "msg_accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_msg_groups")),
        sa.UniqueConstraint("case_id", "key", name=op.f("uq_msg_groups_case_id_key")),
    )
    op.create_table(
        "msg_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=40), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("originals", sa.JSON(), nullable=False),
        sa.Column("owner_account_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("recovery", sa.Text(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        _fk("msg_imports", "case_id", "cases"),
        _fk("msg_imports", "evidence_id", "evidence"),
        _fk("msg_imports", "owner_account_id", "msg_accounts"),
        _fk("msg_imports", "run_id", "processing_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_msg_imports")),
        sa.UniqueConstraint(
            "evidence_id", "path", "sha256", name=op.f("uq_msg_imports_evidence_id_path_sha256")
        ),
    )
    _indexes("msg_imports", "case_id")
    op.create_table(
        "msg_group_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor_account_id", sa.Integer(), nullable=True),
        _fk("msg_group_events", "account_id", "msg_accounts"),
        _fk("msg_group_events", "actor_account_id", "msg_accounts"),
        _fk("msg_group_events", "group_id", "msg_groups"),
        _fk("msg_group_events", "import_id", "msg_imports"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_msg_group_events")),
    )
    _indexes("msg_group_events", "group_id", "import_id")
    op.create_table(
        "msg_import_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        _fk("msg_import_issues", "import_id", "msg_imports"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_msg_import_issues")),
    )
    _indexes("msg_import_issues", "import_id")
    op.create_table(
        "msg_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("source_row", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=100), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("peer_account_id", sa.Integer(), nullable=True),
        sa.Column("sender_account_id", sa.Integer(), nullable=True),
        sa.Column("from_me", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("forwarded", sa.Boolean(), nullable=True),
        sa.Column("forward_score", sa.Integer(), nullable=True),
        sa.Column("media_sha256", sa.String(length=64), nullable=True),
        sa.Column("media_path", sa.Text(), nullable=True),
        sa.Column("media_size", sa.BigInteger(), nullable=True),
        sa.Column("media_mime", sa.String(length=200), nullable=True),
        sa.Column("media_caption", sa.Text(), nullable=True),
        sa.Column("recovered", sa.String(length=100), nullable=True),
        _fk("msg_messages", "group_id", "msg_groups"),
        _fk("msg_messages", "import_id", "msg_imports"),
        _fk("msg_messages", "peer_account_id", "msg_accounts"),
        _fk("msg_messages", "sender_account_id", "msg_accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_msg_messages")),
    )
    _indexes("msg_messages", "import_id", "key_id", "media_sha256")
    op.create_table(
        "msg_thumbnails",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        _fk("msg_thumbnails", "import_id", "msg_imports"),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_msg_thumbnails")),
    )


def downgrade() -> None:
    op.drop_table("msg_thumbnails")
    for table, columns in (
        ("msg_messages", ("media_sha256", "key_id", "import_id")),
        ("msg_import_issues", ("import_id",)),
        ("msg_group_events", ("import_id", "group_id")),
        ("msg_imports", ("case_id",)),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
    op.drop_table("msg_groups")
    op.drop_table("msg_accounts")
