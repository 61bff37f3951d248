"""Style guides stored in the registry, folder bindings, and the report of each version.

Revision ID: 0003_style_guides
Revises: 0002_translations
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from registry.db import UTCDateTime

revision: str = "0003_style_guides"
down_revision: str | None = "0002_translations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

_IMMUTABLE = ("style_guide_versions", "version_style_reports")


def _sqlite_triggers(table: str) -> list[str]:
    return [
        f"""CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} are immutable'); END"""
        for event in ("UPDATE", "DELETE")
    ]


def _postgresql_triggers(table: str) -> list[str]:
    return [
        f"""CREATE FUNCTION {table}_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{table} are immutable'; END $$""",
        f"""CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION {table}_immutable()""",
    ]


def upgrade() -> None:
    op.create_table(
        "style_guides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_style_guides")),
        sa.UniqueConstraint("name", name=op.f("uq_style_guides_name")),
    )
    op.create_table(
        "style_guide_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guide_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["guide_id"],
            ["style_guides.id"],
            name=op.f("fk_style_guide_versions_guide_id_style_guides"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_style_guide_versions")),
        sa.UniqueConstraint(
            "guide_id", "number", name=op.f("uq_style_guide_versions_guide_id_number")
        ),
    )
    op.create_table(
        "style_bindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("folder", sa.String(length=255), nullable=False),
        sa.Column("guide", sa.String(length=100), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_style_bindings")),
        sa.UniqueConstraint("folder", name=op.f("uq_style_bindings_folder")),
    )
    op.create_table(
        "version_style_reports",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("guide", sa.String(length=100), nullable=False),
        sa.Column("guide_version", sa.Integer(), nullable=True),
        sa.Column("findings", JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["prompt_versions.id"],
            name=op.f("fk_version_style_reports_version_id_prompt_versions"),
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_version_style_reports")),
    )
    dialect = op.get_bind().dialect.name
    for table in _IMMUTABLE:
        statements = {"sqlite": _sqlite_triggers, "postgresql": _postgresql_triggers}.get(dialect)
        for statement in statements(table) if statements else []:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _IMMUTABLE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_immutable()")
    op.drop_table("version_style_reports")
    op.drop_table("style_bindings")
    op.drop_table("style_guide_versions")
    op.drop_table("style_guides")
