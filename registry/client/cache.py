"""The SDK's cache of resolved prompts: a size-bounded LRU map, safe to share across threads.

Freshness is decided by the clients (they own the clock and the refreshes); this module
only keeps entries, evicts the least recently used one past ``maxsize``, and lets exactly
one caller at a time claim the refresh of an entry.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from registry.client.prompt import Prompt

__all__ = ["Entry", "PromptCache"]


@dataclass(slots=True, eq=False)
class Entry:
    """A cached prompt, the ETag to revalidate it with, and when it stops being fresh."""

    prompt: Prompt
    etag: str
    # Clock reading after which the entry is stale; infinite for immutable answers.
    expires_at: float = math.inf
    refreshing: bool = False


class PromptCache:
    """Entries by key, least recently used evicted first; every method is thread-safe.

    An OrderedDict rather than cachetools' LRUCache (which the registry's other caches
    use): every cached get reads it, and LRUCache's lookup measured 3x the time (1.6
    against 0.5 µs a hit, behind the same lock), where the whole cached get is about 1 µs.
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("the cache needs room for at least one prompt")
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Entry | None:
        """The entry for ``key``, marked as the most recently used."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, entry: Entry) -> None:
        """Store ``entry``, evicting the least recently used entries past the size bound."""
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def claim_refresh(self, entry: Entry) -> bool:
        """True for exactly one caller until :meth:`release`: that caller refreshes."""
        with self._lock:
            if entry.refreshing:
                return False
            entry.refreshing = True
            return True

    def release(self, entry: Entry, *, expires_at: float | None = None) -> None:
        """End a refresh; a new ``expires_at`` keeps the entry fresh that long."""
        with self._lock:
            entry.refreshing = False
            if expires_at is not None:
                entry.expires_at = expires_at

    def replace(self, key: Hashable, old: Entry, new: Entry) -> None:
        """Swap in a refreshed entry, unless ``old`` was evicted or invalidated meanwhile."""
        with self._lock:
            old.refreshing = False
            if self._entries.get(key) is old:
                self._entries[key] = new

    def discard(self, key: Hashable, entry: Entry) -> None:
        """Drop ``entry`` if it is still the one stored under ``key``."""
        with self._lock:
            entry.refreshing = False
            if self._entries.get(key) is entry:
                del self._entries[key]

    def invalidate(self, name: str | None = None) -> int:
        """Drop every entry, or those of prompt ``name`` and of prompts that include it."""
        with self._lock:
            if name is None:
                count = len(self._entries)
                self._entries.clear()
                return count
            doomed = [
                key
                for key, entry in self._entries.items()
                if entry.prompt.name == name or any(c.name == name for c in entry.prompt.components)
            ]
            for key in doomed:
                del self._entries[key]
            return len(doomed)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
