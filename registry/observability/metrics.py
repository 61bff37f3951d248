"""The registry's Prometheus metrics, and the functions other packages count them with.

Labels hold route templates, methods, status codes, error classes and finding levels:
never a prompt's name, a key or any text, so the exposition tells a reader how the
server is doing and nothing of what it stores.

With several worker processes (``registry serve --workers N``) every process writes its
values to files in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess
mode), and a scrape answered by any of them adds up all of them. prometheus_client
reads the variable when it is first imported, so it must be set before the workers
start: :func:`multiprocess_directory` does that for ``registry serve``.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from time import perf_counter
from typing import Any, Literal

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from registry.errors import InvalidTemplate, RegistryError, RenderError, StyleViolation

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

# A `_created` series beside every counter and histogram doubles what a scrape reads;
# Prometheus uses it for nothing the rules here need.
disable_created_metrics()  # type: ignore[no-untyped-call]

# From a resolve answered from memory (a few hundred microseconds) to a lint near the
# size limit or a render near its time budget (seconds).
REQUEST_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

# ---------------------------------------------------------------- HTTP

REQUESTS = Counter(
    "registry_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "registry_http_request_duration_seconds",
    "Time from a request's arrival to the last byte of its response, by method and route template.",
    ["method", "route"],
    buckets=REQUEST_BUCKETS,
)

# ---------------------------------------------------------------- answers

ANSWERS = Counter(
    "registry_answers",
    "Resolve and render answers with a 200, by kind (resolve, render) and source: 'cache' "
    "when a resolution kept by the process served them, 'computed' otherwise.",
    ["kind", "source"],
)

# ---------------------------------------------------------------- failures

RENDER_FAILURES = Counter(
    "registry_render_failures",
    "Renders refused (and templates that do not compile), by the problem's code and the "
    "template engine's exception class ('values' when the values do not fit the declared "
    "variables).",
    ["code", "cause"],
)
STYLE_REFUSALS = Counter(
    "registry_style_refusals",
    "Publishes the style guide refused because of an error finding.",
)
STYLE_REFUSED_FINDINGS = Counter(
    "registry_style_refused_findings",
    "Findings of the publishes the style guide refused, by level.",
    ["level"],
)

# ---------------------------------------------------------------- database pool

POOL_IN_USE = Gauge(
    "registry_db_pool_connections_in_use",
    "Database connections checked out of the pool, by pool ('main': the registry's "
    "engine; probes use connections of their own).",
    ["pool"],
    multiprocess_mode="livesum",
)
POOL_MAX = Gauge(
    "registry_db_pool_connections_max",
    "How many connections the pool hands out at most (size plus overflow), by pool.",
    ["pool"],
    multiprocess_mode="livesum",
)
POOL_WAIT_SECONDS = Histogram(
    "registry_db_pool_wait_seconds",
    "Time a checkout waited because every connection of the pool was in use, by pool.",
    ["pool"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0),
)
POOL_TIMEOUTS = Counter(
    "registry_db_pool_timeouts",
    "Checkouts that gave up waiting after the pool's timeout (the request got a 503).",
    ["pool"],
)

# ---------------------------------------------------------------- webhooks

WEBHOOK_DELIVERIES = Counter(
    "registry_webhook_deliveries",
    "Webhook delivery attempts, by outcome: 'delivered' (the receiver answered 2xx), "
    "'failed' (to be retried), 'abandoned' (no retry left).",
    ["outcome"],
)
WEBHOOK_LAG_SECONDS = Histogram(
    "registry_webhook_delivery_lag_seconds",
    "Time from an event's commit to its delivery.",
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 21600.0),
)
WEBHOOK_PENDING = Gauge(
    "registry_webhook_pending_deliveries",
    "Deliveries waiting in the outbox, as the delivery worker last counted them.",
    multiprocess_mode="livemax",
)
WEBHOOK_OLDEST_PENDING_SECONDS = Gauge(
    "registry_webhook_oldest_pending_seconds",
    "Age of the oldest delivery waiting in the outbox (0: none waits).",
    multiprocess_mode="livemax",
)

WebhookOutcome = Literal["delivered", "failed", "abandoned"]


def webhook_attempted(outcome: WebhookOutcome, *, lag_seconds: float | None = None) -> None:
    """Count one delivery attempt; ``lag_seconds``, once delivered: since the event's commit.

    For the webhook delivery worker (registry.events), after each attempt.
    """
    WEBHOOK_DELIVERIES.labels(outcome).inc()
    if outcome == "delivered" and lag_seconds is not None:
        WEBHOOK_LAG_SECONDS.observe(max(lag_seconds, 0.0))


def webhook_backlog(pending: int, oldest_seconds: float) -> None:
    """Report the outbox as the delivery worker sees it on each pass.

    A lag histogram says nothing while deliveries are stuck; the oldest waiting delivery's
    age grows, and an alert can watch it.
    """
    WEBHOOK_PENDING.set(pending)
    WEBHOOK_OLDEST_PENDING_SECONDS.set(max(oldest_seconds, 0.0) if pending else 0.0)


def count_refusal(error: RegistryError) -> None:
    """Count a refused render or a publish the style guide refused; other errors pass.

    Called where every error becomes its problem response (the app's handler).
    """
    if isinstance(error, StyleViolation):
        STYLE_REFUSALS.inc()
        findings = error.extensions.get("findings")
        if isinstance(findings, list):
            for finding in findings:
                if isinstance(finding, dict) and isinstance(finding.get("level"), str):
                    STYLE_REFUSED_FINDINGS.labels(finding["level"]).inc()
    elif isinstance(error, RenderError | InvalidTemplate):
        RENDER_FAILURES.labels(error.code, _cause(error)).inc()


def _cause(error: RegistryError) -> str:
    # The engine raises the registry's error inside its handler of the engine's own
    # (`raise ... from None` hides it from tracebacks but keeps it as the context).
    cause = error.__context__
    return "values" if cause is None else type(cause).__name__.lstrip("_")


# ---------------------------------------------------------------- database pool


class MeteredQueuePool(QueuePool):
    """SQLAlchemy's QueuePool, reporting connections in use, its capacity, and waits.

    Subclassed per pool name (:func:`metered_pool`): SQLAlchemy recreates a pool from
    its class when the engine is disposed, so the name follows without any state.
    """

    metrics_name = "main"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name = self.metrics_name
        self._in_use = POOL_IN_USE.labels(name)
        self._waits = POOL_WAIT_SECONDS.labels(name)
        self._timeouts = POOL_TIMEOUTS.labels(name)
        overflow: int = self._max_overflow
        self._capacity = None if overflow < 0 else self.size() + overflow
        if self._capacity is not None:
            POOL_MAX.labels(name).set(self._capacity)

    def _do_get(self) -> ConnectionPoolEntry:
        if self._capacity is None or self.checkedout() < self._capacity:
            entry = super()._do_get()
        else:
            started = perf_counter()
            try:
                entry = super()._do_get()
            except PoolTimeoutError:
                self._timeouts.inc()
                raise
            finally:
                self._waits.observe(perf_counter() - started)
        self._in_use.set(self.checkedout())
        return entry

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        super()._do_return_conn(record)
        self._in_use.set(self.checkedout())


_POOL_CLASSES: dict[str, type[MeteredQueuePool]] = {}


def metered_pool(name: str) -> type[MeteredQueuePool]:
    """The pool class for engines whose pool reports as ``name``."""
    pool_class = _POOL_CLASSES.get(name)
    if pool_class is None:
        pool_class = type(f"MeteredQueuePool_{name}", (MeteredQueuePool,), {"metrics_name": name})
        _POOL_CLASSES[name] = pool_class
    return pool_class


# ---------------------------------------------------------------- exposition and processes


def exposition(accept: str | None) -> tuple[bytes, str]:
    """The metrics, in the format ``accept`` asks for (Prometheus text by default), and
    its content type: this process's, or every worker's in multiprocess mode."""
    encoder, content_type = choose_encoder(accept or "")
    path = os.environ.get(MULTIPROCESS_ENV)
    if not path:
        return encoder(REGISTRY), content_type
    forget_dead_processes(Path(path))
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path)  # type: ignore[no-untyped-call]
    return encoder(registry), content_type


_LIVE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def forget_dead_processes(path: Path) -> None:
    """Drop the live gauges of worker processes that are gone (a crash, a restart).

    Their counters and histograms stay: what they counted still happened. Done at each
    scrape, so it needs no hook in the process supervisor (uvicorn's replaces a worker
    that died on its own).
    """
    pids = set()
    for file in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        match = _LIVE_FILE.fullmatch(os.path.basename(file))
        if match is not None:
            pids.add(int(match[1]))
    for pid in pids:
        if not _alive(pid):
            mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # a process of another user now has the number
    return True


@contextmanager
def multiprocess_directory(workers: int) -> Iterator[Path | None]:
    """Where ``workers`` processes write their metrics while the block runs.

    The directory the operator set in ``PROMETHEUS_MULTIPROC_DIR`` is emptied first of
    other processes' files (an earlier run's would count again; with several workers,
    this process's too: it serves nothing, yet its migration's pool would count as
    live). Without one, one process keeps its metrics in memory (None), and several use
    a temporary directory, removed at the end.
    """
    given = os.environ.get(MULTIPROCESS_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        mine = f"_{os.getpid()}.db"
        for file in path.glob("*.db"):
            if workers > 1 or not file.name.endswith(mine):
                file.unlink()
        yield path
        return
    if workers <= 1:
        yield None
        return
    path = Path(tempfile.mkdtemp(prefix="registry-metrics-"))
    os.environ[MULTIPROCESS_ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROCESS_ENV, None)
        shutil.rmtree(path, ignore_errors=True)
