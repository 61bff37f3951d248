"""A key may be limited to several folders, and may read folders it does not change.

``api_keys.folder`` (one folder or none) becomes ``folders`` (a list, or NULL for every
prompt) and ``read_folders`` (folders the key may read, for components shared across
folders through includes).

Revision ID: 0007_key_folders
Revises: 0006_prompt_revisions
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_key_folders"
down_revision: str | None = "0006_prompt_revisions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
NULLABLE_JSON = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
)


# The columns the data is copied between, as both directions see them.
KEYS = sa.table(
    "api_keys",
    sa.column("id", sa.Integer()),
    sa.column("folder", sa.String()),
    sa.column("folders", NULLABLE_JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("folders", NULLABLE_JSON, nullable=True))
        batch.add_column(
            sa.Column("read_folders", JSON, nullable=False, server_default=sa.text("'[]'"))
        )
    connection = op.get_bind()
    limited = connection.execute(
        sa.select(KEYS.c.id, KEYS.c.folder).where(KEYS.c.folder.is_not(None))
    ).all()
    for key_id, folder in limited:
        connection.execute(KEYS.update().where(KEYS.c.id == key_id).values(folders=[folder]))
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("read_folders", server_default=None)
        batch.drop_column("folder")


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("folder", sa.String(length=255), nullable=True))
    connection = op.get_bind()
    limited = connection.execute(
        sa.select(KEYS.c.id, KEYS.c.folders).where(KEYS.c.folders.is_not(None))
    ).all()
    for key_id, folders in limited:
        # One folder is all the earlier schema holds: a key keeps the first of its
        # folders, never more than it had.
        connection.execute(KEYS.update().where(KEYS.c.id == key_id).values(folder=folders[0]))
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("read_folders")
        batch.drop_column("folders")
