"""federation: trusted instances, share exports and imports, requests for details

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("hash_sets") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=200), nullable=True))
    op.create_table(
        "share_trust",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("added_at", _TIME, nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("expires_at", _TIME, nullable=True),
        sa.Column("revoked_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_trust")),
        sa.UniqueConstraint("name", name=op.f("uq_share_trust_name")),
    )
    op.create_index(op.f("ix_share_trust_public_key"), "share_trust", ["public_key"], unique=False)
    op.create_table(
        "share_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hashset_id", sa.Integer(), nullable=False),
        sa.Column("set_uid", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("since", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("last_known_id", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("exported_at", _TIME, nullable=False),
        sa.Column("exported_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["hashset_id"], ["hash_sets.id"], name=op.f("fk_share_exports_hashset_id_hash_sets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_exports")),
        sa.UniqueConstraint("set_uid", "version", name=op.f("uq_share_exports_set_uid_version")),
    )
    op.create_index(
        op.f("ix_share_exports_hashset_id"), "share_exports", ["hashset_id"], unique=False
    )
    op.create_table(
        "share_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signer", sa.String(length=64), nullable=False),
        sa.Column("trust_name", sa.String(length=200), nullable=False),
        sa.Column("set_uid", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("since", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("hashset_id", sa.Integer(), nullable=True),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_at", _TIME, nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["hashset_id"], ["hash_sets.id"], name=op.f("fk_share_imports_hashset_id_hash_sets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_imports")),
        sa.UniqueConstraint(
            "signer", "set_uid", "version", name=op.f("uq_share_imports_signer_set_uid_version")
        ),
    )
    op.create_index(
        op.f("ix_share_imports_hashset_id"), "share_imports", ["hashset_id"], unique=False
    )
    op.create_table(
        "share_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hashset_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("requested_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_share_requests_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["hashset_id"], ["hash_sets.id"], name=op.f("fk_share_requests_hashset_id_hash_sets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_requests")),
        sa.UniqueConstraint(
            "hashset_id",
            "case_id",
            "media_sha256",
            name=op.f("uq_share_requests_hashset_id_case_id_media_sha256"),
        ),
    )
    op.create_index(
        op.f("ix_share_requests_hashset_id"), "share_requests", ["hashset_id"], unique=False
    )
    op.create_index(op.f("ix_share_requests_case_id"), "share_requests", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_table("share_requests")
    op.drop_table("share_imports")
    op.drop_table("share_exports")
    op.drop_table("share_trust")
    with op.batch_alter_table("hash_sets") as batch:
        batch.drop_column("owner")
