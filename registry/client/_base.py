"""What Client and AsyncClient share: configuration, requests, answers, retries and caching.

The two clients differ only in I/O: each sends the :class:`Call` built here with its own
httpx client, sleeps between retries its own way, and refreshes a stale entry in a
thread (Client) or a task (AsyncClient). Everything that decides (which request, what
an answer means, whether to retry and how long to wait, what the cache holds, what to
serve when the registry is down) lives here, once.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

from registry import __version__
from registry.client import errors
from registry.client.bundle import Bundle, BundleIndex, canonical, load_bundle
from registry.client.cache import Entry, PromptCache
from registry.client.exposures import ExposureBuffer
from registry.client.prompt import Prompt, fallback_prompt
from registry.experiments.plan import ExperimentPlan, PlanArm, ServedExperiment
from registry.experiments.schemas import (
    Experiment,
    ExperimentPage,
    ExposuresRecorded,
    FeedbackRecorded,
    Results,
)
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
class Resolution:
    """A resolve answer; ``resolved`` is None for a 304 (the caller's copy is current)."""

    resolved: Resolved | None
    etag: str
    immutable: bool


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


def parse_resolution(response: httpx.Response) -> Resolution:
    """Read a resolve answer, a 200 or a 304."""
    etag = response.headers.get("ETag", "")
    immutable = "immutable" in response.headers.get("Cache-Control", "")
    if response.status_code == 304:
        return Resolution(None, etag, immutable)
    resolved = Resolved.model_validate_json(response.content)
    return Resolution(resolved, etag or resolved.etag, immutable)


def _model(model: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: model.model_validate_json(response.content)


def _adapter(adapter: TypeAdapter[T]) -> Callable[[httpx.Response], T]:
    return lambda response: adapter.validate_json(response.content)


def _nothing(response: httpx.Response) -> None:
    return None


def _content(response: httpx.Response) -> bytes:
    return response.content


_LABELS = TypeAdapter(list[Label])
_SUMMARIES = TypeAdapter(list[TranslationSummary])


def _dump(value: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return dict(value)


def _prompt_path(name: str) -> str:
    return "/v1/prompts/" + quote(name, safe="/")


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


class BaseClient:
    """Configuration, request building, answer parsing, retry policy and cache logic."""

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
        injected_base_url: str | None,
    ) -> None:
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

    def _resolve_call(self, key: CacheKey, etag: str | None = None) -> Call[Resolution]:
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
        path = _prompt_path(name) + "/-/resolve"
        return Call("GET", path, parse_resolution, params=params, headers=headers)

    # The cache.

    def _claim_refresh(self, entry: Entry) -> bool:
        """Whether the caller that found ``entry`` stale must start its refresh."""
        return not self._closed and self.networked and self._cache.claim_refresh(entry)

    def _expiry(self, immutable: bool) -> float:
        # Immutable answers (a pinned version with pinned components and no locale, as
        # the server's Cache-Control says) are kept for the life of the process.
        return float("inf") if immutable else self._clock() + self.cache_ttl

    def _store(self, key: CacheKey, resolution: Resolution) -> Prompt:
        assert resolution.resolved is not None
        self._outage.recovered()
        prompt = Prompt(resolution.resolved)
        self._cache.put(key, Entry(prompt, resolution.etag, self._expiry(resolution.immutable)))
        return prompt

    def _refreshed(self, key: CacheKey, entry: Entry, resolution: Resolution) -> None:
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
        """What to serve on a cache miss when the registry is down, or raise ``error``."""
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

    # Management calls: each builds the request; the clients send it.

    def _resolve_direct(
        self,
        name: str,
        label: str | None,
        version: int | None,
        locale: Locales,
        allow_stale: bool,
        preview: bool,
    ) -> Call[Resolved]:
        call = self._resolve_call(cache_key(name, label, version, locale, allow_stale, preview))

        def parse(response: httpx.Response) -> Resolved:
            resolved = parse_resolution(response).resolved
            assert resolved is not None  # sent without If-None-Match, so never a 304
            return resolved

        return Call(call.method, call.path, parse, params=call.params, headers=call.headers)

    def _create_prompt(
        self,
        name: str,
        kind: Kind | str,
        source_locale: str,
        description: str,
        tags: Sequence[str],
    ) -> Call[PromptInfo]:
        body = {
            "name": name,
            "kind": str(kind),
            "source_locale": source_locale,
            "description": description,
            "tags": list(tags),
        }
        return Call("POST", "/v1/prompts", _model(PromptInfo), json=body)

    def _read_prompt(self, name: str) -> Call[PromptInfo]:
        return Call("GET", _prompt_path(name), _model(PromptInfo))

    def _update_prompt(
        self, name: str, description: str | None, tags: Sequence[str] | None
    ) -> Call[PromptInfo]:
        body: dict[str, Any] = {}
        if description is not None:
            body["description"] = description
        if tags is not None:
            body["tags"] = list(tags)
        return Call("PATCH", _prompt_path(name), _model(PromptInfo), json=body)

    def _list_prompts(
        self,
        prefix: str | None,
        tag: str | None,
        query: str | None,
        include_archived: bool,
        cursor: str | None,
        limit: int,
    ) -> Call[PromptPage]:
        params: dict[str, str | int] = {"limit": limit}
        for key, value in (("prefix", prefix), ("tag", tag), ("q", query), ("cursor", cursor)):
            if value is not None:
                params[key] = value
        if include_archived:
            params["include_archived"] = "true"
        return Call("GET", "/v1/prompts", _model(PromptPage), params=params)

    def _set_archived(self, name: str, archived: bool) -> Call[PromptInfo]:
        action = "archive" if archived else "restore"
        path = f"{_prompt_path(name)}/-/{action}"
        return Call("POST", path, _model(PromptInfo), invalidates=name)

    def _publish(
        self,
        name: str,
        template: str | None,
        messages: Sequence[Message | Mapping[str, str]] | None,
        variables: Sequence[Variable | Mapping[str, Any]],
        config: ModelConfig | Mapping[str, Any] | None,
        message: str,
        labels: Sequence[str] = (),
    ) -> Call[Version]:
        body: dict[str, Any] = {
            "template": template,
            "messages": None if messages is None else [_dump(m) for m in messages],
            "variables": [_dump(v) for v in variables],
            "message": message,
            "labels": list(labels),
        }
        if config is not None:
            body["config"] = _dump(config)
        path = f"{_prompt_path(name)}/-/versions"
        # The implicit "latest" label may now point elsewhere.
        return Call("POST", path, _model(Version), json=body, invalidates=name)

    def _get_version(self, name: str, number: int) -> Call[Version]:
        return Call("GET", f"{_prompt_path(name)}/-/versions/{number}", _model(Version))

    def _list_versions(self, name: str, cursor: str | None, limit: int) -> Call[VersionPage]:
        params: dict[str, str | int] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        path = f"{_prompt_path(name)}/-/versions"
        return Call("GET", path, _model(VersionPage), params=params)

    def _lint(
        self,
        template: str | None,
        messages: Sequence[Message | Mapping[str, str]] | None,
        variables: Sequence[Variable | Mapping[str, Any]],
        locale: str,
        guide: str | None,
        prompt: str | None,
        localized: bool,
    ) -> Call[LintResult]:
        body: dict[str, Any] = {
            "template": template,
            "messages": None if messages is None else [_dump(m) for m in messages],
            "variables": [_dump(v) for v in variables],
            "locale": locale,
            "guide": guide,
            "prompt": prompt,
            "localized": localized,
        }
        return Call("POST", "/v1/lint", _model(LintResult), json=body)

    def _diff(self, name: str, from_version: int, to_version: int) -> Call[Diff]:
        params: dict[str, str | int] = {"from": from_version, "to": to_version}
        return Call("GET", f"{_prompt_path(name)}/-/diff", _model(Diff), params=params)

    def _set_label(self, name: str, label: str, version: int, reason: str) -> Call[Label]:
        path = f"{_prompt_path(name)}/-/labels/{quote(label)}"
        body = {"version": version, "reason": reason}
        return Call("PUT", path, _model(Label), json=body, invalidates=name)

    def _get_label(self, name: str, label: str) -> Call[Label]:
        return Call("GET", f"{_prompt_path(name)}/-/labels/{quote(label)}", _model(Label))

    def _list_labels(self, name: str) -> Call[list[Label]]:
        return Call("GET", f"{_prompt_path(name)}/-/labels", _adapter(_LABELS))

    def _translation_path(self, name: str, locale: str) -> str:
        return f"{_prompt_path(name)}/-/translations/{quote(locale)}"

    def _get_translation(self, name: str, locale: str, version: int | None) -> Call[Translation]:
        params: dict[str, str | int] = {} if version is None else {"version": version}
        path = self._translation_path(name, locale)
        return Call("GET", path, _model(Translation), params=params)

    def _submit_translation(
        self,
        name: str,
        locale: str,
        template: str | None,
        messages: Sequence[Message | Mapping[str, str]] | None,
        version: int | None,
        status: str,
        note: str,
    ) -> Call[Translation]:
        body = {
            "version": version,
            "template": template,
            "messages": None if messages is None else [_dump(m) for m in messages],
            "status": status,
            "note": note,
        }
        path = self._translation_path(name, locale)
        # Previews (preview=True) serve drafts, so they change too.
        return Call("PUT", path, _model(Translation), json=body, invalidates=name)

    def _review_translation(
        self, name: str, locale: str, action: ReviewAction | str, version: int | None, note: str
    ) -> Call[Translation]:
        body = {"version": version, "action": str(action), "note": note}
        path = self._translation_path(name, locale) + "/review"
        return Call("POST", path, _model(Translation), json=body, invalidates=name)

    def _review_translations(
        self,
        locale: str,
        action: ReviewAction | str,
        prompts: Sequence[str] | None,
        prefix: str | None,
        status: Sequence[str] | None,
        note: str,
    ) -> Call[BulkReviewResult]:
        body = {
            "action": str(action),
            "locale": locale,
            "prompts": None if prompts is None else list(prompts),
            "prefix": prefix,
            "status": None if status is None else list(status),
            "note": note,
        }
        return Call(
            "POST", "/v1/translations/review", _model(BulkReviewResult), json=body, invalidates=True
        )

    def _withdraw_translation(self, name: str, locale: str, version: int | None) -> Call[None]:
        params: dict[str, str | int] = {} if version is None else {"version": version}
        path = self._translation_path(name, locale)
        return Call("DELETE", path, _nothing, params=params, invalidates=name)

    def _translation_overview(self, prefix: str | None, label: str | None) -> Call[QueueOverview]:
        params: dict[str, str | int] = {}
        if prefix is not None:
            params["prefix"] = prefix
        if label is not None:
            params["label"] = label
        return Call("GET", "/v1/translations/queue", _model(QueueOverview), params=params)

    def _list_translations(self, name: str, version: int | None) -> Call[list[TranslationSummary]]:
        params: dict[str, str | int] = {} if version is None else {"version": version}
        path = f"{_prompt_path(name)}/-/translations"
        return Call("GET", path, _adapter(_SUMMARIES), params=params)

    def _translation_queue(self, locale: str, prefix: str | None, label: str | None) -> Call[Queue]:
        params: dict[str, str | int] = {"locale": locale}
        if prefix is not None:
            params["prefix"] = prefix
        if label is not None:
            params["label"] = label
        return Call("GET", "/v1/translations/queue", _model(Queue), params=params)

    def _export_translations(
        self, locale: str, prefix: str | None, label: str | None, include_approved: bool
    ) -> Call[bytes]:
        params: dict[str, str | int] = {"locale": locale}
        if prefix is not None:
            params["prefix"] = prefix
        if label is not None:
            params["label"] = label
        if include_approved:
            params["include_approved"] = "true"
        headers = {"Accept": f"{PO_MEDIA_TYPE}, application/problem+json"}
        return Call("GET", "/v1/translations/export", _content, params=params, headers=headers)

    def _import_translations(self, data: bytes, locale: str | None) -> Call[ImportResult]:
        params: dict[str, str | int] = {} if locale is None else {"locale": locale}
        headers = {"Content-Type": PO_MEDIA_TYPE}
        return Call(
            "POST",
            "/v1/translations/import",
            _model(ImportResult),
            params=params,
            content=data,
            headers=headers,
            invalidates=True,
        )

    # Experiments: local assignment, exposure reports, feedback and management.

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
        body = {"exposures": batch}
        return Call("POST", "/v1/experiments/exposures", _model(ExposuresRecorded), json=body)

    def _exposures_failed(self, batch: list[dict[str, Any]], error: errors.RegistryError) -> None:
        if isinstance(error, _RETRIED):
            self._exposures.requeue(batch)
            return
        log.warning("dropped %d experiment exposures: %s", len(batch), error)

    def _feedback(
        self,
        experiment: int | ServedExperiment | Prompt,
        subject: str | None,
        resolve_id: str | None,
        value: bool | float,
        source: str,
    ) -> Call[FeedbackRecorded]:
        if isinstance(experiment, Prompt):
            served = experiment.experiment
            if served is None:
                raise ValueError(
                    f"{experiment!r} was not served by an experiment: get it with subject="
                )
            experiment = served
        body: dict[str, Any] = {"value": value, "source": source}
        if isinstance(experiment, ServedExperiment):
            body["resolve_id"] = resolve_id or experiment.resolve_id
        else:
            body["experiment"] = experiment
            if subject is not None:
                body["subject"] = subject
            if resolve_id is not None:
                body["resolve_id"] = resolve_id
        return Call("POST", "/v1/experiments/feedback", _model(FeedbackRecorded), json=body)

    def _create_experiment(
        self,
        name: str,
        experiment: str,
        arms: Sequence[Mapping[str, Any] | tuple[int, int]],
        label: str,
        metric: str,
        locales: Sequence[str],
        min_samples: int | None,
        description: str,
    ) -> Call[Experiment]:
        body: dict[str, Any] = {
            "name": experiment,
            "label": label,
            "metric": metric,
            "locales": list(locales),
            "description": description,
            "arms": [
                {"version": arm[0], "weight": arm[1]} if isinstance(arm, tuple) else dict(arm)
                for arm in arms
            ],
        }
        if min_samples is not None:
            body["min_samples"] = min_samples
        path = f"{_prompt_path(name)}/-/experiments"
        return Call("POST", path, _model(Experiment), json=body, invalidates=name)

    def _list_experiments(self, name: str | None, status: str | None) -> Call[ExperimentPage]:
        params: dict[str, str | int] = {} if status is None else {"status": status}
        path = "/v1/experiments" if name is None else f"{_prompt_path(name)}/-/experiments"
        return Call("GET", path, _model(ExperimentPage), params=params)

    def _get_experiment(self, experiment: int) -> Call[Experiment]:
        return Call("GET", f"/v1/experiments/{experiment}", _model(Experiment))

    def _experiment_results(self, experiment: int) -> Call[Results]:
        return Call("GET", f"/v1/experiments/{experiment}/results", _model(Results))

    def _stop_experiment(self, experiment: int, reason: str) -> Call[Experiment]:
        path = f"/v1/experiments/{experiment}/stop"
        return Call("POST", path, _model(Experiment), json={"reason": reason}, invalidates=True)

    def _promote_arm(self, experiment: int, arm: str, reason: str) -> Call[Experiment]:
        path = f"/v1/experiments/{experiment}/promote"
        body = {"arm": arm, "reason": reason}
        return Call("POST", path, _model(Experiment), json=body, invalidates=True)
