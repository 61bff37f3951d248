"""Indexes the console's pages read at 10,000 prompts: translations by locale, audit
events by action.

The translation queue offers the locales translations exist in: with an index that
starts with the locale, that is one seek per locale (``translated_locales``) instead of a
read of every translation (250,000 index entries at 10,000 prompts). The audit trail
filtered by an action reads that action's events newest first, as it does for a prompt
or a person, instead of every event until a page is full.

Revision ID: 0013_console_indexes
Revises: 0012_version_includes
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_console_indexes"
down_revision: str | None = "0012_version_includes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_translations_locale", "translations", ["locale"])
    op.create_index("ix_audit_events_action_id", "audit_events", ["action", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_action_id", table_name="audit_events")
    op.drop_index("ix_translations_locale", table_name="translations")
