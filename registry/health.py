"""Probes for load balancers and orchestrators; neither needs an API key.

``/healthz`` is liveness: the process answers. It never touches the database, so an
orchestrator does not restart every replica while the database is away; restarting would
not bring it back. ``/readyz`` is readiness: this server can serve requests now, because
the database answers. A load balancer sends traffic only to ready replicas.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from fastapi import APIRouter, Request
from sqlalchemy.exc import DBAPIError

from registry import __version__
from registry.db import Database, Failure, failure_of
from registry.errors import Unavailable
from registry.locales.messages import _

log = logging.getLogger("registry")

# Seconds a caller should wait before retrying: a lock clears quickly; a database that
# went away takes longer to come back; one that is full or read-only waits for an operator.
RETRY_AFTER_BUSY = 1
RETRY_AFTER_UNREACHABLE = 5
RETRY_AFTER_OPERATOR = 30

# /readyz answers within READINESS_TIMEOUT_S whatever the database does (probes give up
# after a few seconds); its check gives up a little earlier, so that the worker thread it
# runs in is free again by the time the answer goes out.
READINESS_TIMEOUT_S = 4.0
PING_TIMEOUT_S = 3.0

router = APIRouter(tags=["meta"])


def database_unavailable(exc: Exception) -> Unavailable:
    """The 503 for a database error or a pool timeout: unreachable, full, read-only or
    busy, and when to retry."""
    failure = failure_of(exc) if isinstance(exc, DBAPIError) else Failure.BUSY
    if failure is Failure.UNREACHABLE:
        return Unavailable(
            _("the database cannot be reached; retry shortly"),
            headers={"Retry-After": str(RETRY_AFTER_UNREACHABLE)},
        )
    if failure is Failure.FULL:
        return Unavailable(
            _("the database has no space left; free some space, then retry"),
            headers={"Retry-After": str(RETRY_AFTER_OPERATOR)},
        )
    if failure is Failure.READ_ONLY:
        return Unavailable(
            _("the database is read-only; writes resume once it takes writes again"),
            headers={"Retry-After": str(RETRY_AFTER_OPERATOR)},
        )
    return Unavailable(
        _("the database is busy; retry shortly"),
        headers={"Retry-After": str(RETRY_AFTER_BUSY)},
    )


# Async with no I/O: it answers even while every worker thread waits on the database.
@router.get("/healthz")
async def healthz() -> dict[str, Any]:
    """Liveness: the process answers. The database is not consulted."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
async def readyz(request: Request) -> dict[str, Any]:
    """Readiness: the database answers; 503 with `Retry-After` while it does not, within
    a few seconds whatever the database does."""
    db: Database = request.app.state.db
    # A connection of its own, not the request's session: no key to check, nothing to
    # commit, and none of the pool's connections, which may be the ones that hang.
    try:
        with anyio.fail_after(READINESS_TIMEOUT_S):
            await anyio.to_thread.run_sync(db.ping, PING_TIMEOUT_S, abandon_on_cancel=True)
    except DBAPIError as exc:
        log.warning("not ready: %s", exc.orig)
        raise database_unavailable(exc) from None
    except TimeoutError:
        log.warning("not ready: the database did not answer within %s s", READINESS_TIMEOUT_S)
        raise Unavailable(
            _("the database cannot be reached; retry shortly"),
            headers={"Retry-After": str(RETRY_AFTER_UNREACHABLE)},
        ) from None
    return {"status": "ready", "version": __version__, "database": db.engine.dialect.name}
