"""The hook resolve calls: is an experiment running on this label, and does it apply?

One indexed query per label resolve (the unique ``(prompt_id, running_label)`` index);
the definition of a running experiment never changes, so it is cached in the process by
id and salt, while whether it still runs is read from the store every time, so every
replica stops serving it the moment it ends.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from cachetools import LRUCache
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from registry.db import PreparedRead
from registry.experiments.models import Experiment
from registry.experiments.plan import ExperimentPlan, PlanArm
from registry.locales.tags import fallback_chain
from registry.prompts.models import Prompt


@dataclass(frozen=True)
class Running:
    plan: ExperimentPlan
    locales: frozenset[str]

    def applies(self, requested: Sequence[str], source_locale: str) -> bool:
        """Whether a request for ``requested`` locales takes part.

        The first locale asked for (the source when none was) takes part when it, or a
        locale it falls back to, is in the experiment's list: ``fr`` covers ``fr_CA``.
        """
        if not self.locales:
            return True
        first = requested[0] if requested else source_locale
        return any(locale in self.locales for locale in fallback_chain(first, first))


class _Plans:
    def __init__(self, size: int) -> None:
        self._items: LRUCache[tuple[int, str], Running] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def get(self, key: tuple[int, str]) -> Running | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple[int, str], running: Running) -> None:
        with self._lock:
            self._items[key] = running


plans = _Plans(size=2_000)

# On the tables' columns: a Core statement, without the ORM's compile and loading steps.
_EXPERIMENTS = Experiment.__table__.c
_PROMPTS = Prompt.__table__.c
_RUNNING = PreparedRead(
    lambda: (
        select(_EXPERIMENTS.id, _EXPERIMENTS.salt)
        .join(Prompt.__table__, _PROMPTS.id == _EXPERIMENTS.prompt_id)
        .where(_PROMPTS.name == bindparam("name"), _EXPERIMENTS.running_label == bindparam("label"))
    )
)


def running_experiment(session: Session, name: str, label: str) -> Running | None:
    """The experiment running on ``label`` of prompt ``name``, if any."""
    row = _RUNNING.first(session, name=name, label=label)
    if row is None:
        return None
    key = (row.id, row.salt)
    running = plans.get(key)
    if running is None:
        experiment = session.get(Experiment, row.id)
        assert experiment is not None
        running = Running(
            plan=ExperimentPlan(
                id=experiment.id,
                name=experiment.name,
                salt=experiment.salt,
                arms=[
                    PlanArm(name=arm.name, version=arm.version, weight=arm.weight)
                    for arm in experiment.arms
                ],
            ),
            locales=frozenset(experiment.locales),
        )
        plans.put(key, running)
    return running


def running_plan(
    session: Session, name: str, label: str, requested: Sequence[str], source_locale: str
) -> ExperimentPlan | None:
    """The plan of the experiment a label resolve takes part in, if any."""
    running = running_experiment(session, name, label)
    if running is None or not running.applies(requested, source_locale):
        return None
    return running.plan
