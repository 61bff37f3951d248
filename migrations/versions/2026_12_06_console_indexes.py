"""Indexes the console's pages read at 10,000 prompts: translations by locale, a
prompt's translations with their versions and states, audit events by action.

The translation queue offers the locales translations exist in: with an index that
starts with the locale, that is one seek per locale (``translated_locales``) instead of a
read of every translation (250,000 index entries at 10,000 prompts). The queue's counts
and pages read each prompt's translation into a locale: the index on (prompt, locale)
gains the version and the state, so that read stays in the index instead of reaching
every translation's row with its texts. The audit trail filtered by an action reads that
action's events newest first, as it does for a prompt or a person, instead of every
event until a page is full.

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


COVERING = "ix_translations_prompt_id_locale_version_id_status"


def upgrade() -> None:
    op.create_index("ix_translations_locale", "translations", ["locale"])
    op.create_index(COVERING, "translations", ["prompt_id", "locale", "version_id", "status"])
    op.drop_index("ix_translations_prompt_id_locale", table_name="translations")
    op.create_index("ix_audit_events_action_id", "audit_events", ["action", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_action_id", table_name="audit_events")
    op.create_index("ix_translations_prompt_id_locale", "translations", ["prompt_id", "locale"])
    op.drop_index(COVERING, table_name="translations")
    op.drop_index("ix_translations_locale", table_name="translations")
