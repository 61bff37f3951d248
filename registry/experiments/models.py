"""Tables for experiments, their arms, the subjects exposed and the outcomes recorded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, JSONType, UTCDateTime, utcnow


class Experiment(Base):
    """A split of one label's traffic between versions; never changed once started,
    except to end it."""

    __tablename__ = "experiments"
    __table_args__ = (
        # One running experiment per prompt and label: ``running_label`` is the label
        # while it runs and NULL after, and NULLs never clash in a unique constraint.
        UniqueConstraint("prompt_id", "running_label"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id"))
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    label: Mapped[str] = mapped_column(String(64))
    running_label: Mapped[str | None] = mapped_column(String(64), default=None)
    metric: Mapped[str] = mapped_column(String(16))
    locales: Mapped[list[str]] = mapped_column(JSONType, default=list)
    min_samples: Mapped[int] = mapped_column(Integer)
    salt: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ended_by: Mapped[str | None] = mapped_column(String(255), default=None)
    promoted_arm: Mapped[str | None] = mapped_column(String(64), default=None)

    arms: Mapped[list[ExperimentArm]] = relationship(
        order_by="ExperimentArm.position", lazy="selectin", cascade="all, delete-orphan"
    )


class ExperimentArm(Base):
    __tablename__ = "experiment_arms"
    __table_args__ = (
        UniqueConstraint("experiment_id", "position"),
        UniqueConstraint("experiment_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id"))
    version: Mapped[int] = mapped_column(Integer)
    weight: Mapped[int] = mapped_column(Integer)


class Exposure(Base):
    """A subject that was served an arm: one row per experiment and subject."""

    __tablename__ = "experiment_exposures"
    __table_args__ = (Index("ix_experiment_exposures_experiment_id_arm", "experiment_id", "arm"),)

    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    arm: Mapped[str] = mapped_column(String(64))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Feedback(Base):
    """One outcome: 1.0 or 0.0 for a success metric, the score for a score metric."""

    __tablename__ = "experiment_feedback"
    __table_args__ = (
        # Feedback sent again for the same serving (a retry) is stored once.
        UniqueConstraint("experiment_id", "resolve_id"),
        Index("ix_experiment_feedback_experiment_id_arm", "experiment_id", "arm"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"))
    subject: Mapped[str] = mapped_column(String(255))
    arm: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    resolve_id: Mapped[str | None] = mapped_column(String(128), default=None)
    source: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
