"""Translations of versions per locale, their revisions, and the registry's id.

Revision ID: 0002_translations
Revises: 0001_initial_schema
Create Date: 2026-11-28
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from registry.db import UTCDateTime, utcnow

revision: str = "0002_translations"
down_revision: str | None = "0001_initial_schema"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

# Revisions are history: the store refuses to change or delete them.
_SQLITE_TRIGGERS = [
    """CREATE TRIGGER translation_revisions_no_update BEFORE UPDATE ON translation_revisions
    BEGIN SELECT RAISE(ABORT, 'translation revisions are immutable'); END""",
    """CREATE TRIGGER translation_revisions_no_delete BEFORE DELETE ON translation_revisions
    BEGIN SELECT RAISE(ABORT, 'translation revisions are immutable'); END""",
]
_POSTGRESQL_TRIGGERS = [
    """CREATE FUNCTION translation_revisions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'translation revisions are immutable'; END $$""",
    """CREATE TRIGGER translation_revisions_no_change
    BEFORE UPDATE OR DELETE ON translation_revisions
    FOR EACH ROW EXECUTE FUNCTION translation_revisions_immutable()""",
]


def upgrade() -> None:
    info = op.create_table(
        "registry_info",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_info")),
    )
    op.bulk_insert(info, [{"id": str(uuid.uuid4()), "created_at": utcnow()}])
    op.create_table(
        "translations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prompt_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("texts", JSON, nullable=False),
        sa.Column("source_texts", JSON, nullable=False),
        sa.Column("approved_texts", JSON, nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["prompt_id"], ["prompts.id"], name=op.f("fk_translations_prompt_id_prompts")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["prompt_versions.id"],
            name=op.f("fk_translations_version_id_prompt_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_translations")),
        sa.UniqueConstraint("version_id", "locale", name=op.f("uq_translations_version_id_locale")),
    )
    op.create_index("ix_translations_prompt_id_locale", "translations", ["prompt_id", "locale"])
    op.create_table(
        "translation_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("translation_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("texts", JSON, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["translation_id"],
            ["translations.id"],
            name=op.f("fk_translation_revisions_translation_id_translations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_translation_revisions")),
        sa.UniqueConstraint(
            "translation_id",
            "number",
            name=op.f("uq_translation_revisions_translation_id_number"),
        ),
    )
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _SQLITE_TRIGGERS, "postgresql": _POSTGRESQL_TRIGGERS}.get(
        dialect, []
    ):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP TRIGGER IF EXISTS translation_revisions_no_change ON translation_revisions"
        )
        op.execute("DROP FUNCTION IF EXISTS translation_revisions_immutable()")
    op.drop_table("translation_revisions")
    op.drop_index("ix_translations_prompt_id_locale", table_name="translations")
    op.drop_table("translations")
    op.drop_table("registry_info")
