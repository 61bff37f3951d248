"""What Client and AsyncClient share: configuration, requests, answers, retries and caching.

Every decision lives here once, as a flow: a generator that yields what to do next (a
:class:`Request` to send, a :class:`Sleep` before a retry, a :class:`Spawn` of work in
the background, a :class:`Gather` of other flows) and is sent each step's answer, or has
the exception of taking the step thrown in, as httpx's ``Auth.auth_flow`` is sent each
response. Which request, what an answer means, whether to retry and how long to wait
(``Retry-After``, backoff), what the cache holds (TTL, stale-while-revalidate, ETag
revalidation, stale-if-error), what to serve when the registry is down (the bundle, the
fallback): all decided in the flows, which do no I/O. The two clients only drive them:
``Client._run`` with blocking httpx calls and threads, ``AsyncClient._run`` with awaits
and tasks. Each public call is written once, in :mod:`registry.client._endpoints`.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

from registry import __version__
from registry.client import errors
from registry.client.bundle import Bundle, BundleIndex, canonical, load_bundle
from registry.client.cache import Entry, PromptCache
from registry.client.exposures import FLUSH_INTERVAL, ExposureBuffer
from registry.client.prompt import Prompt, Rendered, fallback_prompt
from registry.experiments.plan import ExperimentPlan, PlanArm, ServedExperiment
from registry.prompts.schemas import (
    Message,
    Resolved,
)

if TYPE_CHECKING:
    # Imported by the call that reads it (see _endpoints).
    from registry.experiments.schemas import ExposuresRecorded

log = logging.getLogger("registry.client")

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

ENV_URL = "REGISTRY_URL"
ENV_API_KEY = "REGISTRY_API_KEY"
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_CACHE_TTL = 60.0
DEFAULT_CACHE_SIZE = 1024
# Exponential backoff: 0.5 s, 1 s, 2 s, … up to 8 s, each shortened by up to a quarter
# at random so that many clients failing together do not retry together.
BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0
JITTER = 0.25
# A server asking for a longer pause than this gets the error back at once: blocking a
# caller for minutes is worse than failing.
MAX_RETRY_AFTER = 60.0
PO_MEDIA_TYPE = "text/x-gettext-translation"

# A locale (BCP 47 or POSIX), several in order of preference, or None for the source.
Locales = str | Sequence[str] | None
# The application's own text for when the registry cannot be reached: a template
# string, or chat messages.
Fallback = str | Sequence[Message | Mapping[str, str]]
# name, label, version, locale(s), allow_stale, preview
CacheKey = tuple[str, str | None, int | None, str | tuple[str, ...] | None, bool, bool]


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One API call: the request to send, how to read a successful answer, and what it
    invalidates in the cache (a prompt name, or everything)."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, str | int] | None = None
    json: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] | None = None
    invalidates: str | bool = False


@dataclass(frozen=True, slots=True)
class ResolveAnswer:
    """A resolve answer; ``resolved`` is None for a 304 (the caller's copy is current)."""

    resolved: Resolved | None
    etag: str
    immutable: bool


@dataclass(frozen=True, slots=True)
class Request:
    """A flow's request: the client sends it and sends the response back into the flow,
    or throws the exception the sending raised into it."""

    method: str
    url: str
    params: Mapping[str, str | int] | None
    json: Any
    content: bytes | None
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Sleep:
    """A flow's pause before a retry."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Spawn:
    """Run ``flow`` in the background (a thread, or a task), ``delay`` seconds from now;
    the flow that yields this goes on at once."""

    flow: Flow[None]
    name: str
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Gather:
    """Run ``flows``, concurrently where the client can; answered with their results in
    order."""

    flows: tuple[Flow[Any], ...]


Step = Request | Sleep | Spawn | Gather
# What a step is answered with: a Request's response, a Gather's results, or None.
Answer = httpx.Response | list[Any] | None
# A call's decisions as a generator: it yields what to do, is sent each step's answer
# (or thrown what taking the step raised), and returns the call's result. Client drives
# it with blocking I/O, AsyncClient with awaits; neither decides anything. A driver that
# abandons a flow (a cancelled task) closes it, so that it can let go of what it holds.
Flow = Generator[Step, Answer, T]


def cache_key(
    name: str,
    label: str | None,
    version: int | None,
    locale: Locales,
    allow_stale: bool,
    preview: bool,
) -> CacheKey:
    """The cache key of a get; the locale exactly as given (no parsing on the hot path)."""
    locale_key = locale if locale is None or isinstance(locale, str) else tuple(locale)
    return (name, label, version, locale_key, allow_stale, preview)


def _locale_list(locale: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if locale is None:
        return ()
    return (locale,) if isinstance(locale, str) else locale


def accept_language(locales: Sequence[str]) -> str:
    """An Accept-Language header asking for ``locales`` in order."""
    # Three-digit q-values keep the order for up to a thousand locales.
    parts = [
        tag if i == 0 else f"{tag};q={max(1000 - i, 1) / 1000:g}" for i, tag in enumerate(locales)
    ]
    return ", ".join(parts)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_from_response(response: httpx.Response) -> errors.RegistryError:
    """The error for an answer of status 400 or more; problem+json bodies in full."""
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping) and ("detail" in body or "title" in body):
        return errors.from_problem(status, body, retry_after=retry_after)
    # Not a problem body: a proxy or load balancer answered in front of the registry.
    text = " ".join(response.text.split())[:200]
    detail = text or response.reason_phrase or f"HTTP {status}"
    return errors.error_class(status)(
        detail, status=status, title=response.reason_phrase, retry_after=retry_after
    )


def transport_error(exc: httpx.TransportError, url: str) -> errors.ConnectionError:
    """The SDK's error for an httpx failure to get any answer."""
    where = url or "the registry"
    if isinstance(exc, httpx.TimeoutException):
        error: errors.ConnectionError = errors.TimeoutError(
            f"no answer from {where} in time ({type(exc).__name__})"
        )
    else:
        error = errors.ConnectionError(f"cannot reach {where}: {exc or type(exc).__name__}")
    error.__cause__ = exc
    return error


def parse_resolution(response: httpx.Response) -> ResolveAnswer:
    """Read a resolve answer, a 200 or a 304."""
    etag = response.headers.get("ETag", "")
    immutable = "immutable" in response.headers.get("Cache-Control", "")
    if response.status_code == 304:
        return ResolveAnswer(None, etag, immutable)
    resolved = Resolved.model_validate_json(response.content)
    return ResolveAnswer(resolved, etag or resolved.etag, immutable)


def model_parser(model: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: model.model_validate_json(response.content)


def adapter_parser(adapter: TypeAdapter[T]) -> Callable[[httpx.Response], T]:
    return lambda response: adapter.validate_json(response.content)


def nothing_parser(response: httpx.Response) -> None:
    return None


def content_parser(response: httpx.Response) -> bytes:
    return response.content


def dump(value: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return dict(value)


def prompt_path(name: str) -> str:
    return "/v1/prompts/" + quote(name, safe="/")


def resolve_call(key: CacheKey, etag: str | None = None) -> Call[ResolveAnswer]:
    """The resolve request for a cache key; with ``etag``, a revalidation."""
    name, label, version, locale, allow_stale, preview = key
    params: dict[str, str | int] = {}
    headers: dict[str, str] = {}
    if label is not None:
        params["label"] = label
    if version is not None:
        params["version"] = version
    if isinstance(locale, str):
        params["locale"] = locale
    elif locale:
        headers["Accept-Language"] = accept_language(locale)
    if allow_stale:
        params["allow_stale"] = "true"
    if preview:
        params["preview"] = "true"
    if etag:
        headers["If-None-Match"] = etag
    path = prompt_path(name) + "/-/resolve"
    return Call("GET", path, parse_resolution, params=params, headers=headers)


_RETRIED = (errors.ConnectionError, errors.RateLimitError, errors.ServerError)


class _Outage:
    """Logs the start and end of an outage once each, however many calls fail meanwhile."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.active = False
        self._lock = threading.Lock()

    def failed(self, error: errors.RegistryError) -> None:
        with self._lock:
            if self.active:
                return
            self.active = True
        log.warning(
            "prompt registry %s is unreachable (%s); serving cached, bundled or fallback "
            "prompts until it answers",
            self.where,
            error,
        )

    def recovered(self) -> None:
        if not self.active:
            return
        with self._lock:
            if not self.active:
                return
            self.active = False
        log.info("prompt registry %s answers again", self.where)


class _Unpublished:
    """Logs once per prompt name that the registry has no such prompt yet and the
    application's fallback is served; again if the name is found and then lost."""

    def __init__(self, where: str) -> None:
        self.where = where
        self._names: set[str] = set()
        self._lock = threading.Lock()

    def served_fallback(self, name: str, error: errors.RegistryError) -> None:
        with self._lock:
            if name in self._names:
                return
            self._names.add(name)
        log.warning(
            "prompt %s is not on the registry %s (%s); serving the application's fallback "
            "text until it is published",
            name,
            self.where,
            error,
        )

    def found(self, name: str) -> None:
        if name in self._names:
            with self._lock:
                self._names.discard(name)


class BaseClient:
    """Configuration, request building, answer parsing, retry policy and cache logic."""

    # Seconds between background reports of experiment exposures (None: only on
    # flush_exposures() and close()).
    exposure_interval: float | None = FLUSH_INTERVAL

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        max_retries: int,
        cache_ttl: float,
        cache_size: int,
        bundle: str | os.PathLike[str] | Bundle | None,
        clock: Callable[[], float],
        timeout: float | httpx.Timeout | None,
        http_client: httpx.Client | httpx.AsyncClient | None,
    ) -> None:
        injected_base_url = (str(http_client.base_url) or None) if http_client is not None else None
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if cache_ttl < 0:
            raise ValueError("cache_ttl must be 0 or more seconds")
        if base_url is None and injected_base_url is None:
            base_url = os.environ.get(ENV_URL) or None
        # With an injected client and no URL of our own, paths stay relative to its base.
        self.base_url: str | None = base_url.rstrip("/") if base_url else None
        self.networked = self.base_url is not None or injected_base_url is not None
        if bundle is not None and not isinstance(bundle, Bundle):
            bundle = load_bundle(bundle)
        self.bundle: Bundle | None = bundle
        self._bundle_index = BundleIndex(bundle) if bundle is not None else None
        if not self.networked and bundle is None:
            raise ValueError(
                f"no registry to talk to: pass base_url, set {ENV_URL}, pass an http_client "
                "with a base URL, or serve offline with bundle="
            )
        self.max_retries = max_retries
        self.cache_ttl = cache_ttl
        self._cache = PromptCache(cache_size)
        self._clock = clock
        self._outage = _Outage(self.base_url or injected_base_url or "(offline)")
        self._unpublished = _Unpublished(self.base_url or injected_base_url or "(offline)")
        # Named in connection errors: where the requests went.
        self._where = self.base_url or injected_base_url or ""
        self._owns_http = http_client is None and self.networked
        self._has_http = http_client is not None or self._owns_http
        # A timeout given with an injected client applies to each request; one this
        # client opened has it built in.
        self._request_timeout: Any = httpx.USE_CLIENT_DEFAULT
        if not self._owns_http and timeout is not None:
            self._request_timeout = timeout
        self._closed = False
        self._exposures = ExposureBuffer()
        api_key = api_key if api_key is not None else os.environ.get(ENV_API_KEY)
        headers = {
            "User-Agent": f"prompt-registry-python/{__version__}",
            "Accept": "application/json",
        }
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._headers = headers

    def invalidate(self, name: str | None = None) -> int:
        """Forget cached prompts: all, or ``name`` and those including it; returns how many."""
        return self._cache.invalidate(name)

    # Flows: what each kind of call does, driven by the clients' ``_run``.

    def _send_flow(self, call: Call[T], *, retries: int | None = None) -> Flow[T]:
        """Send ``call``, retrying connection errors, 429 and 5xx with backoff."""
        if not self._has_http:
            raise errors.ConnectionError("this client serves a bundle only; it has no registry")
        retries = self.max_retries if retries is None else retries
        request = Request(
            call.method,
            self._url(call.path),
            call.params,
            call.json,
            call.content,
            self._request_headers(call),
        )
        attempt = 0
        while True:
            error: errors.RegistryError
            try:
                response = yield request
            except httpx.TransportError as exc:
                error = transport_error(exc, self._where)
            else:
                assert isinstance(response, httpx.Response)
                if response.status_code < 400:
                    result = call.parse(response)
                    self._after(call)
                    return result
                error = error_from_response(response)
            delay = self._retry_delay(error, attempt, retries)
            if delay is None:
                raise error
            yield Sleep(delay)
            attempt += 1

    def _fresh(self, key: CacheKey) -> Prompt | None:
        """The cached prompt for ``key`` while it is fresh: a get with nothing to do."""
        entry = self._cache.get(key)
        if entry is not None and entry.expires_at > self._clock():
            return entry.prompt
        return None

    def _prompt_flow(
        self, key: CacheKey, fallback: Fallback | None, subject: str | None
    ) -> Flow[Prompt]:
        """A get's flow; for a ``subject`` getting a label, the subject's experiment arm."""
        if subject is not None and key[2] is None:
            return self._subject_flow(key, fallback, subject)
        return self._get_flow(key, fallback)

    def _get_flow(self, key: CacheKey, fallback: Fallback | None) -> Flow[Prompt]:
        """A get: the cached prompt (a stale one revalidated in the background), else the
        registry's answer, else the bundle or the fallback while the registry is down."""
        entry = self._cache.get(key)
        if entry is not None:
            # Served fresh, or stale while one caller starts its refresh.
            if entry.expires_at <= self._clock() and self._claim_refresh(entry):
                yield Spawn(self._refresh_flow(key, entry), "registry-refresh")
            return entry.prompt
        if not self.networked:
            return self._offline_get(key, fallback)
        try:
            resolution = yield from self._send_flow(
                resolve_call(key), retries=self._fetch_retries()
            )
        except errors.RegistryError as exc:
            return self._unreachable(key, exc, fallback)
        return self._store(key, resolution)

    def _refresh_flow(self, key: CacheKey, entry: Entry) -> Flow[None]:
        """Revalidate a stale entry with its ETag; keep, replace or drop it."""
        try:
            resolution = yield from self._send_flow(resolve_call(key, entry.etag))
        except errors.RegistryError as exc:
            self._refresh_failed(key, entry, exc)
        except GeneratorExit:
            # Abandoned (the client closed): a later get may start a refresh again.
            self._cache.release(entry)
            raise
        except Exception:
            self._refresh_crashed(entry)
        else:
            self._refreshed(key, entry, resolution)

    def _subject_flow(self, key: CacheKey, fallback: Fallback | None, subject: str) -> Flow[Prompt]:
        """A get of a label for a subject: the label's prompt, or its experiment arm."""
        base = yield from self._get_flow(key, fallback)
        assignment = self._assignment(base, subject)
        if assignment is None:
            return base
        plan, arm = assignment
        name, _label, _version, locale, allow_stale, preview = key
        try:
            armed_key = cache_key(name, None, arm.version, locale, allow_stale, preview)
            armed = yield from self._get_flow(armed_key, None)
        except errors.RegistryError as exc:
            # The arm's version cannot be had (offline, say): the label's own is served.
            log.warning("serving %s without experiment %s: %s", name, plan.id, exc)
            return base
        served, schedule = self._served(base, armed, plan, arm, subject)
        if schedule and self.exposure_interval is not None:
            flush = self._background_flush_flow()
            yield Spawn(flush, "registry-exposures", delay=self.exposure_interval)
        return served

    def _render_flow(self, prompt: Flow[Prompt], values: Mapping[str, Any]) -> Flow[Rendered]:
        """A get, rendered with ``values``."""
        got = yield from prompt
        return got.render(**values)

    def _preload_flow(self, keys: Sequence[CacheKey]) -> Flow[list[Prompt]]:
        """A get of each key, concurrently where the client can."""
        prompts = yield Gather(tuple(self._get_flow(key, None) for key in keys))
        assert isinstance(prompts, list)
        return prompts

    def _flush_flow(self) -> Flow[int]:
        """Report the subjects assigned to arms so far; returns how many were sent."""
        sent = 0
        while batch := self._exposures.take():
            try:
                yield from self._send_flow(self._exposures_call(batch))
            except errors.RegistryError as exc:
                self._exposures_failed(batch, exc)
                raise
            sent += len(batch)
        return sent

    def _background_flush_flow(self) -> Flow[None]:
        """A report of exposures nobody waits for (a timer's, or a closing client's): its
        failure is logged, and what was not sent is sent with the next report."""
        try:
            yield from self._flush_flow()
        except errors.RegistryError as exc:
            log.info("experiment exposures not reported yet: %s", exc)
        except Exception:
            log.exception("reporting experiment exposures failed unexpectedly")

    # Requests and answers.

    def _url(self, path: str) -> str:
        return (self.base_url or "") + path

    def _request_headers(self, call: Call[Any]) -> dict[str, str]:
        if not call.headers:
            return self._headers
        return {**self._headers, **call.headers}

    def _retry_delay(self, error: errors.RegistryError, attempt: int, retries: int) -> float | None:
        """Seconds to wait before retrying after ``error``, or None to give up."""
        if attempt >= retries:
            return None
        if not isinstance(error, _RETRIED):
            return None  # a 4xx says what to change; sending it again changes nothing
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= MAX_RETRY_AFTER else None
        backoff: float = min(BACKOFF_MAX, BACKOFF_BASE * 2**attempt)
        return backoff * (1 - JITTER * random.random())

    def _after(self, call: Call[Any]) -> None:
        """Drop what a successful write made out of date."""
        if call.invalidates is True:
            self._cache.invalidate()
        elif isinstance(call.invalidates, str):
            self._cache.invalidate(call.invalidates)

    # The cache.

    def _claim_refresh(self, entry: Entry) -> bool:
        """Whether the caller that found ``entry`` stale must start its refresh."""
        return not self._closed and self.networked and self._cache.claim_refresh(entry)

    def _expiry(self, immutable: bool) -> float:
        # Immutable answers (a pinned version with pinned components and no locale, as
        # the server's Cache-Control says) are kept for the life of the process.
        return float("inf") if immutable else self._clock() + self.cache_ttl

    def _store(self, key: CacheKey, resolution: ResolveAnswer) -> Prompt:
        assert resolution.resolved is not None
        self._outage.recovered()
        self._unpublished.found(key[0])
        prompt = Prompt(resolution.resolved)
        self._cache.put(key, Entry(prompt, resolution.etag, self._expiry(resolution.immutable)))
        return prompt

    def _refreshed(self, key: CacheKey, entry: Entry, resolution: ResolveAnswer) -> None:
        self._outage.recovered()
        if resolution.resolved is None:  # 304: what we hold is current
            self._cache.release(entry, expires_at=self._expiry(resolution.immutable))
            return
        new = Entry(
            Prompt(resolution.resolved), resolution.etag, self._expiry(resolution.immutable)
        )
        self._cache.replace(key, entry, new)

    def _refresh_failed(self, key: CacheKey, entry: Entry, error: errors.RegistryError) -> None:
        if isinstance(error, _RETRIED):
            if not isinstance(error, errors.RateLimitError):
                self._outage.failed(error)
            # Stale-if-error: keep serving it, and try again after another TTL.
            self._cache.release(entry, expires_at=self._clock() + self.cache_ttl)
            return
        # The registry answered that this no longer resolves (deleted label, archived
        # prompt, revoked key): stop serving it, so the next get reports why.
        log.warning("dropped cached prompt %s: %s", key[0], error)
        self._cache.discard(key, entry)

    def _refresh_crashed(self, entry: Entry) -> None:
        log.exception("refreshing a cached prompt failed unexpectedly")
        self._cache.release(entry, expires_at=self._clock() + self.cache_ttl)

    def _fetch_retries(self) -> int:
        # During an outage a cache miss tries once: the caller waits for one failure,
        # not for a whole backoff schedule on every call.
        return 0 if self._outage.active else self.max_retries

    def _unreachable(
        self, key: CacheKey, error: errors.RegistryError, fallback: Fallback | None
    ) -> Prompt:
        """What to serve on a cache miss the registry did not answer, or raise ``error``.

        Down (connection error, 5xx): the bundle, else the fallback. A 404 (the prompt,
        its label or its version is not published yet): the fallback, when the caller
        gave one; it is not cached, so the prompt is served from the next get after it
        is published.
        """
        if isinstance(error, errors.NotFoundError) and fallback is not None:
            self._unpublished.served_fallback(key[0], error)
            return self._fallback(key, fallback)
        if not isinstance(error, errors.ConnectionError | errors.ServerError):
            raise error
        self._outage.failed(error)
        prompt = self._offline(key, fallback)
        if prompt is None:
            raise error
        return prompt

    def _offline(self, key: CacheKey, fallback: Fallback | None) -> Prompt | None:
        """The bundled prompt for ``key`` (cached like a fetched one), else the fallback."""
        name, label, version, locale, _allow_stale, _preview = key
        locales = _locale_list(locale)
        if self._bundle_index is not None:
            if label is not None and version is not None:
                raise errors.ValidationError(
                    "give a label or a version, not both", status=422, title="Invalid input"
                )
            resolved = self._bundle_index.find(name, label=label, version=version, locales=locales)
            if resolved is not None:
                prompt = Prompt(resolved, origin="bundle")
                # Offline there is nothing to revalidate against; online, the bundle's
                # ETag lets a later refresh confirm it with a 304.
                expires = self._expiry(not self.networked)
                self._cache.put(key, Entry(prompt, resolved.etag, expires))
                return prompt
        if fallback is None:
            return None
        return self._fallback(key, fallback)

    def _fallback(self, key: CacheKey, fallback: Fallback) -> Prompt:
        """The application's own text, as served in the first locale asked for."""
        name, label, _version, locale, _allow_stale, _preview = key
        locales = _locale_list(locale)
        try:
            served = canonical(locales[0]) if locales else "en"
        except errors.ValidationError:
            served = "en"
        return fallback_prompt(name, fallback, label=label, locale=served)

    def _offline_get(self, key: CacheKey, fallback: Fallback | None) -> Prompt:
        """A get with no registry configured: the bundle, the fallback, or NotFoundError."""
        prompt = self._offline(key, fallback)
        if prompt is None:
            name, label, version = key[0], key[1], key[2]
            what = f"version {version}" if version is not None else f"label {label or 'production'}"
            raise errors.NotFoundError(
                f"the bundle has no prompt {name!r} with {what}", status=404, title="Not found"
            )
        return prompt

    # Experiments: local assignment and exposure reports.

    def _assignment(self, base: Prompt, subject: str) -> tuple[ExperimentPlan, PlanArm] | None:
        """The experiment and arm for ``subject``, from the cached label answer."""
        plan = base.resolved.experiment_plan
        if plan is None or base.origin == "fallback":
            return None
        return plan, plan.assign(subject)

    def _served(
        self, base: Prompt, armed: Prompt, plan: ExperimentPlan, arm: PlanArm, subject: str
    ) -> tuple[Prompt, bool]:
        """The arm's prompt as served for the label, and whether to schedule a report."""
        served = ServedExperiment.serving(plan, arm, subject)
        resolved = armed.resolved.model_copy(
            update={"label": base.label, "experiment": served, "experiment_plan": plan}
        )
        return armed._served_as(resolved), self._exposures.add(plan.id, subject)

    def _exposures_call(self, batch: list[dict[str, Any]]) -> Call[ExposuresRecorded]:
        from registry.experiments.schemas import ExposuresRecorded

        body = {"exposures": batch}
        return Call("POST", "/v1/experiments/exposures", model_parser(ExposuresRecorded), json=body)

    def _exposures_failed(self, batch: list[dict[str, Any]], error: errors.RegistryError) -> None:
        if isinstance(error, _RETRIED):
            self._exposures.requeue(batch)
            return
        log.warning("dropped %d experiment exposures: %s", len(batch), error)
