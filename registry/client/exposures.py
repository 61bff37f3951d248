"""Subjects the SDK assigned to experiment arms, waiting to be reported to the registry.

Assignment happens locally, with no request; the registry still needs to know how many
subjects each arm reached. Each (experiment, subject) is queued once per process and sent
in batches (``POST /v1/experiments/exposures``) in the background; the registry counts
each once however often it hears of it, so a batch sent twice does no harm.
"""

from __future__ import annotations

import threading
from typing import Any

from cachetools import LRUCache

__all__ = ["ExposureBuffer"]

BATCH_SIZE = 200
FLUSH_INTERVAL = 5.0


class ExposureBuffer:
    """A thread-safe queue of exposures, deduplicated per process and bounded."""

    def __init__(self, *, seen_size: int = 100_000, max_pending: int = 10_000) -> None:
        self._seen: LRUCache[tuple[int, str], bool] = LRUCache(maxsize=seen_size)
        self._pending: list[dict[str, Any]] = []
        self._max_pending = max_pending
        self._scheduled = False
        self._lock = threading.Lock()

    def add(self, experiment: int, subject: str) -> bool:
        """Queue an exposure; True when it is new and no flush is scheduled yet."""
        key = (experiment, subject)
        with self._lock:
            if self._seen.get(key):
                return False
            self._seen[key] = True
            self._pending.append({"experiment": experiment, "subject": subject})
            if len(self._pending) > self._max_pending:
                del self._pending[0]
            if self._scheduled:
                return False
            self._scheduled = True
            return True

    def take(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Up to ``limit`` queued exposures, removed from the queue."""
        with self._lock:
            batch, self._pending = self._pending[:limit], self._pending[limit:]
            self._scheduled = False
            return batch

    def requeue(self, batch: list[dict[str, Any]]) -> None:
        """Put back a batch the registry could not take, to try again later."""
        with self._lock:
            self._pending[:0] = batch
            del self._pending[: max(0, len(self._pending) - self._max_pending)]

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)
