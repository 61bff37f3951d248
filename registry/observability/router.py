"""``GET /metrics``: the Prometheus exposition.

Open by default, as the probes are: it shows route templates, statuses, counts and
timings, never a prompt's name or text. ``REGISTRY_METRICS_REQUIRE_KEY=true`` asks for
an API key of any role (Prometheus sends one with ``authorization.credentials_file``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from registry.access.roles import Permission, Principal
from registry.config import Settings
from registry.dependencies import optional_key
from registry.observability.metrics import exposition

router = APIRouter(tags=["meta"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
async def metrics(
    request: Request,
    key: Annotated[Callable[[Permission], Principal], Depends(optional_key)],
) -> Response:
    """Prometheus metrics: requests, answers, failures, the database pool, webhooks."""
    settings: Settings = request.app.state.settings
    if settings.metrics_require_key:
        await run_in_threadpool(key, Permission.READ)
    # Reads every worker's files in multiprocess mode: not on the event loop.
    body, content_type = await run_in_threadpool(exposition, request.headers.get("accept"))
    return Response(body, media_type=content_type)
