"""A prompt as the request of the usual LLM clients: the real openai and langchain-core
packages take what the adapters build; the LLM's HTTP API (an edge we do not own) is
answered in the test, and nothing leaves the machine."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate

from registry import Client, Prompt, ValidationError
from registry.client import adapters

SCHEMA = {
    "type": "object",
    "properties": {"category": {"type": "string"}},
    "required": ["category"],
    "additionalProperties": False,
}
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Find an order by its number.",
        "parameters": {"type": "object", "properties": {"number": {"type": "string"}}},
    },
}
CONFIG: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "temperature": 0.2,
    "top_p": 0.9,
    "max_tokens": 300,
    "stop": ["###"],
    "seed": 7,
    "presence_penalty": 0.1,
    "frequency_penalty": 0.3,
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "triage", "schema": SCHEMA, "strict": True},
    },
    "extra": {
        "tools": [TOOL],
        "tool_choice": {"type": "function", "function": {"name": "lookup_order"}},
        "user": "tenant-42",
    },
}
MESSAGES = [
    {"role": "system", "content": "You triage support tickets for {{ brand }}."},
    {"role": "developer", "content": "Answer in JSON."},
    {"role": "assistant", "content": "Ready."},
    {"role": "user", "content": "{{ ticket }}"},
]
VALUES = {"brand": "Globex", "ticket": "Order {A-17} never came."}
RENDERED = [
    {"role": "system", "content": "You triage support tickets for Globex."},
    {"role": "developer", "content": "Answer in JSON."},
    {"role": "assistant", "content": "Ready."},
    {"role": "user", "content": "Order {A-17} never came."},
]
CHAT_COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": '{"category": "shipping"}'},
        }
    ],
}
RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1_700_000_000,
    "model": "gpt-4o-mini",
    "status": "completed",
    "output": [
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [
                {"type": "output_text", "text": '{"category": "shipping"}', "annotations": []}
            ],
        }
    ],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
}


@pytest.fixture(autouse=True)
def nothing_logged_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    """What was logged once per process, forgotten: each test (and database) starts anew."""
    monkeypatch.setattr(adapters, "_left_out_logged", set())


@pytest.fixture
def sdk(client: TestClient) -> Client:
    sdk = Client(http_client=client)
    sdk.create_prompt("adapters/triage", kind="chat")
    sdk.publish(
        "adapters/triage",
        messages=MESSAGES,
        variables=[{"name": "brand"}, {"name": "ticket"}],
        config=CONFIG,
        labels=["production"],
    )
    sdk.create_prompt("adapters/summary")
    sdk.publish(
        "adapters/summary",
        template="Summarise in {{ words }} words: {{ text }}",
        variables=[{"name": "words", "type": "integer"}, {"name": "text"}],
        config={"temperature": 0.5, "max_tokens": 80},
        labels=["production"],
    )
    return sdk


@pytest.fixture
def triage(sdk: Client) -> Prompt:
    return sdk.get("adapters/triage")


@pytest.fixture
def summary(sdk: Client) -> Prompt:
    return sdk.get("adapters/summary")


@pytest.fixture
def llm() -> Iterator[tuple[openai.OpenAI, list[dict[str, Any]]]]:
    """OpenAI's client, its API answered here: each request body is kept."""
    bodies: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if request.url.path.endswith("/chat/completions"):
            return httpx.Response(200, json=CHAT_COMPLETION)
        assert request.url.path.endswith("/responses")
        return httpx.Response(200, json=RESPONSE)

    http = httpx.Client(transport=httpx.MockTransport(answer))
    with openai.OpenAI(
        api_key="sk-test", base_url="http://llm.test/v1", http_client=http, max_retries=0
    ) as client:
        yield client, bodies


LLM = tuple[openai.OpenAI, list[dict[str, Any]]]


class TestOpenAIChat:
    def test_a_chat_prompt_and_its_config_are_one_create_call(
        self, triage: Prompt, llm: LLM
    ) -> None:
        client, bodies = llm
        completion = client.chat.completions.create(**triage.to_openai_chat(**VALUES))
        assert completion.choices[0].message.content == '{"category": "shipping"}'
        assert bodies == [
            {
                "model": "gpt-4o-mini",
                "messages": RENDERED,
                "temperature": 0.2,
                "top_p": 0.9,
                "stop": ["###"],
                "seed": 7,
                "presence_penalty": 0.1,
                "frequency_penalty": 0.3,
                "max_completion_tokens": 300,
                "response_format": CONFIG["response_format"],
                "tools": [TOOL],
                "tool_choice": {"type": "function", "function": {"name": "lookup_order"}},
                "user": "tenant-42",
            }
        ]

    def test_a_text_prompt_is_one_user_message(self, summary: Prompt, llm: LLM) -> None:
        client, bodies = llm
        request = summary.to_openai_chat(words=20, text="A long text.")
        # No model in the config: the application names its own.
        assert "model" not in request
        client.chat.completions.create(**request, model="gpt-4o")
        assert bodies == [
            {
                "messages": [{"role": "user", "content": "Summarise in 20 words: A long text."}],
                "model": "gpt-4o",
                "temperature": 0.5,
                "max_completion_tokens": 80,
            }
        ]

    def test_values_are_checked_as_render_checks_them(self, summary: Prompt) -> None:
        with pytest.raises(ValidationError, match="words"):
            summary.to_openai_chat(words="many", text="x")

    def test_a_fallback_becomes_a_request_too(self, client: TestClient, llm: LLM) -> None:
        prompt = Client(http_client=client).get(
            "adapters/not-yet", fallback=[{"role": "user", "content": "Hi {{ name }}"}]
        )
        request = prompt.to_openai_chat(name="Bo")
        assert request == {"messages": [{"role": "user", "content": "Hi Bo"}]}


class TestOpenAIResponses:
    def test_the_config_is_named_as_the_responses_api_names_it(
        self, triage: Prompt, llm: LLM, caplog: pytest.LogCaptureFixture
    ) -> None:
        client, bodies = llm
        with caplog.at_level(logging.WARNING, logger="registry.client"):
            for _ in range(2):
                response = client.responses.create(**triage.to_openai_responses(**VALUES))
                assert response.output_text == '{"category": "shipping"}'
        assert (
            bodies[0]
            == bodies[1]
            == {
                "model": "gpt-4o-mini",
                "input": RENDERED,
                "temperature": 0.2,
                "top_p": 0.9,
                "max_output_tokens": 300,
                "text": {
                    "format": {
                        "type": "json_schema",
                        "name": "triage",
                        "schema": SCHEMA,
                        "strict": True,
                    }
                },
                "tools": [{"type": "function", **TOOL["function"]}],
                "tool_choice": {"type": "function", "name": "lookup_order"},
                "user": "tenant-42",
            }
        )
        # What the Responses API cannot take is said once per prompt, not per call.
        [record] = caplog.records
        assert "adapters/triage" in record.getMessage()
        assert "stop, seed, presence_penalty, frequency_penalty" in record.getMessage()

    def test_a_text_prompt_is_the_input_string(self, summary: Prompt, llm: LLM) -> None:
        client, bodies = llm
        client.responses.create(**summary.to_openai_responses(words=5, text="x"), model="gpt-4o")
        assert bodies[0]["input"] == "Summarise in 5 words: x"
        assert bodies[0]["max_output_tokens"] == 80


# LiteLLM is not installed for the tests (it brings tokenizers, aiohttp and more, and
# fetches a model price list at import): its requests are checked against the
# parameters its documentation lists for completion() (docs.litellm.ai, Input Params),
# which are OpenAI's chat completion parameters.
LITELLM_PARAMETERS = {
    "model",
    "messages",
    "temperature",
    "top_p",
    "n",
    "stream",
    "stream_options",
    "stop",
    "max_tokens",
    "max_completion_tokens",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "user",
    "response_format",
    "seed",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "logprobs",
    "top_logprobs",
    "reasoning_effort",
    "timeout",
}


class TestLiteLLM:
    def test_the_request_uses_litellms_parameters(self, triage: Prompt) -> None:
        request = triage.to_litellm(**VALUES)
        assert set(request) <= LITELLM_PARAMETERS
        assert request["max_tokens"] == 300
        assert "max_completion_tokens" not in request
        # Otherwise the same request as OpenAI's chat completions.
        chat = triage.to_openai_chat(**VALUES)
        chat["max_tokens"] = chat.pop("max_completion_tokens")
        assert request == chat


class TestLangChain:
    def test_the_rendered_messages_are_a_chat_prompt_template(self, triage: Prompt) -> None:
        template = triage.to_langchain(**VALUES)
        assert isinstance(template, ChatPromptTemplate)
        # Rendered already: nothing left to fill in, and braces in the text stay text.
        assert template.input_variables == []
        messages = template.invoke({}).to_messages()
        assert [type(m) for m in messages] == [
            SystemMessage,
            SystemMessage,
            AIMessage,
            HumanMessage,
        ]
        assert [m.content for m in messages] == [m["content"] for m in RENDERED]
        assert messages[1].additional_kwargs == {"__openai_role__": "developer"}
        assert template.metadata == {
            "registry_prompt": "adapters/triage",
            "registry_version": 1,
            "registry_locale": "en",
        }

    def test_a_text_prompt_is_one_human_message(self, summary: Prompt) -> None:
        messages = summary.to_langchain(words=3, text="x").format_messages()
        assert messages == [HumanMessage(content="Summarise in 3 words: x")]

    def test_without_langchain_the_error_names_the_extra(
        self, summary: Prompt, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for module in ("langchain_core.messages", "langchain_core.prompts"):
            monkeypatch.setitem(sys.modules, module, None)
        with pytest.raises(ModuleNotFoundError, match=r"prompt-registry\[langchain\]"):
            summary.to_langchain(words=3, text="x")
