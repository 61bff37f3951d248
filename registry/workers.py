"""Worker threads for the work a request's caller controls and that uses the CPU throughout.

Renders and lints run at most ``CPU_BOUND_SLOTS`` at once (:func:`run_cpu_bound`): under
the GIL more of them finish no sooner, and each one more is one more thread the event
loop waits behind for the GIL before it can answer anything, even ``/healthz``. Publish
and PO import are not among them: they hold a write transaction and may wait for a
prompt's lock (on SQLite the file's), and a slot held while waiting would stop every
render of the process.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")

# CPU-bound requests run at once, each in a worker thread of the app's pool.
CPU_BOUND_SLOTS = 2
_cpu_bound = anyio.CapacityLimiter(CPU_BOUND_SLOTS)
# How long a thread keeps the GIL while another waits for it (Python's default is 5 ms):
# the event loop takes it back within a few of these behind the CPU-bound threads.
_SWITCH_INTERVAL_S = 0.001


async def run_cpu_bound(func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` in a worker thread, once one of the ``CPU_BOUND_SLOTS`` is free
    (waiting on the event loop, holding no thread)."""
    if sys.getswitchinterval() > _SWITCH_INTERVAL_S:
        sys.setswitchinterval(_SWITCH_INTERVAL_S)
    async with _cpu_bound:
        return await anyio.to_thread.run_sync(func, *args)
