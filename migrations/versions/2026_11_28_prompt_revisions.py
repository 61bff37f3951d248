"""A revision counter on every prompt, bumped by every change to what it serves.

Triggers bump ``prompts.revision`` in the same transaction as any change to the prompt's
serving columns, labels, versions, translations or experiments, whoever writes them (the
API, the CLI, a restore, a hand-written statement). A process that keeps an answer with
the revisions it was computed at can tell with one indexed query whether it still holds.

Revision ID: 0006_prompt_revisions
Revises: 0005_experiments
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_prompt_revisions"
down_revision: str | None = "0005_experiments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables whose rows belong to one prompt (``prompt_id``) and change what it serves.
_CHILD_TABLES = ("labels", "prompt_versions", "translations", "experiments")
# The prompt's own columns that change what it serves.
_SERVING_COLUMNS = ("name", "kind", "source_locale", "latest_version", "archived_at")

_BUMP = "UPDATE prompts SET revision = revision + 1 WHERE id = {row}.prompt_id;"


def _sqlite_triggers() -> list[str]:
    statements = []
    for table in _CHILD_TABLES:
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            statements.append(
                f"CREATE TRIGGER {table}_revise_prompt_on_{event.lower()} "
                f"AFTER {event} ON {table} BEGIN {_BUMP.format(row=row)} END"
            )
    # SQLite runs no trigger from within its own statement (recursive_triggers is off),
    # and the bump changes no serving column anyway.
    statements.append(
        f"CREATE TRIGGER prompts_revise AFTER UPDATE OF {', '.join(_SERVING_COLUMNS)} "
        "ON prompts BEGIN UPDATE prompts SET revision = revision + 1 WHERE id = NEW.id; END"
    )
    return statements


def _postgresql_triggers() -> list[str]:
    new = ", ".join(f"NEW.{column}" for column in _SERVING_COLUMNS)
    old = ", ".join(f"OLD.{column}" for column in _SERVING_COLUMNS)
    statements = [
        f"""CREATE FUNCTION prompts_revise_from_child() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                {_BUMP.format(row="OLD")}
                RETURN OLD;
            END IF;
            {_BUMP.format(row="NEW")}
            RETURN NEW;
        END $$""",
        f"""CREATE FUNCTION prompts_revise() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.revision = OLD.revision AND ({new}) IS DISTINCT FROM ({old}) THEN
                NEW.revision := OLD.revision + 1;
            END IF;
            RETURN NEW;
        END $$""",
        """CREATE TRIGGER prompts_revise BEFORE UPDATE ON prompts
        FOR EACH ROW EXECUTE FUNCTION prompts_revise()""",
    ]
    statements.extend(
        f"""CREATE TRIGGER {table}_revise_prompt AFTER INSERT OR UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION prompts_revise_from_child()"""
        for table in _CHILD_TABLES
    )
    return statements


def upgrade() -> None:
    revision_column = sa.Column("revision", sa.Integer(), server_default="0", nullable=False)
    op.add_column("prompts", revision_column)
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        statements = _sqlite_triggers()
    elif dialect == "postgresql":
        statements = _postgresql_triggers()
    else:
        statements = []
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in _CHILD_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_revise_prompt ON {table}")
        op.execute("DROP TRIGGER IF EXISTS prompts_revise ON prompts")
        op.execute("DROP FUNCTION IF EXISTS prompts_revise()")
        op.execute("DROP FUNCTION IF EXISTS prompts_revise_from_child()")
    elif dialect == "sqlite":
        for table in _CHILD_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_revise_prompt_on_{event}")
        op.execute("DROP TRIGGER IF EXISTS prompts_revise")
    if dialect == "sqlite":
        # SQLite 3.35+ drops a column in place; a batch copy of the table would break the
        # foreign keys that other tables hold on it.
        op.execute("ALTER TABLE prompts DROP COLUMN revision")
    else:
        op.drop_column("prompts", "revision")
