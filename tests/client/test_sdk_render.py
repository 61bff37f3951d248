"""The SDK renders locally exactly what the server's render endpoint answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry import Client, Prompt, ValidationError
from registry.client._base import accept_language
from registry.demo import seed_demo
from registry.demo.library import LIBRARY

# A value for every variable of the demo library; optional ones get non-default values
# so that filters (plural, number, join) and loops run.
VALUES: dict[str, Any] = {
    "ticket": "I was charged twice this month.",
    "categories": ["billing", "bug", "other"],
    "review": "Works, but the manual is useless.",
    "examples": [{"text": "Love it.", "label": "positive"}],
    "article": "The city opened a new library on Monday. It holds 200,000 books.",
    "audience": "teenagers",
    "max_words": 1500,
    "brand": "Globex",
    "question": "How do I reset my password?",
    "customer_name": "Mia",
    "open_tickets": 3,
    "invoice": "Invoice 42, 2026-11-02, total 99.00 EUR, Acme GmbH",
    "fields": ["total", "vendor"],
    "sender": "Lee",
    "email": "My order has not arrived.",
    "points": ["apologise", "refund"],
    "language": "Rust",
    "diff": "- x = 1\n+ x = 2",
}
LOCALES: list[str | list[str] | None] = [
    None,
    "en",
    "fr",
    "de",
    "es",
    "ja",
    "it",
    "fr-CA",
    "fr_BE",
    "de-AT",
    "es-MX",
    "ja-JP",
    "pt-BR",
    "zh-Hant-TW",
    ["it", "de"],
    ["pt-BR", "es-419", "en"],
]
OPTIONS: list[dict[str, Any]] = [{}, {"allow_stale": True}, {"preview": True}]


@pytest.fixture
def demo(session: Session, client: TestClient) -> TestClient:
    seed_demo(session)
    return client


@pytest.fixture
def sdk(demo: TestClient) -> Iterator[Client]:
    with Client(http_client=demo) as sdk:
        yield sdk


def server_render(
    http: TestClient, name: str, values: dict[str, Any], *, locale: Any = None, **options: Any
) -> dict[str, Any]:
    """The render endpoint's answer; a list of locales goes as Accept-Language."""
    body = {"variables": values, **options}
    headers = {}
    if isinstance(locale, list):
        headers["Accept-Language"] = accept_language(locale)
    elif locale is not None:
        body["locale"] = locale
    response = http.post(f"/v1/prompts/{name}/-/render", json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def output_of(answer: dict[str, Any]) -> str | list[dict[str, str]]:
    if answer["text"] is not None:
        text: str = answer["text"]
        return text
    return [{"role": m["role"], "content": m["content"]} for m in answer["messages"]]


def values_for(prompt: Prompt) -> dict[str, Any]:
    return {v.name: VALUES[v.name] for v in prompt.variables}


def selectors() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every prompt of the demo library by each of its labels, and pinned to version 1."""
    for entry in LIBRARY:
        labels = dict.fromkeys(label for label, _number, _reason in entry["labels"])
        for label in labels:
            yield entry["name"], {"label": label}
        yield entry["name"], {"version": 1}


class TestByteIdenticalToServer:
    def test_every_prompt_in_every_locale(self, sdk: Client, demo: TestClient) -> None:
        compared = 0
        for name, selector in selectors():
            for locale in LOCALES:
                for options in OPTIONS:
                    prompt = sdk.get(name, locale=locale, **selector, **options)
                    values = values_for(prompt)
                    answer = server_render(demo, name, values, locale=locale, **selector, **options)
                    where = (name, selector, locale, options)
                    assert prompt.render(**values) == output_of(answer), where
                    assert (prompt.locale, prompt.requested_locale, prompt.locale_match) == (
                        answer["locale"],
                        answer["requested_locale"],
                        answer["locale_match"],
                    ), where
                    assert prompt.version == answer["version"], where
                    assert [c.model_dump() for c in prompt.components] == answer["components"]
                    compared += 1
        assert compared == len(list(selectors())) * len(LOCALES) * len(OPTIONS)

    def test_defaults_are_filled_in_as_the_server_does(self, sdk: Client, demo: TestClient) -> None:
        values = {"customer_name": "Mia"}
        local = sdk.render("support/greeting", values, locale="de")
        assert local == output_of(server_render(demo, "support/greeting", values, locale="de"))
        assert isinstance(local, str) and "Acme" in local

    def test_translations_served_by_locale(self, sdk: Client) -> None:
        french = sdk.get("support/greeting", locale="fr-CA")
        assert (french.locale, french.requested_locale, french.locale_match) == (
            "fr",
            "fr_CA",
            "fallback",
        )
        assert "ses 3 tickets ouverts" in str(french.render(customer_name="Mia", open_tickets=3))
        italian = sdk.get("support/greeting", locale="it")
        assert (italian.locale, italian.locale_match) == ("en", "source")
        draft = sdk.get("support/greeting", locale="it", preview=True)
        assert (draft.locale, draft.translation_status) == ("it", "draft")


class TestPrompt:
    def test_describes_what_was_served(self, sdk: Client) -> None:
        prompt = sdk.get("support/greeting")
        assert (prompt.name, prompt.version, prompt.label) == ("support/greeting", 1, "production")
        assert [v.name for v in prompt.variables] == ["customer_name", "open_tickets", "brand"]
        assert prompt.components[0].name == "shared/tone-of-voice"
        assert prompt.components[0].version == 2
        assert prompt.kind == "text" and prompt.template is not None
        assert prompt.etag.startswith('"')
        assert (prompt.is_fallback, prompt.origin) == (False, "registry")

    def test_config_is_the_versions_model_config(self, sdk: Client) -> None:
        config = sdk.get("extract/invoice-fields").config
        assert (config.model, config.temperature) == ("gpt-4o-mini", 0)
        assert config.response_format == {"type": "json_object"}

    def test_chat_prompt_renders_openai_style_messages(self, sdk: Client) -> None:
        messages = sdk.render("code/review", {"diff": "+ x"}, version=1)
        assert isinstance(messages, list)
        assert [m["role"] for m in messages] == ["system", "user"]
        assert messages[0]["content"].startswith("You review Python code.")
        assert messages[1] == {"role": "user", "content": "Review this diff:\n\n+ x"}

    def test_a_label_and_a_version_are_told_apart(self, sdk: Client) -> None:
        staging = sdk.get("summarize/article", label="staging")
        production = sdk.get("summarize/article")
        assert (staging.version, production.version) == (2, 1)
        assert sdk.get("summarize/article", version=2).label is None


class TestRenderErrors:
    @pytest.mark.parametrize(
        "values",
        [
            {},
            {"customer_name": 7},
            {"customer_name": "Mia", "nickname": "M"},
        ],
        ids=["missing", "wrong-type", "undeclared"],
    )
    def test_local_error_is_the_servers_problem(
        self, sdk: Client, demo: TestClient, values: dict[str, Any]
    ) -> None:
        server = demo.post("/v1/prompts/support/greeting/-/render", json={"variables": values})
        assert server.status_code == 422
        problem = server.json()
        with pytest.raises(ValidationError) as caught:
            sdk.get("support/greeting").render(**values)
        error = caught.value
        assert (error.status, error.title, error.detail, error.problem_type) == (
            problem["status"],
            problem["title"],
            problem["detail"],
            problem["type"],
        )
        assert [e.as_dict() for e in error.errors] == problem["errors"]

    def test_a_variable_may_be_called_self(self, sdk: Client) -> None:
        with pytest.raises(ValidationError, match="'self' is not a declared variable"):
            sdk.get("support/greeting").render(self="x", customer_name="Mia")
