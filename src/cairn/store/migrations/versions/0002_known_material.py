"""known material: hash sets, known hashes, matches, PDQ variants

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 01:12:33.130595
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "hash_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("format", sa.String(length=40), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pdq_threshold", sa.Integer(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("bad_records", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hash_sets")),
        sa.UniqueConstraint("name", name=op.f("uq_hash_sets_name")),
    )
    op.create_table(
        "known_hashes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hashset_id", sa.Integer(), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("sha1", sa.String(length=40), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("photodna", sa.Text(), nullable=True),
        sa.Column("category_scheme", sa.String(length=10), nullable=True),
        sa.Column("category_code", sa.String(length=20), nullable=True),
        sa.Column("series", sa.Text(), nullable=True),
        sa.Column("victim_identified", sa.Boolean(), nullable=True),
        sa.Column("offender_identified", sa.Boolean(), nullable=True),
        sa.Column("distributed", sa.Boolean(), nullable=True),
        sa.Column("media_id", sa.Text(), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hashset_id"], ["hash_sets.id"], name=op.f("fk_known_hashes_hashset_id_hash_sets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_hashes")),
    )
    with op.batch_alter_table("known_hashes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_known_hashes_hashset_id"), ["hashset_id"], unique=False
        )

    op.create_table(
        "media_pdq_variants",
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("variant", sa.String(length=40), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_sha256"],
            ["media.sha256"],
            name=op.f("fk_media_pdq_variants_media_sha256_media"),
        ),
        sa.PrimaryKeyConstraint("media_sha256", "variant", name=op.f("pk_media_pdq_variants")),
    )
    op.create_table(
        "matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("hashset_id", sa.Integer(), nullable=False),
        sa.Column(
            "known_hash_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("variant", sa.String(length=40), nullable=False),
        sa.Column("band", sa.String(length=10), nullable=False),
        sa.Column("hashset_file_sha256", sa.String(length=64), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hashset_id"], ["hash_sets.id"], name=op.f("fk_matches_hashset_id_hash_sets")
        ),
        sa.ForeignKeyConstraint(
            ["known_hash_id"],
            ["known_hashes.id"],
            name=op.f("fk_matches_known_hash_id_known_hashes"),
        ),
        sa.ForeignKeyConstraint(
            ["media_sha256"], ["media.sha256"], name=op.f("fk_matches_media_sha256_media")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["processing_runs.id"], name=op.f("fk_matches_run_id_processing_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matches")),
        sa.UniqueConstraint(
            "media_sha256",
            "known_hash_id",
            "method",
            "variant",
            name=op.f("uq_matches_media_sha256_known_hash_id_method_variant"),
        ),
    )
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_matches_hashset_id"), ["hashset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_matches_media_sha256"), ["media_sha256"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matches_media_sha256"))
        batch_op.drop_index(batch_op.f("ix_matches_hashset_id"))

    op.drop_table("matches")
    op.drop_table("media_pdq_variants")
    with op.batch_alter_table("known_hashes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_known_hashes_hashset_id"))

    op.drop_table("known_hashes")
    op.drop_table("hash_sets")
