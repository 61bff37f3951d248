"""The blocking client: one instance is shared by every thread of an application."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self, TypeVar

import httpx

from registry.client._base import (
    DEFAULT_CACHE_SIZE,
    DEFAULT_CACHE_TTL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Answer,
    Flow,
    Gather,
    Request,
    Sleep,
    Spawn,
)
from registry.client._endpoints import Endpoints
from registry.client.bundle import Bundle

__all__ = ["Client"]

T = TypeVar("T")


class Client(Endpoints):
    """The registry's Python client: cached prompts rendered locally, and management calls.

    ``base_url`` defaults to ``$REGISTRY_URL`` and ``api_key`` to ``$REGISTRY_API_KEY``.
    ``timeout`` (seconds) defaults to 10, or to the injected ``http_client``'s own.
    ``cache_ttl`` is how long a label lookup stays fresh (60 s), ``cache_size`` how many
    prompts the cache holds (1024), ``max_retries`` how often a failure is retried (2).
    ``bundle`` is an offline bundle file: served with no registry at all, or when the
    registry is unreachable. Writes are recorded under the key's owner.
    ``clock`` and ``sleep`` are for tests.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        cache_size: int = DEFAULT_CACHE_SIZE,
        http_client: httpx.Client | None = None,
        bundle: str | os.PathLike[str] | Bundle | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            base_url=base_url,
            api_key=api_key,
            max_retries=max_retries,
            cache_ttl=cache_ttl,
            cache_size=cache_size,
            bundle=bundle,
            clock=clock,
            timeout=timeout,
            http_client=http_client,
        )
        self._sleep = sleep
        self._http: httpx.Client | None = http_client
        if self._owns_http:
            self._http = httpx.Client(timeout=DEFAULT_TIMEOUT if timeout is None else timeout)

    def _run(self, flow: Flow[T]) -> T:
        """Drive ``flow``: send its requests, sleep its pauses, run its background work in
        threads and its gathered flows one after the other."""
        try:
            step = next(flow)
            while True:
                answer: Answer | Exception = None
                if isinstance(step, Request):
                    answer = self._request(step)
                elif isinstance(step, Sleep):
                    self._sleep(step.seconds)
                elif isinstance(step, Gather):
                    try:
                        answer = [self._run(each) for each in step.flows]
                    except Exception as exc:
                        answer = exc
                else:
                    self._spawn(step)
                step = flow.throw(answer) if isinstance(answer, Exception) else flow.send(answer)
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            flow.close()

    def _request(self, request: Request) -> httpx.Response | Exception:
        """The response to ``request``, or what sending it raised (for the flow to judge)."""
        assert self._http is not None
        try:
            return self._http.request(
                request.method,
                request.url,
                params=request.params,
                json=request.json,
                content=request.content,
                headers=request.headers,
                timeout=self._request_timeout,
            )
        except Exception as exc:
            return exc

    def _spawn(self, step: Spawn) -> None:
        thread = threading.Timer(step.delay, self._run, args=(step.flow,))
        thread.name = step.name
        thread.daemon = True
        thread.start()

    def close(self) -> None:
        """Close the HTTP connections this client opened (not an injected client's)."""
        if self.networked and not self._closed:
            self._run(self._background_flush_flow())
        self._closed = True
        if self._owns_http and self._http is not None:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
