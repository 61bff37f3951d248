"""Experiments: arms, exposures and feedback.

Revision ID: 0005_experiments
Revises: 0004_access_control
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from registry.db import UTCDateTime

revision: str = "0005_experiments"
down_revision: str | None = "0004_access_control"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prompt_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("running_label", sa.String(length=64), nullable=True),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("locales", JSON, nullable=False),
        sa.Column("min_samples", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("ended_by", sa.String(length=255), nullable=True),
        sa.Column("promoted_arm", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["prompt_id"], ["prompts.id"], name=op.f("fk_experiments_prompt_id_prompts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint(
            "prompt_id", "running_label", name=op.f("uq_experiments_prompt_id_running_label")
        ),
    )
    op.create_table(
        "experiment_arms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_arms_experiment_id_experiments"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["prompt_versions.id"],
            name=op.f("fk_experiment_arms_version_id_prompt_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_arms")),
        sa.UniqueConstraint(
            "experiment_id", "name", name=op.f("uq_experiment_arms_experiment_id_name")
        ),
        sa.UniqueConstraint(
            "experiment_id", "position", name=op.f("uq_experiment_arms_experiment_id_position")
        ),
    )
    op.create_table(
        "experiment_exposures",
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("arm", sa.String(length=64), nullable=False),
        sa.Column("first_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_exposures_experiment_id_experiments"),
        ),
        sa.PrimaryKeyConstraint("experiment_id", "subject", name=op.f("pk_experiment_exposures")),
    )
    op.create_index(
        "ix_experiment_exposures_experiment_id_arm",
        "experiment_exposures",
        ["experiment_id", "arm"],
    )
    op.create_table(
        "experiment_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("arm", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("resolve_id", sa.String(length=128), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_feedback_experiment_id_experiments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_feedback")),
        sa.UniqueConstraint(
            "experiment_id",
            "resolve_id",
            name=op.f("uq_experiment_feedback_experiment_id_resolve_id"),
        ),
    )
    op.create_index(
        "ix_experiment_feedback_experiment_id_arm",
        "experiment_feedback",
        ["experiment_id", "arm"],
    )


def downgrade() -> None:
    op.drop_table("experiment_feedback")
    op.drop_table("experiment_exposures")
    op.drop_table("experiment_arms")
    op.drop_table("experiments")
