"""Which prompts include which: each version's includes as rows, indexed by the included prompt.

``version_includes`` holds one row per prompt a version names in its ``includes`` (the
prompt, and the label or the pinned version), parsed as the publish path parses them
(:func:`registry.prompts.includes.link_rows`). The rows of the versions published before
this revision are written from their ``includes`` here.

Revision ID: 0012_version_includes
Revises: 0011_webhooks
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from registry.prompts.includes import link_rows

revision: str = "0012_version_includes"
down_revision: str | None = "0011_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
# Versions read, and their rows written, this many at a time.
CHUNK = 2000

versions = sa.table(
    "prompt_versions",
    sa.column("id", sa.Integer()),
    sa.column("prompt_id", sa.Integer()),
    sa.column("includes", JSON),
)
links = sa.table(
    "version_includes",
    sa.column("version_id", sa.Integer()),
    sa.column("prompt_id", sa.Integer()),
    sa.column("target_name", sa.String()),
    sa.column("target_label", sa.String()),
    sa.column("target_version", sa.Integer()),
)


def upgrade() -> None:
    op.create_table(
        "version_includes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("prompt_id", sa.Integer(), nullable=False),
        sa.Column("target_name", sa.String(length=255), nullable=False),
        sa.Column("target_label", sa.String(length=64), nullable=True),
        sa.Column("target_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["prompt_id"], ["prompts.id"], name=op.f("fk_version_includes_prompt_id_prompts")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["prompt_versions.id"],
            name=op.f("fk_version_includes_version_id_prompt_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version_includes")),
    )
    op.create_index(
        "ix_version_includes_target",
        "version_includes",
        ["target_name", "target_label"],
        unique=False,
    )
    connection = op.get_bind()
    last = 0
    while True:
        chunk = connection.execute(
            sa.select(versions.c.id, versions.c.prompt_id, versions.c.includes)
            .where(versions.c.id > last)
            .order_by(versions.c.id)
            .limit(CHUNK)
        ).all()
        if not chunk:
            break
        last = chunk[-1].id
        rows = [row for v in chunk for row in link_rows(v.id, v.prompt_id, v.includes or [])]
        if rows:
            connection.execute(links.insert(), rows)


def downgrade() -> None:
    op.drop_index("ix_version_includes_target", table_name="version_includes")
    op.drop_table("version_includes")
