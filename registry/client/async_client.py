"""The asyncio client: the same calls as ``Client``, awaited; background work runs as tasks."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import ClassVar, Self, TypeVar

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

__all__ = ["AsyncClient"]

T = TypeVar("T")


class AsyncClient(Endpoints):
    """The registry's asyncio client: cached prompts rendered locally, and management calls.

    ``base_url`` defaults to ``$REGISTRY_URL`` and ``api_key`` to ``$REGISTRY_API_KEY``.
    ``timeout`` (seconds) defaults to 10, or to the injected ``http_client``'s own.
    ``cache_ttl`` is how long a label lookup stays fresh (60 s), ``cache_size`` how many
    prompts the cache holds (1024), ``max_retries`` how often a failure is retried (2).
    ``bundle`` is an offline bundle file: served with no registry at all, or when the
    registry is unreachable. Writes are recorded under the key's owner.
    ``clock`` and ``sleep`` are for tests.
    """

    awaits: ClassVar[bool] = True

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        cache_size: int = DEFAULT_CACHE_SIZE,
        http_client: httpx.AsyncClient | None = None,
        bundle: str | os.PathLike[str] | Bundle | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
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
        # Running background work; held so that the event loop does not drop it.
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = http_client
        if self._owns_http:
            self._http = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT if timeout is None else timeout)

    # The calls, written once in Endpoints, return what this returns: a coroutine.
    async def _run(self, flow: Flow[T]) -> T:  # type: ignore[override]
        """Drive ``flow``: send its requests, sleep its pauses, run its background work as
        tasks and its gathered flows concurrently."""
        try:
            step = next(flow)
            while True:
                answer: Answer | Exception = None
                if isinstance(step, Request):
                    answer = await self._request(step)
                elif isinstance(step, Sleep):
                    await self._sleep(step.seconds)
                elif isinstance(step, Gather):
                    try:
                        answer = list(await asyncio.gather(*map(self._run, step.flows)))
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

    async def _request(self, request: Request) -> httpx.Response | Exception:
        """The response to ``request``, or what sending it raised (for the flow to judge)."""
        assert self._http is not None
        try:
            return await self._http.request(
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
        task = asyncio.get_running_loop().create_task(self._later(step), name=step.name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _later(self, step: Spawn) -> None:
        if step.delay:
            await asyncio.sleep(step.delay)
        await self._run(step.flow)

    async def aclose(self) -> None:
        """Stop running background work; close the HTTP connections this client opened."""
        if self.networked and not self._closed:
            await self._run(self._background_flush_flow())
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._owns_http and self._http is not None:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
