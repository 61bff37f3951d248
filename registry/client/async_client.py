"""The asyncio client: the same calls as ``Client``, awaited; refreshes run as tasks."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import httpx

from registry.client import errors
from registry.client._base import (
    DEFAULT_CACHE_SIZE,
    DEFAULT_CACHE_TTL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    BaseClient,
    CacheKey,
    Call,
    Fallback,
    Locales,
    error_from_response,
    transport_error,
)
from registry.client.bundle import Bundle
from registry.client.cache import Entry
from registry.client.exposures import FLUSH_INTERVAL
from registry.client.prompt import Prompt, Rendered
from registry.experiments.plan import ServedExperiment
from registry.experiments.schemas import Experiment, ExperimentPage, FeedbackRecorded, Results
from registry.i18n.schemas import (
    BulkReviewResult,
    ImportResult,
    Queue,
    QueueOverview,
    ReviewAction,
    Translation,
    TranslationSummary,
)
from registry.prompts.schemas import (
    Diff,
    Kind,
    Label,
    Message,
    ModelConfig,
    PromptPage,
    Resolved,
    Variable,
    Version,
    VersionPage,
)
from registry.prompts.schemas import Prompt as PromptInfo
from registry.style.schemas import LintResult

__all__ = ["AsyncClient"]

T = TypeVar("T")
log = logging.getLogger("registry.client")


class AsyncClient(BaseClient):
    """The registry's asyncio client: cached prompts rendered locally, and management calls.

    ``base_url`` defaults to ``$REGISTRY_URL`` and ``api_key`` to ``$REGISTRY_API_KEY``.
    ``timeout`` (seconds) defaults to 10, or to the injected ``http_client``'s own.
    ``cache_ttl`` is how long a label lookup stays fresh (60 s), ``cache_size`` how many
    prompts the cache holds (1024), ``max_retries`` how often a failure is retried (2).
    ``bundle`` is an offline bundle file: served with no registry at all, or when the
    registry is unreachable. Writes are recorded under the key's owner.
    ``clock`` and ``sleep`` are for tests.
    """

    # Seconds between background reports of experiment exposures (None: only on
    # flush_exposures() and aclose()).
    exposure_interval: float | None = FLUSH_INTERVAL

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
        injected = str(http_client.base_url) if http_client is not None else None
        super().__init__(
            base_url=base_url,
            api_key=api_key,
            max_retries=max_retries,
            cache_ttl=cache_ttl,
            cache_size=cache_size,
            bundle=bundle,
            clock=clock,
            injected_base_url=injected or None,
        )
        self._sleep = sleep
        # Running refreshes; held so that the event loop does not drop them.
        self._tasks: set[asyncio.Task[None]] = set()
        self._timeout: float | httpx.Timeout | None = timeout
        self._owns_http = http_client is None and self.networked
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
            return await self._get_for_subject(
                name, label, locale, allow_stale, preview, fallback, subject
            )
        # cache_key(), inlined: this is the hot path.
        key: CacheKey = (
            name,
            label,
            version,
            locale if locale is None or isinstance(locale, str) else tuple(locale),
            allow_stale,
            preview,
        )
        entry = self._cache.get(key)
        if entry is not None:
            # Served fresh, or stale while one caller starts its refresh.
            if entry.expires_at <= self._clock() and self._claim_refresh(entry):
                self._start_refresh(key, entry)
            return entry.prompt
        if not self.networked:
            return self._offline_get(key, fallback)
        try:
            resolution = await self._send(self._resolve_call(key), retries=self._fetch_retries())
        except errors.RegistryError as exc:
            return self._unreachable(key, exc, fallback)
        return self._store(key, resolution)

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

    def invalidate(self, name: str | None = None) -> int:
        """Forget cached prompts: all, or ``name`` and those including it; returns how many."""
        return self._cache.invalidate(name)

    async def resolve(
        self,
        name: str,
        *,
        label: str | None = None,
        version: int | None = None,
        locale: Locales = None,
        allow_stale: bool = False,
        preview: bool = False,
    ) -> Resolved:
        """The registry's resolve answer, fetched now; bypasses the cache."""
        return await self._send(
            self._resolve_direct(name, label, version, locale, allow_stale, preview)
        )

    async def _get_for_subject(
        self,
        name: str,
        label: str | None,
        locale: Locales,
        allow_stale: bool,
        preview: bool,
        fallback: Fallback | None,
        subject: str,
    ) -> Prompt:
        base = await self.get(
            name,
            label=label,
            locale=locale,
            allow_stale=allow_stale,
            preview=preview,
            fallback=fallback,
        )
        assignment = self._assignment(base, subject)
        if assignment is None:
            return base
        plan, arm = assignment
        try:
            armed = await self.get(
                name, version=arm.version, locale=locale, allow_stale=allow_stale, preview=preview
            )
        except errors.RegistryError as exc:
            # The arm's version cannot be had (offline, say): the label's own is served.
            log.warning("serving %s without experiment %s: %s", name, plan.id, exc)
            return base
        served, schedule = self._served(base, armed, plan, arm, subject)
        if schedule and self.exposure_interval is not None:
            task = asyncio.get_running_loop().create_task(
                self._flush_later(self.exposure_interval), name="registry-exposures"
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return served

    async def flush_exposures(self) -> int:
        """Report the subjects assigned to arms so far; returns how many were sent."""
        sent = 0
        while batch := self._exposures.take():
            try:
                await self._send(self._exposures_call(batch))
            except errors.RegistryError as exc:
                self._exposures_failed(batch, exc)
                raise
            sent += len(batch)
        return sent

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
        return await self._send(self._feedback(experiment, subject, resolve_id, value, source))

    def _start_refresh(self, key: CacheKey, entry: Entry) -> None:
        task = asyncio.get_running_loop().create_task(
            self._refresh(key, entry), name="registry-refresh"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self, key: CacheKey, entry: Entry) -> None:
        try:
            resolution = await self._send(self._resolve_call(key, entry.etag))
        except errors.RegistryError as exc:
            self._refresh_failed(key, entry, exc)
        except asyncio.CancelledError:
            self._cache.release(entry)
            raise
        except Exception:
            self._refresh_crashed(entry)
        else:
            self._refreshed(key, entry, resolution)

    # I/O.

    async def _send(self, call: Call[T], *, retries: int | None = None) -> T:
        """Send ``call``, retrying connection errors, 429 and 5xx with backoff."""
        http = self._http
        if http is None:
            raise errors.ConnectionError("this client serves a bundle only; it has no registry")
        retries = self.max_retries if retries is None else retries
        timeout: Any = httpx.USE_CLIENT_DEFAULT
        if not self._owns_http and self._timeout is not None:
            timeout = self._timeout
        url = self._url(call.path)
        attempt = 0
        while True:
            error: errors.RegistryError
            try:
                response = await http.request(
                    call.method,
                    url,
                    params=call.params,
                    json=call.json,
                    content=call.content,
                    headers=self._request_headers(call),
                    timeout=timeout,
                )
            except httpx.TransportError as exc:
                error = transport_error(exc, self.base_url or str(http.base_url))
            else:
                if response.status_code < 400:
                    result = call.parse(response)
                    self._after(call)
                    return result
                error = error_from_response(response)
            delay = self._retry_delay(error, attempt, retries)
            if delay is None:
                raise error
            await self._sleep(delay)
            attempt += 1

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

    # Management.

    async def create_prompt(
        self,
        name: str,
        *,
        kind: Kind | Literal["text", "chat"] = Kind.text,
        source_locale: str = "en",
        description: str = "",
        tags: Sequence[str] = (),
    ) -> PromptInfo:
        """Create a prompt; publish versions to it next."""
        return await self._send(self._create_prompt(name, kind, source_locale, description, tags))

    async def read_prompt(self, name: str) -> PromptInfo:
        """A prompt's metadata and where its labels point."""
        return await self._send(self._read_prompt(name))

    async def update_prompt(
        self, name: str, *, description: str | None = None, tags: Sequence[str] | None = None
    ) -> PromptInfo:
        """Change a prompt's description or tags."""
        return await self._send(self._update_prompt(name, description, tags))

    async def list_prompts(
        self,
        *,
        prefix: str | None = None,
        tag: str | None = None,
        query: str | None = None,
        include_archived: bool = False,
        cursor: str | None = None,
        limit: int = 50,
    ) -> PromptPage:
        """One page of prompts by name, filtered by folder, tag or text."""
        return await self._send(
            self._list_prompts(prefix, tag, query, include_archived, cursor, limit)
        )

    async def archive(self, name: str) -> PromptInfo:
        """Archive a prompt: kept, resolvable only by pinned version."""
        return await self._send(self._set_archived(name, True))

    async def restore(self, name: str) -> PromptInfo:
        """Undo an archive."""
        return await self._send(self._set_archived(name, False))

    async def publish(
        self,
        name: str,
        *,
        template: str | None = None,
        messages: Sequence[Message | Mapping[str, str]] | None = None,
        variables: Sequence[Variable | Mapping[str, Any]] = (),
        config: ModelConfig | Mapping[str, Any] | None = None,
        message: str = "",
        labels: Sequence[str] = (),
    ) -> Version:
        """Publish a version (and point ``labels`` at it); equal content returns the newest."""
        return await self._send(
            self._publish(name, template, messages, variables, config, message, labels)
        )

    async def get_version(self, name: str, number: int) -> Version:
        """One published version."""
        return await self._send(self._get_version(name, number))

    async def list_versions(
        self, name: str, *, cursor: str | None = None, limit: int = 50
    ) -> VersionPage:
        """One page of a prompt's versions, newest first."""
        return await self._send(self._list_versions(name, cursor, limit))

    async def lint(
        self,
        *,
        template: str | None = None,
        messages: Sequence[Message | Mapping[str, str]] | None = None,
        variables: Sequence[Variable | Mapping[str, Any]] = (),
        locale: str = "en",
        guide: str | None = None,
        prompt: str | None = None,
        localized: bool = False,
    ) -> LintResult:
        """Check text against a style guide on the registry (nothing is stored)."""
        return await self._send(
            self._lint(template, messages, variables, locale, guide, prompt, localized)
        )

    async def diff(self, name: str, from_version: int, to_version: int) -> Diff:
        """Unified diff of the content, and changes of variables and config."""
        return await self._send(self._diff(name, from_version, to_version))

    async def set_label(self, name: str, label: str, version: int, *, reason: str = "") -> Label:
        """Point a label at a version (rollback is moving it back)."""
        return await self._send(self._set_label(name, label, version, reason))

    async def get_label(self, name: str, label: str) -> Label:
        """One label, with the history of its moves."""
        return await self._send(self._get_label(name, label))

    async def list_labels(self, name: str) -> list[Label]:
        """Every label of a prompt, with its history."""
        return await self._send(self._list_labels(name))

    async def get_translation(
        self, name: str, locale: str, *, version: int | None = None
    ) -> Translation:
        """One locale's translation with its source, source diff and revisions."""
        return await self._send(self._get_translation(name, locale, version))

    async def submit_translation(
        self,
        name: str,
        locale: str,
        *,
        template: str | None = None,
        messages: Sequence[Message | Mapping[str, str]] | None = None,
        version: int | None = None,
        status: Literal["draft", "in_review"] = "draft",
        note: str = "",
    ) -> Translation:
        """Submit a locale's text, as a draft or for review."""
        return await self._send(
            self._submit_translation(name, locale, template, messages, version, status, note)
        )

    async def review_translation(
        self,
        name: str,
        locale: str,
        action: ReviewAction | Literal["submit", "approve", "reject"],
        *,
        version: int | None = None,
        note: str = "",
    ) -> Translation:
        """Submit for review, approve, or reject a translation."""
        return await self._send(self._review_translation(name, locale, action, version, note))

    async def list_translations(
        self, name: str, *, version: int | None = None
    ) -> list[TranslationSummary]:
        """Every locale a version is translated into, with its status."""
        return await self._send(self._list_translations(name, version))

    async def translation_queue(
        self, locale: str, *, prefix: str | None = None, label: str | None = None
    ) -> Queue:
        """What is missing, stale or in review for a locale."""
        return await self._send(self._translation_queue(locale, prefix, label))

    async def translation_overview(
        self, *, prefix: str | None = None, label: str | None = None
    ) -> QueueOverview:
        """Every prompt against every locale translated: each pair's state, and each
        locale's completeness."""
        return await self._send(self._translation_overview(prefix, label))

    async def review_translations(
        self,
        locale: str,
        action: ReviewAction | Literal["submit", "approve", "reject"],
        *,
        prompts: Sequence[str] | None = None,
        prefix: str | None = None,
        status: Sequence[str] | None = None,
        note: str = "",
    ) -> BulkReviewResult:
        """Review many translations of a locale at once (``prompts``, or every one under
        ``prefix`` in ``status``): all or nothing."""
        return await self._send(
            self._review_translations(locale, action, prompts, prefix, status, note)
        )

    async def withdraw_translation(
        self, name: str, locale: str, *, version: int | None = None
    ) -> None:
        """Delete a version's translation into a locale (approved text: reviewers only)."""
        await self._send(self._withdraw_translation(name, locale, version))

    async def export_translations(
        self,
        locale: str,
        *,
        prefix: str | None = None,
        label: str | None = None,
        include_approved: bool = False,
    ) -> bytes:
        """A locale's queue (or everything) as PO file bytes."""
        return await self._send(self._export_translations(locale, prefix, label, include_approved))

    async def import_translations(self, data: bytes, *, locale: str | None = None) -> ImportResult:
        """Upload a translated PO file; it applies all or nothing."""
        return await self._send(self._import_translations(data, locale))

    async def create_experiment(
        self,
        name: str,
        experiment: str,
        arms: Sequence[Mapping[str, Any] | tuple[int, int]],
        *,
        label: str = "production",
        metric: Literal["success", "score"] = "success",
        locales: Sequence[str] = (),
        min_samples: int | None = None,
        description: str = "",
    ) -> Experiment:
        """Start an experiment on a label: ``arms=[(1, 50), (2, 50)]`` (version, weight)."""
        return await self._send(
            self._create_experiment(
                name, experiment, arms, label, metric, locales, min_samples, description
            )
        )

    async def list_experiments(
        self, name: str | None = None, *, status: str | None = None
    ) -> ExperimentPage:
        """Experiments of a prompt, or of every prompt, newest first."""
        return await self._send(self._list_experiments(name, status))

    async def get_experiment(self, experiment: int) -> Experiment:
        """One experiment."""
        return await self._send(self._get_experiment(experiment))

    async def experiment_results(self, experiment: int) -> Results:
        """Per arm: subjects, outcomes, mean with 95% interval, and the significance test."""
        return await self._send(self._experiment_results(experiment))

    async def stop_experiment(self, experiment: int, *, reason: str = "") -> Experiment:
        """End an experiment without moving its label."""
        return await self._send(self._stop_experiment(experiment, reason))

    async def promote_arm(self, experiment: int, arm: str, *, reason: str = "") -> Experiment:
        """Move the experiment's label to an arm's version and end the experiment."""
        return await self._send(self._promote_arm(experiment, arm, reason))
