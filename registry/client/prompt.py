"""The prompt an application renders: a resolved answer of the registry, rendered locally."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, cast

from registry import errors as engine_errors
from registry.client import adapters, errors
from registry.experiments.plan import ServedExperiment
from registry.locales.negotiation import LocaleMatch
from registry.locales.tags import format_locale
from registry.prompts.rendering import resolved_renderer
from registry.prompts.schemas import (
    Component,
    Kind,
    Message,
    ModelConfig,
    Resolved,
    Variable,
)
from registry.templating import template_renderer

if TYPE_CHECKING:
    from langchain_core.prompts import ChatPromptTemplate

__all__ = ["Origin", "Prompt", "Rendered"]

Origin = Literal["registry", "bundle", "fallback"]
# What ``Prompt.render`` returns: the text, or OpenAI-style chat messages.
Rendered = str | list[dict[str, str]]


class Prompt:
    """A resolved prompt: its metadata, and ``render(**variables)`` with no network call.

    Rendering makes the server's own checks of the values and runs its template engine
    (``registry.prompts.rendering``), so the output is byte-identical to the server's
    ``render``. Instances are shared by every caller of a cached prompt: treat them and
    their attributes as read-only.
    """

    __slots__ = ("_render", "_resolved", "origin")

    def __init__(self, resolved: Resolved, *, origin: Origin = "registry") -> None:
        self._resolved = resolved
        # Where the content came from: the registry (possibly through the cache), an
        # offline bundle, or the application's own fallback text.
        self.origin: Origin = origin
        # Made on the first render and kept: a cached prompt binds its variables and
        # renders its templates without working out again what they need.
        self._render: Callable[[Mapping[str, Any]], Rendered] | None = None

    def render(self, /, **variables: Any) -> Rendered:
        """The final text, or for a chat prompt a list of ``{"role", "content"}`` dicts."""
        try:
            return (self._render or self._renderer())(variables)
        except engine_errors.RegistryError as exc:
            # The same error, with the same problem fields, as the server's render.
            raise errors.from_problem(exc.status, exc.problem()) from None

    def to_openai_chat(self, /, **variables: Any) -> dict[str, Any]:
        """Rendered, with the model config: ``client.chat.completions.create(**kwargs)``.

        See :mod:`registry.client.adapters` for how each config field is named.
        """
        return adapters.openai_chat(self, variables)

    def to_openai_responses(self, /, **variables: Any) -> dict[str, Any]:
        """Rendered, with the model config: ``client.responses.create(**kwargs)``."""
        return adapters.openai_responses(self, variables)

    def to_litellm(self, /, **variables: Any) -> dict[str, Any]:
        """Rendered, with the model config: ``litellm.completion(**kwargs)``."""
        return adapters.litellm_completion(self, variables)

    def to_langchain(self, /, **variables: Any) -> ChatPromptTemplate:
        """Rendered, as a LangChain ``ChatPromptTemplate`` (the ``langchain`` extra)."""
        return adapters.langchain_template(self, variables)

    def _renderer(self) -> Callable[[Mapping[str, Any]], Rendered]:
        """The render function, made once; two threads making it at once make the same."""
        if self._render is None:
            resolved = self._resolved
            if self.origin == "fallback":
                self._render = _undeclared_renderer(resolved)
            else:
                locale = format_locale(resolved.requested_locale, resolved.locale)
                render = resolved_renderer(resolved, locale=locale)
                if resolved.kind is Kind.text:
                    self._render = cast(Callable[[Mapping[str, Any]], str], render)
                else:
                    self._render = partial(_as_dicts, render)
        return self._render

    def _served_as(self, resolved: Resolved) -> Prompt:
        """This prompt's content with the metadata of ``resolved`` (same templates,
        variables, includes and locale), sharing its render function."""
        prompt = Prompt(resolved, origin=self.origin)
        prompt._render = self._renderer()
        return prompt

    @property
    def name(self) -> str:
        """The prompt's name, e.g. ``support/greeting``."""
        return self._resolved.prompt

    @property
    def kind(self) -> Kind:
        """``text`` or ``chat``."""
        return self._resolved.kind

    @property
    def version(self) -> int:
        """The version number served (0 for an application-supplied fallback)."""
        return self._resolved.version

    @property
    def label(self) -> str | None:
        """The label asked for, if the prompt was asked for by label."""
        return self._resolved.label

    @property
    def locale(self) -> str:
        """The locale served (a canonical identifier such as ``fr`` or ``pt_BR``)."""
        return self._resolved.locale

    @property
    def requested_locale(self) -> str:
        """The locale asked for (the prompt's source locale when none was)."""
        return self._resolved.requested_locale

    @property
    def locale_match(self) -> LocaleMatch:
        """How the served locale relates to the one asked for: exact, fallback or source."""
        return self._resolved.locale_match

    @property
    def config(self) -> ModelConfig:
        """Model parameters stored with the version."""
        return self._resolved.config

    @property
    def variables(self) -> list[Variable]:
        """The declared variables."""
        return self._resolved.variables

    @property
    def components(self) -> list[Component]:
        """The included prompts, with the version and locale of each."""
        return self._resolved.components

    @property
    def template(self) -> str | None:
        """The template of a text prompt, in the served locale."""
        return self._resolved.template

    @property
    def messages(self) -> list[Message] | None:
        """The message templates of a chat prompt, in the served locale."""
        return self._resolved.messages

    @property
    def translation_status(self) -> str | None:
        """Status of the served translation; None when the source text is served."""
        return self._resolved.translation_status

    @property
    def etag(self) -> str:
        """The registry's entity tag for this answer ("" for a fallback)."""
        return self._resolved.etag

    @property
    def experiment(self) -> ServedExperiment | None:
        """The experiment and arm this was served from, when asked for with a subject."""
        return self._resolved.experiment

    @property
    def is_fallback(self) -> bool:
        """Whether this is the application's ``fallback=`` text, not the registry's."""
        return self.origin == "fallback"

    @property
    def resolved(self) -> Resolved:
        """The registry's answer this prompt was made from."""
        return self._resolved

    def __repr__(self) -> str:
        where = self.label or f"v{self.version}"
        return f"<Prompt {self.name}@{where} {self.locale} ({self.origin})>"


def fallback_prompt(
    name: str,
    fallback: str | Sequence[Message | Mapping[str, str]],
    *,
    label: str | None,
    locale: str,
) -> Prompt:
    """A prompt made of the application's own template string or messages."""
    if isinstance(fallback, str):
        kind, template, messages = Kind.text, fallback, None
    else:
        kind, template = Kind.chat, None
        messages = [Message.model_validate(m) for m in fallback]
    resolved = Resolved(
        prompt=name,
        kind=kind,
        version=0,
        label=label,
        template=template,
        messages=messages,
        variables=[],
        config=ModelConfig(),
        components=[],
        locale=locale,
        requested_locale=locale,
        locale_match=LocaleMatch.exact,
        translation_status=None,
        etag="",
    )
    return Prompt(resolved, origin="fallback")


def _as_dicts(
    render: Callable[[Mapping[str, Any]], str | list[Message]], values: Mapping[str, Any]
) -> list[dict[str, str]]:
    messages = cast(list[Message], render(values))
    return [{"role": m.role, "content": m.content} for m in messages]


def _undeclared_renderer(resolved: Resolved) -> Callable[[Mapping[str, Any]], Rendered]:
    # A fallback declares no variables, so the values are not checked against a
    # declaration; the engine still refuses a variable the text uses but was not given.
    if resolved.template is not None:
        return template_renderer(resolved.template, locale=resolved.locale)
    messages = [
        (
            m.role,
            template_renderer(m.content, locale=resolved.locale, loc=("messages", i, "content")),
        )
        for i, m in enumerate(resolved.messages or ())
    ]

    def render_messages(values: Mapping[str, Any]) -> list[dict[str, str]]:
        return [{"role": role, "content": render(values)} for role, render in messages]

    return render_messages
