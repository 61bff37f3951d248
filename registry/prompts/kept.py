"""Resolutions kept by each process, used again while nothing they were read from changed.

Applications resolve and render the same few prompts, labels and locales over and over.
A resolution is kept with the revision of every prompt it was read from (the root and
each component, see ``registry.prompts.service.find_served``). The store's triggers bump
a prompt's revision in the same transaction as any change to what it serves: a label
move, a publish, a translation written or reviewed, an experiment started or stopped, an
archive. A kept resolution is served again only after one read of those revisions, by
primary key, finds them unchanged: every process, on either store, serves a change from
the next request on.

What a resolution serves a subject of an experiment is never kept: each is an exposure.
Keys, scopes and key uses are not the cache's business: every request's key is checked
before the service asks it (see ``registry.prompts.service.kept_resolution``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cachetools import LRUCache
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.db import PreparedRead, Reads, in_list
from registry.observability.metrics import ANSWERS
from registry.prompts import models

if TYPE_CHECKING:
    from registry.prompts.service import Resolution

_PROMPTS = models.Prompt.__table__.c
# What a kept resolution costs beyond its texts and its response body (its query, the
# models, the entry): measured with tracemalloc, about 2 KB for a 0.6 KB template.
_OVERHEAD = 2_000

_REVISIONS = PreparedRead(
    lambda count: select(_PROMPTS.id, _PROMPTS.revision).where(in_list(_PROMPTS.id, "ids", count)),
    "ids",
)


@dataclass(frozen=True)
class ResolveQuery:
    """What a resolve asks for, once read and made canonical: the cache's key."""

    name: str
    label: str | None
    version: int | None
    locales: tuple[str, ...]
    allow_stale: bool
    preview: bool


def _size(resolution: Resolution) -> int:
    resolved = resolution.resolved
    texts = [resolved.template or ""]
    texts.extend(m.content for m in resolved.messages or ())
    texts.extend(c.template for c in resolved.components)
    # The texts in the models, then again in the response body once it is made.
    return 2 * sum(len(t) for t in texts) + _OVERHEAD


class KeptResolutions:
    """A least-recently-used map of resolutions, bounded by their approximate size.

    Read and written by requests on the event loop and in worker threads, under one lock.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: LRUCache[ResolveQuery, Resolution] = LRUCache(
            maxsize=max(max_bytes, 1), getsizeof=_size
        )
        self._lock = threading.Lock()
        # Requests served a kept resolution.
        self.hits = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size(self) -> int:
        return int(self._items.currsize)

    def get(self, query: ResolveQuery) -> Resolution | None:
        """The resolution kept for ``query``, current or not (see :meth:`current`)."""
        with self._lock:
            return self._items.get(query)

    def current(self, reads: Session | Reads, query: ResolveQuery, found: Resolution) -> bool:
        """Whether every prompt ``found`` (kept for ``query``) was read from is unchanged:
        one read. A changed one is dropped."""
        revisions = found.revisions
        rows = _REVISIONS.rows(reads, ids=list(revisions))
        if len(rows) == len(revisions) and all(revisions[row.id] == row.revision for row in rows):
            return True
        with self._lock:
            if self._items.get(query) is found:
                del self._items[query]
        return False

    def served(self, kind: str) -> None:
        """Count a kept resolution served, for a ``kind`` of answer (resolve, render)."""
        self.hits += 1
        ANSWERS.labels(kind, "cache").inc()

    def keep(self, query: ResolveQuery, resolution: Resolution) -> None:
        """Keep ``resolution`` (not one serving a subject an experiment's arm)."""
        if not self.max_bytes or resolution.resolved.experiment is not None:
            return
        if _size(resolution) > self.max_bytes:
            return
        with self._lock:
            self._items[query] = resolution
