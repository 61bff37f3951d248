"""A prompt as the request of the usual LLM clients, in one call.

Each adapter renders the prompt with the application's values and adds the version's
model configuration under the names that client uses, so that::

    prompt = registry.get("support/assistant", locale=user.locale)
    answer = openai.chat.completions.create(**prompt.to_openai_chat(question=q))

sends the same text and parameters whichever version the label points at. Which names:

=====================  =========================  ==========================  ============
config                 OpenAI chat completions    OpenAI Responses            LiteLLM
=====================  =========================  ==========================  ============
model                  ``model``                  ``model``                   ``model``
the rendered prompt    ``messages``               ``input``                   ``messages``
max_tokens             ``max_completion_tokens``  ``max_output_tokens``       ``max_tokens``
response_format        ``response_format``        ``text={"format": …}``      ``response_format``
stop, seed, penalties  the same names             left out (logged once)      the same names
=====================  =========================  ==========================  ============

``temperature`` and ``top_p`` keep their names everywhere. A text prompt is sent as one
user message (the Responses API's ``input`` string). The config's ``extra`` (tools,
``tool_choice``, ``reasoning_effort``, ``user``…) is merged last, as given, so it
overrides; for the Responses API its chat-style function tools and tool choice are
written in that API's flat form. A prompt with no ``model`` gives none: add the
application's own (``{**request, "model": "gpt-4o-mini"}``).

LangChain: :func:`langchain_template` makes a ``ChatPromptTemplate`` of the rendered
messages (``pip install 'prompt-registry[langchain]'``); the config belongs to the chat
model there (``ChatOpenAI(model=…, temperature=…)``), not to the template.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from registry.prompts.schemas import ModelConfig

if TYPE_CHECKING:
    from langchain_core.prompts import ChatPromptTemplate

    from registry.client.prompt import Prompt

__all__ = ["langchain_template", "litellm_completion", "openai_chat", "openai_responses"]

log = logging.getLogger("registry.client")

# Sampling settings that the Chat Completions API and LiteLLM name as the config does.
_CHAT_SETTINGS = ("temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty")
# Settings the Responses API has no parameter for.
_NOT_IN_RESPONSES = ("stop", "seed", "presence_penalty", "frequency_penalty")

_left_out_lock = threading.Lock()
_left_out_logged: set[tuple[str, tuple[str, ...]]] = set()


def openai_chat(prompt: Prompt, variables: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for OpenAI's ``client.chat.completions.create(**kwargs)``."""
    config = prompt.config
    request = _model(config)
    request["messages"] = _messages(prompt, variables)
    request |= _settings(config, _CHAT_SETTINGS)
    # max_tokens is deprecated there, and refused by reasoning models.
    if config.max_tokens is not None and "max_tokens" not in config.extra:
        request["max_completion_tokens"] = config.max_tokens
    if config.response_format is not None:
        request["response_format"] = config.response_format
    return request | config.extra


def openai_responses(prompt: Prompt, variables: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for OpenAI's ``client.responses.create(**kwargs)``."""
    config = prompt.config
    request = _model(config)
    rendered = prompt.render(**variables)
    request["input"] = rendered
    request |= _settings(config, ("temperature", "top_p"))
    if config.max_tokens is not None:
        request["max_output_tokens"] = config.max_tokens
    if config.response_format is not None:
        request["text"] = {"format": _responses_format(config.response_format)}
    left_out = tuple(name for name in _NOT_IN_RESPONSES if getattr(config, name) is not None)
    if left_out:
        _log_left_out(prompt, left_out)
    extra = dict(config.extra)
    if isinstance(extra.get("tools"), list):
        extra["tools"] = [_responses_tool(tool) for tool in extra["tools"]]
    if "tool_choice" in extra:
        extra["tool_choice"] = _responses_tool_choice(extra["tool_choice"])
    return request | extra


def litellm_completion(prompt: Prompt, variables: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``litellm.completion(**kwargs)`` (and ``acompletion``)."""
    config = prompt.config
    request = _model(config)
    request["messages"] = _messages(prompt, variables)
    request |= _settings(config, _CHAT_SETTINGS)
    # LiteLLM translates max_tokens for each provider.
    if config.max_tokens is not None:
        request["max_tokens"] = config.max_tokens
    if config.response_format is not None:
        request["response_format"] = config.response_format
    return request | config.extra


def langchain_template(prompt: Prompt, variables: Mapping[str, Any]) -> ChatPromptTemplate:
    """A LangChain ``ChatPromptTemplate`` of the rendered messages.

    The messages are LangChain message objects, not template strings: braces in the
    rendered text stay text (LangChain would read ``{x}`` as a variable of its own).
    The template's metadata names the prompt, version and locale, for tracing.
    """
    try:
        from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
        from langchain_core.prompts import ChatPromptTemplate
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "to_langchain() needs langchain-core, which is not installed: "
            "pip install 'prompt-registry[langchain]'",
            name="langchain_core",
        ) from exc
    messages: list[BaseMessage] = []
    for message in _messages(prompt, variables):
        role, content = message["role"], message["content"]
        if role == "system":
            messages.append(SystemMessage(content=content))
        elif role == "developer":
            # How langchain-openai marks a system message to send with the developer role.
            messages.append(
                SystemMessage(content=content, additional_kwargs={"__openai_role__": role})
            )
        elif role == "assistant":
            messages.append(AIMessage(content=content))
        else:
            messages.append(HumanMessage(content=content))
    metadata = {
        "registry_prompt": prompt.name,
        "registry_version": prompt.version,
        "registry_locale": prompt.locale,
    }
    return ChatPromptTemplate(messages, metadata=metadata)


def _model(config: ModelConfig) -> dict[str, Any]:
    return {"model": config.model} if config.model is not None else {}


def _messages(prompt: Prompt, variables: Mapping[str, Any]) -> list[dict[str, str]]:
    rendered = prompt.render(**variables)
    if isinstance(rendered, str):
        return [{"role": "user", "content": rendered}]
    return rendered


def _settings(config: ModelConfig, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: value for name in names if (value := getattr(config, name)) is not None}


def _responses_format(response_format: dict[str, Any]) -> dict[str, Any]:
    """Chat's ``{"type": "json_schema", "json_schema": {name, schema, strict}}`` is the
    Responses API's ``{"type": "json_schema", name, schema, strict}``."""
    if response_format.get("type") == "json_schema" and isinstance(
        response_format.get("json_schema"), Mapping
    ):
        return {"type": "json_schema", **response_format["json_schema"]}
    return dict(response_format)


def _responses_tool(tool: Any) -> Any:
    """Chat's ``{"type": "function", "function": {name, parameters…}}``, flattened."""
    if isinstance(tool, Mapping) and tool.get("type") == "function":
        function = tool.get("function")
        if isinstance(function, Mapping):
            return {"type": "function", **function}
    return tool


def _responses_tool_choice(choice: Any) -> Any:
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        function = choice.get("function")
        if isinstance(function, Mapping) and "name" in function:
            return {"type": "function", "name": function["name"]}
    return choice


def _log_left_out(prompt: Prompt, names: tuple[str, ...]) -> None:
    key = (prompt.name, names)
    with _left_out_lock:
        if key in _left_out_logged:
            return
        _left_out_logged.add(key)
    log.warning(
        "prompt %s sets %s, which the OpenAI Responses API has no parameter for: left out",
        prompt.name,
        ", ".join(names),
    )
