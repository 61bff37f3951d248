"""``GET /metrics``: the Prometheus exposition.

Open by default, as the probes are: it shows route templates, statuses, counts and
timings, never a prompt's name or text. ``REGISTRY_METRICS_REQUIRE_KEY=true`` asks for
an API key of any role (Prometheus sends one with ``authorization.credentials_file``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from registry.access import keys
from registry.access.roles import Permission
from registry.config import Settings
from registry.db import Database
from registry.errors import Unauthorized
from registry.i18n.messages import _
from registry.observability.metrics import exposition

router = APIRouter(tags=["meta"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics: requests, answers, failures, the database pool, webhooks."""
    settings: Settings = request.app.state.settings
    if settings.metrics_require_key:
        await run_in_threadpool(_check_key, request.app.state.db, request)
    # Reads every worker's files in multiprocess mode: not on the event loop.
    body, content_type = await run_in_threadpool(exposition, request.headers.get("accept"))
    return Response(body, media_type=content_type)


def _check_key(db: Database, request: Request) -> None:
    """401 unless the request carries a known, live key that may read."""
    scheme, _sep, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            _("this request needs an API key: send Authorization: Bearer <key>"),
        )
    with db.session(write=False) as session:
        keys.check_token(session, token).principal.require(Permission.READ)
