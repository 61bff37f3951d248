"""Recording the subjects served an arm by the registry's own resolve and render.

Resolve and render only read (on SQLite a write would take the one write lock), so an
exposure is written after the answer has gone out, in a short transaction of its own,
and only the first time this process serves that subject in that experiment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

from cachetools import LRUCache
from fastapi import BackgroundTasks

from registry.experiments.plan import ServedExperiment
from registry.experiments.service import SessionOpener, expose


class _Seen:
    """A bounded set of (experiment id, subject) pairs recorded by this process."""

    def __init__(self, size: int) -> None:
        self._items: LRUCache[tuple[int, str], bool] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def add(self, key: tuple[int, str]) -> bool:
        """True when ``key`` is new (and now remembered)."""
        with self._lock:
            if self._items.get(key):  # a hit is the most recently used again
                return False
            self._items[key] = True
            return True

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


seen = _Seen(size=200_000)


class Exposures:
    """Queues the recording of an arm served to a subject, after the response."""

    def __init__(self, background: BackgroundTasks, open_session: SessionOpener) -> None:
        self._background = background
        self._open_session = open_session

    def served(self, experiment: ServedExperiment | None) -> None:
        if experiment is None or not seen.add((experiment.id, experiment.subject)):
            return
        task: Callable[[], None] = partial(
            expose, self._open_session, experiment.id, experiment.subject, experiment.arm
        )
        self._background.add_task(task)
