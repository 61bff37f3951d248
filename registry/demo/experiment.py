"""A finished experiment for the demo: audience-aware summaries against the current ones.

Outcomes are drawn from a seeded generator, so every demo registry shows the same
results: version 2 of ``summarize/article`` is accepted more often, significantly.
"""

from __future__ import annotations

import random

from sqlalchemy import insert
from sqlalchemy.orm import Session

from registry.access.roles import SYSTEM
from registry.db import utcnow
from registry.experiments import service
from registry.experiments.assignment import arm_index
from registry.experiments.models import Feedback
from registry.experiments.schemas import ArmCreate, ExperimentCreate, ExperimentStop, Metric

PROMPT = "summarize/article"
SUBJECTS = 600
# How often readers accepted a summary without asking for another, per arm.
ACCEPTANCE = {"current": 0.62, "audience": 0.75}


def seed_experiment(session: Session) -> int:
    """Run and stop the demo experiment; returns its id."""
    experiment = service.create_experiment(
        session,
        PROMPT,
        ExperimentCreate(
            name="audience-aware",
            description="Do summaries written for a named audience get accepted more often?",
            label="production",
            arms=[
                ArmCreate(name="current", version=1, weight=50),
                ArmCreate(name="audience", version=2, weight=50),
            ],
            metric=Metric.success,
        ),
        principal=SYSTEM,
        salt="demo-audience-aware",
    )
    names = [arm.name for arm in experiment.arms]
    weights = [arm.weight for arm in experiment.arms]
    rng = random.Random(2026)
    now = utcnow()
    exposures, outcomes = [], []
    for i in range(SUBJECTS):
        subject = f"reader-{i:04d}"
        arm = names[arm_index(weights, experiment.salt, subject)]
        exposures.append(
            {"experiment_id": experiment.id, "subject": subject, "arm": arm, "first_at": now}
        )
        if rng.random() < 0.85:  # not every reader says anything
            accepted = rng.random() < ACCEPTANCE[arm]
            outcomes.append(
                {
                    "experiment_id": experiment.id,
                    "subject": subject,
                    "arm": arm,
                    "value": 1.0 if accepted else 0.0,
                    "resolve_id": None,
                    "source": "app",
                    "created_at": now,
                }
            )
    service.insert_exposures(session, exposures)
    session.execute(insert(Feedback), outcomes)
    service.stop_experiment(
        session,
        experiment.id,
        ExperimentStop(reason="enough readers; promote with the results in hand"),
        principal=SYSTEM,
    )
    return experiment.id
