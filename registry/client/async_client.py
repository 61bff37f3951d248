"""The asyncio client: the same calls as ``Client``, awaited; refreshes run as tasks."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

import httpx

from registry.client import errors
from registry.client._base import (
    DEFAULT_CACHE_SIZE,
    DEFAULT_CACHE_TTL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    BaseClient,
    CacheKey,
    Fallback,
    Flow,
    Locales,
    Refresh,
    Request,
    Sleep,
)
from registry.client._endpoints import Endpoints
from registry.client.bundle import Bundle
from registry.client.cache import Entry
from registry.client.prompt import Prompt, Rendered
from registry.experiments.plan import ServedExperiment

if TYPE_CHECKING:
    from registry.experiments.schemas import FeedbackRecorded

__all__ = ["AsyncClient"]

T = TypeVar("T")
log = logging.getLogger("registry.client")


class AsyncClient(Endpoints, BaseClient):
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
        # Running refreshes; held so that the event loop does not drop them.
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = http_client
        if self._owns_http:
            self._http = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT if timeout is None else timeout)

    # Serving.

    async def get(
        self,
        name: str,
        *,
        label: str | None = None,
        version: int | None = None,
        locale: Locales = None,
        allow_stale: bool = False,
        preview: bool = False,
        fallback: Fallback | None = None,
        subject: str | None = None,
    ) -> Prompt:
        """The prompt for a label (default ``production``) or version, in a locale; cached.

        With a ``subject`` (a user or session id), an experiment running on the label
        serves that subject its arm, assigned here from the cached experiment plan.
        """
        if subject is not None and version is None:
            flow = self._subject_flow(name, label, locale, allow_stale, preview, fallback, subject)
            return await self._run(flow)
        # cache_key(), inlined, and a fresh entry served without a flow: the hot path.
        key: CacheKey = (
            name,
            label,
            version,
            locale if locale is None or isinstance(locale, str) else tuple(locale),
            allow_stale,
            preview,
        )
        entry = self._cache.get(key)
        if entry is not None and entry.expires_at > self._clock():
            return entry.prompt
        return await self._run(self._get_flow(key, fallback))

    async def render(
        self,
        name: str,
        variables: Mapping[str, Any] | None = None,
        *,
        label: str | None = None,
        version: int | None = None,
        locale: Locales = None,
        allow_stale: bool = False,
        preview: bool = False,
        fallback: Fallback | None = None,
        subject: str | None = None,
    ) -> Rendered:
        """``get(...).render(**variables)``: the final text, or chat messages."""
        prompt = await self.get(
            name,
            label=label,
            version=version,
            locale=locale,
            allow_stale=allow_stale,
            preview=preview,
            fallback=fallback,
            subject=subject,
        )
        return prompt.render(**(variables or {}))

    async def preload(
        self,
        names: Iterable[str],
        *,
        label: str | None = None,
        version: int | None = None,
        locales: Iterable[str | None] = (None,),
        allow_stale: bool = False,
        preview: bool = False,
    ) -> list[Prompt]:
        """Warm the cache at start-up with every name in every locale (None: the source)."""
        wanted = list(locales)
        gets = [
            self.get(
                name,
                label=label,
                version=version,
                locale=locale,
                allow_stale=allow_stale,
                preview=preview,
            )
            for name in names
            for locale in wanted
        ]
        return list(await asyncio.gather(*gets))

    async def flush_exposures(self) -> int:
        """Report the subjects assigned to arms so far; returns how many were sent."""
        return await self._run(self._flush_flow())

    async def _flush_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._flush_quietly()

    async def _flush_quietly(self) -> None:
        try:
            await self.flush_exposures()
        except errors.RegistryError as exc:
            log.info("experiment exposures not reported yet: %s", exc)
        except Exception:
            log.exception("reporting experiment exposures failed unexpectedly")

    async def feedback(
        self,
        experiment: int | ServedExperiment | Prompt,
        *,
        value: bool | float,
        subject: str | None = None,
        resolve_id: str | None = None,
        source: str = "",
    ) -> FeedbackRecorded:
        """Record an outcome: ``await client.feedback(prompt, value=True)`` for a prompt
        served with a subject, or ``feedback(experiment_id, subject=..., value=4.5)``."""
        return await self._run(
            self._send_flow(self._feedback(experiment, subject, resolve_id, value, source))
        )

    # I/O.

    async def _run(self, flow: Flow[T]) -> T:
        """Drive ``flow``: send its requests, sleep its pauses, start its background work
        as tasks."""
        try:
            step = next(flow)
            while True:
                answer: httpx.Response | Exception | None = None
                if isinstance(step, Request):
                    answer = await self._request(step)
                elif isinstance(step, Sleep):
                    await self._sleep(step.seconds)
                elif isinstance(step, Refresh):
                    self._start_refresh(step.key, step.entry)
                else:
                    self._spawn(self._flush_later(step.delay), "registry-exposures")
                step = flow.throw(answer) if isinstance(answer, Exception) else flow.send(answer)
        except StopIteration as stop:
            result: T = stop.value
            return result

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

    def _start_refresh(self, key: CacheKey, entry: Entry) -> None:
        self._spawn(self._refresh(key, entry), "registry-refresh")

    async def _refresh(self, key: CacheKey, entry: Entry) -> None:
        try:
            await self._run(self._refresh_flow(key, entry))
        except asyncio.CancelledError:
            self._cache.release(entry)
            raise

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Stop running refreshes; close the HTTP connections this client opened."""
        if self.networked and not self._closed:
            await self._flush_quietly()
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
