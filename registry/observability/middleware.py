"""Counting and timing every HTTP request by route template, as cheaply as possible.

A pure ASGI middleware, outermost, so it sees every request. The route template comes
from the scope after routing (``scope["route"]``); a request that reached no route (an
unknown path, a body refused before routing) is matched against the app's routes
afterwards, or named ``unmatched``. The raw path never becomes a label.
"""

from __future__ import annotations

from collections.abc import Sequence
from time import perf_counter
from typing import Any

from fastapi.routing import iter_route_contexts
from prometheus_client.metrics import Histogram
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.observability.metrics import REQUEST_SECONDS, REQUESTS

UNMATCHED = "unmatched"
# Any other method is labelled "other": a label's values must stay few whatever is sent.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetrics:
    """ASGI middleware counting requests by method, route template and status, and
    timing them by method and route template."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        self.routes = routes
        # Label children by their values: ``labels()`` validates and locks on every call.
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._timers: dict[tuple[str, str], Histogram] = {}
        self._templates: list[tuple[BaseRoute, str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500  # unless a response starts: the app failed before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self._record(scope, status, perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method: str = scope["method"]
        if method not in _METHODS:
            method = "other"
        route = self._template(scope)
        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = REQUESTS.labels(method, route, str(status))
            self._counters[(method, route, status)] = counter
        counter.inc()
        timer = self._timers.get((method, route))
        if timer is None:
            timer = self._timers[(method, route)] = REQUEST_SECONDS.labels(method, route)
        timer.observe(seconds)

    def _template(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None:
            return str(getattr(route, "path_format", None) or getattr(route, "path", UNMATCHED))
        # Not routed: rare (an unknown path, a refusal before routing), so matched here.
        if self._templates is None:
            self._templates = [
                (c.route, c.path_format or UNMATCHED) for c in iter_route_contexts(self.routes)
            ]
        partial = UNMATCHED
        for candidate, template in self._templates:
            match, _ = candidate.matches(scope)
            if match is Match.FULL:
                return template
            if match is Match.PARTIAL and partial == UNMATCHED:
                partial = template  # the path's route, for another method
        return partial
