"""A translation can be withdrawn: its revisions are deleted with it, and only then.

Revisions stay immutable: the store refuses to change them, and to delete one unless its
translation has first been marked ``withdrawn`` in the same transaction, which only the
withdrawal does, right before it deletes the revisions and the translation itself.

Revision ID: 0009_translation_withdrawal
Revises: 0008_stale_approved_text
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_translation_withdrawal"
down_revision: str | None = "0008_stale_approved_text"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WITHDRAWN = (
    "EXISTS (SELECT 1 FROM translations "
    "WHERE translations.id = OLD.translation_id AND translations.status = 'withdrawn')"
)

_SQLITE_NO_DELETE = """CREATE TRIGGER translation_revisions_no_delete
    BEFORE DELETE ON translation_revisions {when}
    BEGIN SELECT RAISE(ABORT, 'translation revisions are immutable'); END"""

_POSTGRESQL_IMMUTABLE = """CREATE OR REPLACE FUNCTION translation_revisions_immutable()
    RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {allow}
        RAISE EXCEPTION 'translation revisions are immutable';
    END $$"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS translation_revisions_no_delete")
        op.execute(_SQLITE_NO_DELETE.format(when=f"WHEN NOT {_WITHDRAWN}"))
    elif dialect == "postgresql":
        allow = f"IF TG_OP = 'DELETE' AND {_WITHDRAWN} THEN RETURN OLD; END IF;"
        op.execute(_POSTGRESQL_IMMUTABLE.format(allow=allow))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS translation_revisions_no_delete")
        op.execute(_SQLITE_NO_DELETE.format(when=""))
    elif dialect == "postgresql":
        op.execute(_POSTGRESQL_IMMUTABLE.format(allow=""))
