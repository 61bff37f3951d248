"""A translation keeps its last approved text when the source changes, marked stale.

``translations.approved_stale`` says the approved text was approved for an older
source: it is served only with ``allow_stale``. Rows that lost their approved text to a
source change get back the last text approved for an earlier version of the same prompt
in the same locale, marked stale, so ``allow_stale`` serves approved text after the
upgrade as it did before.

Revision ID: 0008_stale_approved_text
Revises: 0007_key_folders
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_stale_approved_text"
down_revision: str | None = "0007_key_folders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NULLABLE_JSON = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
)

translations = sa.table(
    "translations",
    sa.column("id", sa.Integer()),
    sa.column("prompt_id", sa.Integer()),
    sa.column("version_id", sa.Integer()),
    sa.column("locale", sa.String()),
    sa.column("approved_texts", NULLABLE_JSON),
    sa.column("approved_stale", sa.Boolean()),
)
versions = sa.table(
    "prompt_versions", sa.column("id", sa.Integer()), sa.column("number", sa.Integer())
)


def upgrade() -> None:
    # Added and dropped in place, not by copying the table (SQLite's batch mode), which
    # translation_revisions' foreign key forbids once translations has rows.
    op.add_column(
        "translations",
        sa.Column("approved_stale", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            translations.c.id,
            translations.c.prompt_id,
            translations.c.locale,
            translations.c.approved_texts.is_(None).label("unapproved"),
        )
        .join(versions, versions.c.id == translations.c.version_id)
        .order_by(translations.c.prompt_id, translations.c.locale, versions.c.number)
    ).all()
    # Per prompt and locale, in version order: the last row with approved text before
    # each row that has none.
    last: dict[tuple[int, str], int] = {}
    for row in rows:
        key = (row.prompt_id, row.locale)
        if not row.unapproved:
            last[key] = row.id
        elif key in last:
            approved = connection.scalar(
                sa.select(translations.c.approved_texts).where(translations.c.id == last[key])
            )
            connection.execute(
                translations.update()
                .where(translations.c.id == row.id)
                .values(approved_texts=approved, approved_stale=True)
            )


def downgrade() -> None:
    # Before this revision a translation had no approved text of an older source.
    connection = op.get_bind()
    connection.execute(
        translations.update()
        .where(translations.c.approved_stale.is_(True))
        .values(approved_texts=None)
    )
    op.drop_column("translations", "approved_stale")
