"""Every call of the SDK, written once for both clients.

A call is a method that returns its answer when it has it at hand (a fresh cached
prompt), else ``self._run(flow)`` with the flow that gets it (see :mod:`._base`).
``Client._run`` drives the flow with blocking I/O and answers; ``AsyncClient._run``
returns a coroutine of the answer, which the coroutine function that :class:`operation`
makes of the method for ``AsyncClient`` awaits. A management call is an
:func:`endpoint`: a method that turns its arguments into a :class:`Call` (the request,
how to read the answer, what it invalidates in the cache). Adding a call to the SDK is
adding one such method here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from types import CoroutineType, MethodType
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Concatenate,
    Generic,
    Literal,
    ParamSpec,
    TypeVar,
    cast,
    overload,
)
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from registry.client._base import (
    PO_MEDIA_TYPE,
    BaseClient,
    CacheKey,
    Call,
    Fallback,
    Flow,
    Locales,
    adapter_parser,
    cache_key,
    content_parser,
    dump,
    model_parser,
    nothing_parser,
    parse_resolution,
    prompt_path,
    resolve_call,
)
from registry.client.prompt import Prompt, Rendered
from registry.experiments.plan import ServedExperiment
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

# The answers of translation and experiment management are imported by the calls that
# read them: building their models is a sixth of the SDK's import, which a get and
# render never needs.
if TYPE_CHECKING:
    from registry.client.async_client import AsyncClient
    from registry.client.sync import Client
    from registry.experiments.schemas import (
        Experiment,
        ExperimentPage,
        FeedbackRecorded,
        Results,
    )
    from registry.style.schemas import LintResult
    from registry.translations.schemas import (
        BulkReviewResult,
        ImportResult,
        Queue,
        QueueOverview,
        ReviewAction,
        Translation,
        TranslationSummary,
    )

P = ParamSpec("P")
T = TypeVar("T")

_LABELS = TypeAdapter(list[Label])


@functools.cache
def _summaries() -> TypeAdapter[list[TranslationSummary]]:
    from registry.translations.schemas import TranslationSummary

    return TypeAdapter(list[TranslationSummary])


class operation(Generic[P, T]):
    """A call of both clients: ``Client``'s is the decorated method as it stands,
    ``AsyncClient``'s a coroutine function that awaits what the method returned."""

    def __init__(self, method: Callable[Concatenate[Any, P], T]) -> None:
        async def awaited(client: Any, /, *args: Any, **kwargs: Any) -> Any:
            answer: Any = method(client, *args, **kwargs)
            return await answer if type(answer) is CoroutineType else answer

        functools.update_wrapper(awaited, method)
        self.method = method
        self.awaited = awaited
        self.__doc__ = method.__doc__

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Callable[..., Any]: ...

    @overload
    def __get__(self, client: Client, owner: type[Any]) -> Callable[P, T]: ...

    @overload
    def __get__(
        self, client: AsyncClient, owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...

    def __get__(self, client: Any, owner: type[Any]) -> Callable[..., Any]:
        function = self.awaited if owner.awaits else self.method
        return function if client is None else MethodType(function, client)


def endpoint(build: Callable[Concatenate[Any, P], Call[T]]) -> operation[P, T]:
    """A management call: the decorated method builds its :class:`Call` from the public
    arguments, and the client sends it."""

    def send(client: Any, /, *args: Any, **kwargs: Any) -> Any:
        return client._run(client._send_flow(build(client, *args, **kwargs)))

    # What help() and inspect show: the builder's parameters, and the answer's type
    # (the builder is annotated ``-> Call[Answer]``).
    functools.update_wrapper(send, build)
    signature = inspect.signature(build)
    answer = signature.return_annotation
    if isinstance(answer, str) and answer.startswith("Call[") and answer.endswith("]"):
        signature = signature.replace(return_annotation=answer[len("Call[") : -1])
    send.__signature__ = signature  # type: ignore[attr-defined]
    return operation(cast(Callable[Concatenate[Any, P], T], send))


def _query(**values: str | int | None) -> dict[str, str | int]:
    """Query parameters: those given, flags that are set as ``true`` (None and False are
    left out)."""
    return {
        key: "true" if value is True else value
        for key, value in values.items()
        if value is not None and value is not False
    }


def _translation_path(name: str, locale: str) -> str:
    return f"{prompt_path(name)}/-/translations/{quote(locale)}"


class Endpoints(BaseClient):
    """Every call of the registry's SDK, for ``Client`` and ``AsyncClient``."""

    # Whether calls return coroutines (AsyncClient) or answers (Client).
    awaits: ClassVar[bool] = False

    if TYPE_CHECKING:

        def _run(self, flow: Flow[T]) -> T:
            """Drive ``flow`` to its answer; AsyncClient's returns a coroutine of it."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Each client holds its calls as plain functions, so that ``client.get`` is an
        # ordinary method lookup: a cached get takes about a microsecond, and calling a
        # descriptor's ``__get__`` on every lookup would add half as much again.
        for name, call in vars(Endpoints).items():
            if isinstance(call, operation) and isinstance(
                inspect.getattr_static(cls, name), operation
            ):
                setattr(cls, name, call.awaited if cls.awaits else call.method)

    # Serving.

    @operation
    def get(
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
        # cache_key() and _fresh(), inlined: the hot path.
        key: CacheKey = (
            name,
            label,
            version,
            locale if locale is None or isinstance(locale, str) else tuple(locale),
            allow_stale,
            preview,
        )
        if subject is None or version is not None:
            entry = self._cache.get(key)
            if entry is not None and entry.expires_at > self._clock():
                return entry.prompt
        return self._run(self._prompt_flow(key, fallback, subject))

    @operation
    def render(
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
        key = cache_key(name, label, version, locale, allow_stale, preview)
        values = variables or {}
        if subject is None or version is not None:
            prompt = self._fresh(key)
            if prompt is not None:
                return prompt.render(**values)
        flow = self._render_flow(self._prompt_flow(key, fallback, subject), values)
        return self._run(flow)

    @operation
    def preload(
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
        keys = [
            cache_key(name, label, version, locale, allow_stale, preview)
            for name in names
            for locale in wanted
        ]
        return self._run(self._preload_flow(keys))

    # Experiments.

    @operation
    def flush_exposures(self) -> int:
        """Report the subjects assigned to arms so far; returns how many were sent."""
        return self._run(self._flush_flow())

    @endpoint
    def feedback(
        self,
        experiment: int | ServedExperiment | Prompt,
        *,
        value: bool | float,
        subject: str | None = None,
        resolve_id: str | None = None,
        source: str = "",
    ) -> Call[FeedbackRecorded]:
        """Record an outcome: ``client.feedback(prompt, value=True)`` for a prompt served
        with a subject, or ``client.feedback(experiment_id, subject=..., value=4.5)``
        (awaited, on ``AsyncClient``)."""
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
        from registry.experiments.schemas import FeedbackRecorded

        return Call("POST", "/v1/experiments/feedback", model_parser(FeedbackRecorded), json=body)

    # Management.

    @endpoint
    def resolve(
        self,
        name: str,
        *,
        label: str | None = None,
        version: int | None = None,
        locale: Locales = None,
        allow_stale: bool = False,
        preview: bool = False,
    ) -> Call[Resolved]:
        """The registry's resolve answer, fetched now; bypasses the cache."""
        call = resolve_call(cache_key(name, label, version, locale, allow_stale, preview))

        def parse(response: httpx.Response) -> Resolved:
            resolved = parse_resolution(response).resolved
            assert resolved is not None  # sent without If-None-Match, so never a 304
            return resolved

        return Call(call.method, call.path, parse, params=call.params, headers=call.headers)

    @endpoint
    def create_prompt(
        self,
        name: str,
        *,
        kind: Kind | Literal["text", "chat"] = Kind.text,
        source_locale: str = "en",
        description: str = "",
        tags: Sequence[str] = (),
    ) -> Call[PromptInfo]:
        """Create a prompt; publish versions to it next."""
        body = {
            "name": name,
            "kind": str(kind),
            "source_locale": source_locale,
            "description": description,
            "tags": list(tags),
        }
        return Call("POST", "/v1/prompts", model_parser(PromptInfo), json=body)

    @endpoint
    def read_prompt(self, name: str) -> Call[PromptInfo]:
        """A prompt's metadata and where its labels point."""
        return Call("GET", prompt_path(name), model_parser(PromptInfo))

    @endpoint
    def update_prompt(
        self, name: str, *, description: str | None = None, tags: Sequence[str] | None = None
    ) -> Call[PromptInfo]:
        """Change a prompt's description or tags."""
        body: dict[str, Any] = {}
        if description is not None:
            body["description"] = description
        if tags is not None:
            body["tags"] = list(tags)
        return Call("PATCH", prompt_path(name), model_parser(PromptInfo), json=body)

    @endpoint
    def list_prompts(
        self,
        *,
        prefix: str | None = None,
        tag: str | None = None,
        query: str | None = None,
        include_archived: bool = False,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Call[PromptPage]:
        """One page of prompts by name, filtered by folder, tag or text."""
        params = _query(
            limit=limit,
            prefix=prefix,
            tag=tag,
            q=query,
            cursor=cursor,
            include_archived=include_archived,
        )
        return Call("GET", "/v1/prompts", model_parser(PromptPage), params=params)

    @endpoint
    def archive(self, name: str) -> Call[PromptInfo]:
        """Archive a prompt: kept, resolvable only by pinned version."""
        path = f"{prompt_path(name)}/-/archive"
        return Call("POST", path, model_parser(PromptInfo), invalidates=name)

    @endpoint
    def restore(self, name: str) -> Call[PromptInfo]:
        """Undo an archive."""
        path = f"{prompt_path(name)}/-/restore"
        return Call("POST", path, model_parser(PromptInfo), invalidates=name)

    @endpoint
    def publish(
        self,
        name: str,
        *,
        template: str | None = None,
        messages: Sequence[Message | Mapping[str, str]] | None = None,
        variables: Sequence[Variable | Mapping[str, Any]] = (),
        config: ModelConfig | Mapping[str, Any] | None = None,
        message: str = "",
        labels: Sequence[str] = (),
    ) -> Call[Version]:
        """Publish a version (and point ``labels`` at it); equal content returns the newest."""
        body: dict[str, Any] = {
            "template": template,
            "messages": None if messages is None else [dump(m) for m in messages],
            "variables": [dump(v) for v in variables],
            "message": message,
            "labels": list(labels),
        }
        if config is not None:
            body["config"] = dump(config)
        path = f"{prompt_path(name)}/-/versions"
        # The implicit "latest" label may now point elsewhere.
        return Call("POST", path, model_parser(Version), json=body, invalidates=name)

    @endpoint
    def get_version(self, name: str, number: int) -> Call[Version]:
        """One published version."""
        return Call("GET", f"{prompt_path(name)}/-/versions/{number}", model_parser(Version))

    @endpoint
    def list_versions(
        self, name: str, *, cursor: str | None = None, limit: int = 50
    ) -> Call[VersionPage]:
        """One page of a prompt's versions, newest first."""
        path = f"{prompt_path(name)}/-/versions"
        params = _query(limit=limit, cursor=cursor)
        return Call("GET", path, model_parser(VersionPage), params=params)

    @endpoint
    def lint(
        self,
        *,
        template: str | None = None,
        messages: Sequence[Message | Mapping[str, str]] | None = None,
        variables: Sequence[Variable | Mapping[str, Any]] = (),
        locale: str = "en",
        guide: str | None = None,
        prompt: str | None = None,
        localized: bool = False,
    ) -> Call[LintResult]:
        """Check text against a style guide on the registry (nothing is stored)."""
        # Imported here: the style package loads its whole engine, which a get and
        # render never needs (a quarter of the SDK's import time).
        from registry.style.schemas import LintResult

        body: dict[str, Any] = {
            "template": template,
            "messages": None if messages is None else [dump(m) for m in messages],
            "variables": [dump(v) for v in variables],
            "locale": locale,
            "guide": guide,
            "prompt": prompt,
            "localized": localized,
        }
        return Call("POST", "/v1/lint", model_parser(LintResult), json=body)

    @endpoint
    def diff(self, name: str, from_version: int, to_version: int) -> Call[Diff]:
        """Unified diff of the content, and changes of variables and config."""
        params: dict[str, str | int] = {"from": from_version, "to": to_version}
        return Call("GET", f"{prompt_path(name)}/-/diff", model_parser(Diff), params=params)

    @endpoint
    def set_label(self, name: str, label: str, version: int, *, reason: str = "") -> Call[Label]:
        """Point a label at a version (rollback is moving it back)."""
        path = f"{prompt_path(name)}/-/labels/{quote(label)}"
        body = {"version": version, "reason": reason}
        return Call("PUT", path, model_parser(Label), json=body, invalidates=name)

    @endpoint
    def get_label(self, name: str, label: str) -> Call[Label]:
        """One label, with the history of its moves."""
        return Call("GET", f"{prompt_path(name)}/-/labels/{quote(label)}", model_parser(Label))

    @endpoint
    def list_labels(self, name: str) -> Call[list[Label]]:
        """Every label of a prompt, with its history."""
        return Call("GET", f"{prompt_path(name)}/-/labels", adapter_parser(_LABELS))

    @endpoint
    def get_translation(
        self, name: str, locale: str, *, version: int | None = None
    ) -> Call[Translation]:
        """One locale's translation with its source, source diff and revisions."""
        from registry.translations.schemas import Translation

        path = _translation_path(name, locale)
        return Call("GET", path, model_parser(Translation), params=_query(version=version))

    @endpoint
    def submit_translation(
        self,
        name: str,
        locale: str,
        *,
        template: str | None = None,
        messages: Sequence[Message | Mapping[str, str]] | None = None,
        version: int | None = None,
        status: Literal["draft", "in_review"] = "draft",
        note: str = "",
    ) -> Call[Translation]:
        """Submit a locale's text, as a draft or for review."""
        from registry.translations.schemas import Translation

        body = {
            "version": version,
            "template": template,
            "messages": None if messages is None else [dump(m) for m in messages],
            "status": status,
            "note": note,
        }
        path = _translation_path(name, locale)
        # Previews (preview=True) serve drafts, so they change too.
        return Call("PUT", path, model_parser(Translation), json=body, invalidates=name)

    @endpoint
    def review_translation(
        self,
        name: str,
        locale: str,
        action: ReviewAction | Literal["submit", "approve", "reject"],
        *,
        version: int | None = None,
        note: str = "",
    ) -> Call[Translation]:
        """Submit for review, approve, or reject a translation."""
        from registry.translations.schemas import Translation

        body = {"version": version, "action": str(action), "note": note}
        path = _translation_path(name, locale) + "/review"
        return Call("POST", path, model_parser(Translation), json=body, invalidates=name)

    @endpoint
    def list_translations(
        self, name: str, *, version: int | None = None
    ) -> Call[list[TranslationSummary]]:
        """Every locale a version is translated into, with its status."""
        path = f"{prompt_path(name)}/-/translations"
        return Call("GET", path, adapter_parser(_summaries()), params=_query(version=version))

    @endpoint
    def translation_queue(
        self, locale: str, *, prefix: str | None = None, label: str | None = None
    ) -> Call[Queue]:
        """What is missing, stale or in review for a locale."""
        from registry.translations.schemas import Queue

        params = _query(locale=locale, prefix=prefix, label=label)
        return Call("GET", "/v1/translations/queue", model_parser(Queue), params=params)

    @endpoint
    def translation_overview(
        self, *, prefix: str | None = None, label: str | None = None
    ) -> Call[QueueOverview]:
        """Every prompt against every locale translated: each pair's state, and each
        locale's completeness."""
        from registry.translations.schemas import QueueOverview

        params = _query(prefix=prefix, label=label)
        return Call("GET", "/v1/translations/queue", model_parser(QueueOverview), params=params)

    @endpoint
    def review_translations(
        self,
        locale: str,
        action: ReviewAction | Literal["submit", "approve", "reject"],
        *,
        prompts: Sequence[str] | None = None,
        prefix: str | None = None,
        status: Sequence[str] | None = None,
        note: str = "",
    ) -> Call[BulkReviewResult]:
        """Review many translations of a locale at once (``prompts``, or every one under
        ``prefix`` in ``status``): all or nothing."""
        from registry.translations.schemas import BulkReviewResult

        body = {
            "action": str(action),
            "locale": locale,
            "prompts": None if prompts is None else list(prompts),
            "prefix": prefix,
            "status": None if status is None else list(status),
            "note": note,
        }
        path = "/v1/translations/review"
        return Call("POST", path, model_parser(BulkReviewResult), json=body, invalidates=True)

    @endpoint
    def withdraw_translation(
        self, name: str, locale: str, *, version: int | None = None
    ) -> Call[None]:
        """Delete a version's translation into a locale (approved text: reviewers only)."""
        path = _translation_path(name, locale)
        params = _query(version=version)
        return Call("DELETE", path, nothing_parser, params=params, invalidates=name)

    @endpoint
    def export_translations(
        self,
        locale: str,
        *,
        prefix: str | None = None,
        label: str | None = None,
        include_approved: bool = False,
    ) -> Call[bytes]:
        """A locale's queue (or everything) as PO file bytes."""
        params = _query(
            locale=locale, prefix=prefix, label=label, include_approved=include_approved
        )
        headers = {"Accept": f"{PO_MEDIA_TYPE}, application/problem+json"}
        path = "/v1/translations/export"
        return Call("GET", path, content_parser, params=params, headers=headers)

    @endpoint
    def import_translations(self, data: bytes, *, locale: str | None = None) -> Call[ImportResult]:
        """Upload a translated PO file; it applies all or nothing."""
        from registry.translations.schemas import ImportResult

        params = _query(locale=locale)
        headers = {"Content-Type": PO_MEDIA_TYPE}
        return Call(
            "POST",
            "/v1/translations/import",
            model_parser(ImportResult),
            params=params,
            content=data,
            headers=headers,
            invalidates=True,
        )

    @endpoint
    def create_experiment(
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
    ) -> Call[Experiment]:
        """Start an experiment on a label: ``arms=[(1, 50), (2, 50)]`` (version, weight)."""
        from registry.experiments.schemas import Experiment

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
        path = f"{prompt_path(name)}/-/experiments"
        return Call("POST", path, model_parser(Experiment), json=body, invalidates=name)

    @endpoint
    def list_experiments(
        self, name: str | None = None, *, status: str | None = None
    ) -> Call[ExperimentPage]:
        """Experiments of a prompt, or of every prompt, newest first."""
        from registry.experiments.schemas import ExperimentPage

        params = _query(status=status)
        path = "/v1/experiments" if name is None else f"{prompt_path(name)}/-/experiments"
        return Call("GET", path, model_parser(ExperimentPage), params=params)

    @endpoint
    def get_experiment(self, experiment: int) -> Call[Experiment]:
        """One experiment."""
        from registry.experiments.schemas import Experiment

        return Call("GET", f"/v1/experiments/{experiment}", model_parser(Experiment))

    @endpoint
    def experiment_results(self, experiment: int) -> Call[Results]:
        """Per arm: subjects, outcomes, mean with 95% interval, and the significance test."""
        from registry.experiments.schemas import Results

        return Call("GET", f"/v1/experiments/{experiment}/results", model_parser(Results))

    @endpoint
    def stop_experiment(self, experiment: int, *, reason: str = "") -> Call[Experiment]:
        """End an experiment without moving its label."""
        from registry.experiments.schemas import Experiment

        path = f"/v1/experiments/{experiment}/stop"
        return Call(
            "POST", path, model_parser(Experiment), json={"reason": reason}, invalidates=True
        )

    @endpoint
    def promote_arm(self, experiment: int, arm: str, *, reason: str = "") -> Call[Experiment]:
        """Move the experiment's label to an arm's version and end the experiment."""
        from registry.experiments.schemas import Experiment

        path = f"/v1/experiments/{experiment}/promote"
        body = {"arm": arm, "reason": reason}
        return Call("POST", path, model_parser(Experiment), json=body, invalidates=True)
