"""The delivery worker: posts the outbox's due deliveries, signed, and retries with backoff.

Each server process runs one in a thread of its own (see ``registry.app``), and
``registry webhooks deliver`` runs one in a process of its own. Several may run at once:
a worker claims due deliveries in a short transaction that leases them
(``locked_until``), skipping rows another worker has locked (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL; SQLite has one writer at a time). It posts them outside any
transaction and records each result in a short transaction of its own. A process that
dies mid-post leaves a lease that runs out, and the delivery is posted again: receivers
see every event at least once, and a repeat always carries the same ``webhook-id``.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
from sqlalchemy import (
    CursorResult,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError

from registry import __version__
from registry.config import Settings
from registry.db import Database, utcnow
from registry.events.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from registry.events.schemas import DeliveryStatus
from registry.events.signing import signed_headers
from registry.observability.metrics import WebhookOutcome, webhook_attempted, webhook_backlog

log = logging.getLogger("registry.webhooks")

# A lease outlives the post it covers by this much (the result's own commit, a slow clock).
LEASE_MARGIN_S = 30
# What the delivery log keeps of a receiver's refusal or an error.
MAX_ERROR_CHARS = 500
# Deliveries and events finished longer ago are removed, at most once per this period.
PRUNE_EVERY_S = 3600

_DELIVERY_TABLE = cast(Table, WebhookDelivery.__table__)
_EVENT_TABLE = cast(Table, WebhookEvent.__table__)
_ATTEMPT_TABLE = cast(Table, WebhookAttempt.__table__)
_DELIVERIES = _DELIVERY_TABLE.c
_EVENTS = _EVENT_TABLE.c
_SUBSCRIPTIONS = WebhookSubscription.__table__.c


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a failed delivery again, and when to give up."""

    max_attempts: int
    max_age: timedelta
    base_s: float
    cap_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=settings.webhook_max_attempts,
            max_age=timedelta(seconds=settings.webhook_max_age_s),
            base_s=settings.webhook_retry_base_s,
            cap_s=settings.webhook_retry_cap_s,
        )

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before attempt ``attempt + 1``: exponential, capped, with jitter.

        Half the exponential delay is fixed and half random ("equal jitter"), so the
        retries of many deliveries that failed together (a receiver was down) spread out
        instead of arriving together. A receiver's ``Retry-After`` is honoured, capped.
        """
        ceiling = min(self.cap_s, self.base_s * 2 ** min(attempt - 1, 62))
        delay: float = ceiling / 2 + random.uniform(0, ceiling / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.cap_s))
        return delay

    def gives_up(self, counted: int, scheduled_at: datetime, now: datetime) -> bool:
        return counted >= self.max_attempts or now - scheduled_at >= self.max_age


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to this worker, with what posting it needs."""

    id: int
    subscription_id: int
    lease: datetime
    webhook_id: str
    body: Any
    url: str
    secret: str
    # When the event was committed (near enough: when it was written), for the lag metric.
    written_at: datetime


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None


def _due(now: datetime) -> Any:
    return and_(
        _DELIVERIES.status == DeliveryStatus.pending.value,
        _DELIVERIES.next_attempt_at <= now,
        or_(_DELIVERIES.locked_until.is_(None), _DELIVERIES.locked_until < now),
        # A subscription made inactive keeps its pending deliveries until it is active again.
        _SUBSCRIPTIONS.active.is_(True),
    )


_DUE_FROM = WebhookDelivery.__table__.join(
    WebhookSubscription.__table__, _SUBSCRIPTIONS.id == _DELIVERIES.subscription_id
)


class DeliveryWorker:
    """Claims due deliveries, posts them, records each attempt, schedules retries."""

    def __init__(
        self, db: Database, settings: Settings, *, http: httpx.Client | None = None
    ) -> None:
        self.db = db
        self.policy = RetryPolicy.from_settings(settings)
        self.poll_interval_s = settings.webhook_poll_interval_s
        self.concurrency = settings.webhook_concurrency
        self.timeout_s = settings.webhook_timeout_s
        self.retention = timedelta(days=settings.webhook_retention_days)
        self._http = http or httpx.Client(
            timeout=settings.webhook_timeout_s,
            follow_redirects=False,
            headers={"user-agent": f"prompt-registry/{__version__}"},
        )
        self._owns_http = http is None
        self._pruned_at = 0.0

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # ------------------------------------------------------------ one round

    def deliver_due(self) -> int:
        """Post every delivery due now, up to one batch; returns how many were posted.

        Each subscription's deliveries are posted one after the other, oldest first, so a
        receiver gets events in the order they were written unless a retry intervenes;
        different subscriptions are posted at once, so a slow receiver holds up only its
        own.
        """
        claimed = self.claim(self.concurrency)
        by_subscription: dict[int, list[Claimed]] = {}
        for delivery in claimed:
            by_subscription.setdefault(delivery.subscription_id, []).append(delivery)
        queues = list(by_subscription.values())
        if len(queues) == 1:
            self._deliver_in_order(queues[0])
        elif queues:
            with ThreadPoolExecutor(max_workers=len(queues)) as pool:
                list(pool.map(self._deliver_in_order, queues))
        return len(claimed)

    def _deliver_in_order(self, queue: list[Claimed]) -> None:
        for delivery in queue:
            self._deliver(delivery)

    def claim(self, limit: int) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries, oldest first. A read finds whether any are
        due, so an idle worker takes no write lock."""
        now = utcnow()
        with self.db.session(write=False) as session:
            anything = session.execute(
                select(_DELIVERIES.id).select_from(_DUE_FROM).where(_due(now)).limit(1)
            ).first()
        if anything is None:
            return []
        # Long enough for a whole batch to one receiver, posted one after the other.
        lease = now + timedelta(seconds=self.timeout_s * limit + LEASE_MARGIN_S)
        with self.db.session() as session:
            rows = session.execute(
                select(
                    _DELIVERIES.id,
                    _DELIVERIES.subscription_id,
                    _EVENTS.uid,
                    _EVENTS.created_at,
                    _EVENTS.body,
                    _SUBSCRIPTIONS.url,
                    _SUBSCRIPTIONS.secret,
                )
                .select_from(
                    _DUE_FROM.join(WebhookEvent.__table__, _EVENTS.id == _DELIVERIES.event_id)
                )
                .where(_due(now))
                .order_by(_DELIVERIES.next_attempt_at, _DELIVERIES.id)
                .limit(limit)
                .with_for_update(of=WebhookDelivery.__table__, skip_locked=True)
            ).all()
            if not rows:
                return []
            session.execute(
                update(_DELIVERY_TABLE)
                .where(_DELIVERIES.id.in_([r.id for r in rows]))
                .values(locked_until=lease)
            )
        return [
            Claimed(
                id=r.id,
                subscription_id=r.subscription_id,
                lease=lease,
                webhook_id=r.uid,
                body=r.body,
                url=r.url,
                secret=r.secret,
                written_at=r.created_at,
            )
            for r in rows
        ]

    def _deliver(self, claimed: Claimed) -> None:
        outcome = self.post(claimed)
        try:
            self.record(claimed, outcome)
        except DBAPIError:
            # The lease runs out and the delivery is posted again: at least once.
            log.exception("webhook delivery %s: the result could not be recorded", claimed.id)

    def post(self, claimed: Claimed) -> Outcome:
        """Post one delivery, signed with the time of this attempt."""
        body = json.dumps(claimed.body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = signed_headers(claimed.secret, claimed.webhook_id, int(time.time()), body)
        headers["content-type"] = "application/json"
        started = time.perf_counter()
        try:
            response = self._http.post(claimed.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(None, _clip(f"{type(exc).__name__}: {exc}"), _ms_since(started))
        duration = _ms_since(started)
        if response.is_success:
            return Outcome(response.status_code, None, duration)
        refusal = f"HTTP {response.status_code}"
        text = response.text.strip()
        return Outcome(
            response.status_code,
            _clip(f"{refusal}: {text}" if text else refusal),
            duration,
            _retry_after(response),
        )

    def record(self, claimed: Claimed, outcome: Outcome) -> None:
        """Log the attempt; mark the delivery delivered, failed, or due again later."""
        now = utcnow()
        with self.db.session() as session:
            counted = session.execute(
                update(_DELIVERY_TABLE)
                .where(_DELIVERIES.id == claimed.id)
                .values(attempts=_DELIVERIES.attempts + 1)
                .returning(_DELIVERIES.attempts, _DELIVERIES.counted_from, _DELIVERIES.scheduled_at)
            ).first()
            if counted is None:
                return  # the subscription was deleted meanwhile
            session.execute(
                insert(_ATTEMPT_TABLE),
                {
                    "delivery_id": claimed.id,
                    "number": counted.attempts,
                    "at": now,
                    "status_code": outcome.status_code,
                    "error": outcome.error,
                    "duration_ms": outcome.duration_ms,
                },
            )
            values: dict[str, Any] = {
                "locked_until": None,
                "last_status_code": outcome.status_code,
                "last_error": outcome.error,
            }
            metric: WebhookOutcome = "failed"
            if outcome.delivered:
                values |= {"status": DeliveryStatus.delivered.value, "finished_at": now}
                metric = "delivered"
            elif self.policy.gives_up(
                counted.attempts - counted.counted_from, counted.scheduled_at, now
            ):
                values |= {"status": DeliveryStatus.failed.value, "finished_at": now}
                metric = "abandoned"
            else:
                delay = self.policy.delay(
                    counted.attempts - counted.counted_from, outcome.retry_after
                )
                values["next_attempt_at"] = now + timedelta(seconds=delay)
            # Only while the lease is this worker's: a redelivery asked for meanwhile
            # (which clears it) stands.
            session.execute(
                update(_DELIVERY_TABLE)
                .where(_DELIVERIES.id == claimed.id, _DELIVERIES.locked_until == claimed.lease)
                .values(**values)
            )
        webhook_attempted(metric, lag_seconds=(now - claimed.written_at).total_seconds())
        if outcome.delivered:
            log.info("webhook %s delivered", claimed.webhook_id)
        else:
            log.warning("webhook %s not delivered: %s", claimed.webhook_id, outcome.error)

    def report_backlog(self) -> None:
        """Tell the metrics how many deliveries wait, and how long the oldest has."""
        with self.db.session(write=False) as session:
            pending, oldest = session.execute(
                select(func.count(), func.min(_DELIVERIES.created_at)).where(
                    _DELIVERIES.status == DeliveryStatus.pending.value
                )
            ).one()
        age = 0.0 if oldest is None else (utcnow() - oldest).total_seconds()
        webhook_backlog(int(pending), age)

    def prune(self) -> int:
        """Remove deliveries finished longer ago than the retention, and events left
        without deliveries; returns how many deliveries went."""
        cutoff = utcnow() - self.retention
        with self.db.session() as session:
            removed = cast(
                CursorResult[Any],
                session.execute(
                    delete(_DELIVERY_TABLE).where(
                        _DELIVERIES.status != DeliveryStatus.pending.value,
                        _DELIVERIES.finished_at < cutoff,
                    )
                ),
            ).rowcount
            session.execute(
                delete(_EVENT_TABLE).where(~exists().where(_DELIVERIES.event_id == _EVENTS.id))
            )
        return int(removed or 0)

    # ------------------------------------------------------------ the loop

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set: at once while deliveries are due, else every
        poll interval. A database that is unavailable (or not migrated yet) is waited
        for and reported once, not fatal."""
        reported: str | None = None
        while not stop.is_set():
            posted = 0
            try:
                if self._store_exists():
                    if time.monotonic() - self._pruned_at >= PRUNE_EVERY_S:
                        self.prune()
                        self._pruned_at = time.monotonic()
                    self.report_backlog()
                    posted = self.deliver_due()
                reported = None
            except DBAPIError as exc:
                problem = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
                if problem != reported:
                    log.warning("webhook deliveries wait for the database: %s", problem)
                    reported = problem
            except Exception:
                log.exception("webhook delivery round failed")
            if posted == 0:
                stop.wait(self.poll_interval_s)

    def _store_exists(self) -> bool:
        """False for a SQLite file that is not there: connecting would create it empty."""
        url = self.db.engine.url
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return True
        return url.query.get("uri") == "true" or Path(url.database).is_file()


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _retry_after(response: httpx.Response) -> float | None:
    """A ``Retry-After`` of seconds, on the answers that mean "later" (429, 503)."""
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None


@contextmanager
def running_worker(settings: Settings) -> Iterator[DeliveryWorker | None]:
    """A worker delivering in a thread of its own until the block ends; None when
    ``webhooks_deliver`` is off.

    It has an engine of its own, so deliveries never take the connections the API's
    requests are sized for.
    """
    if not settings.webhooks_deliver:
        yield None
        return
    # The file is set up (WAL) by the server that runs this worker.
    db = Database.from_url(
        settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms, set_up_file=False
    )
    worker = DeliveryWorker(db, settings)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="webhooks", daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(timeout=settings.webhook_timeout_s + 5)
        worker.close()
        db.dispose()
