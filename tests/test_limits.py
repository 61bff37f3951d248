"""Every input limit is a 4xx whose problem names the limit, and values the stores cannot
keep (NUL characters, integers past 32 bits) are refused before they reach them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry.config import Settings
from registry.inputs import MAX_INTEGER

from factories import unique_name


def problem(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


def messages(body: dict[str, Any]) -> str:
    return " ".join(f"{'.'.join(map(str, e['loc']))}: {e['message']}" for e in body["errors"])


@pytest.fixture
def prompt(client: TestClient) -> str:
    name = unique_name("limits/p")
    assert client.post("/v1/prompts", json={"name": name}).status_code == 201
    assert client.post(f"/v1/prompts/{name}/-/versions", json={"template": "hi"}).status_code == 201
    return name


class TestSizes:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        # A body limit above the template limit, so the template's own limit answers.
        return Settings(database_url=database_url, max_body_bytes=1_048_576)

    def test_template_size(self, client: TestClient, prompt: str) -> None:
        response = client.post(f"/v1/prompts/{prompt}/-/versions", json={"template": "x" * 200_001})
        assert "body.template: must be at most 200000 characters long" in messages(
            problem(response)
        )

    def test_number_of_messages(self, client: TestClient) -> None:
        name = unique_name("limits/chat")
        client.post("/v1/prompts", json={"name": name, "kind": "chat"})
        many = [{"role": "user", "content": "x"}] * 101
        body = problem(client.post(f"/v1/prompts/{name}/-/versions", json={"messages": many}))
        assert "body.messages: must have at most 100 items" in messages(body)

    def test_page_size(self, client: TestClient) -> None:
        body = problem(client.get("/v1/prompts", params={"limit": 201}))
        assert "query.limit: must be less than or equal to 200" in messages(body)

    def test_label_pattern(self, client: TestClient, prompt: str) -> None:
        body = problem(client.put(f"/v1/prompts/{prompt}/-/labels/123", json={"version": 1}))
        assert "path.label: must match the pattern" in messages(body)

    def test_locale_tag(self, client: TestClient, prompt: str) -> None:
        body = problem(client.get(f"/v1/prompts/{prompt}/-/resolve", params={"locale": "x" * 65}))
        assert "query.locale: must be at most 64 characters long" in messages(body)


class TestStorableValues:
    @pytest.mark.parametrize(
        "path",
        [
            "/-/versions/{big}",
            "/-/resolve?version={big}",
            "/-/diff?from=1&to={big}",
            "/-/translations/fr?version={big}",
        ],
    )
    def test_version_numbers_past_the_integer_column(
        self, client: TestClient, prompt: str, path: str
    ) -> None:
        url = f"/v1/prompts/{prompt}" + path.format(big=2**63)
        body = problem(client.get(url))
        assert str(MAX_INTEGER) in messages(body)

    def test_label_target_past_the_integer_column(self, client: TestClient, prompt: str) -> None:
        response = client.put(f"/v1/prompts/{prompt}/-/labels/x", json={"version": 2**31})
        assert "body.version" in messages(problem(response))

    def test_cursor_past_the_integer_column(self, client: TestClient, prompt: str) -> None:
        import base64

        cursor = base64.urlsafe_b64encode(str(2**70).encode()).decode().rstrip("=")
        response = client.get(f"/v1/prompts/{prompt}/-/versions", params={"cursor": cursor})
        assert "query.cursor" in messages(problem(response))

    @pytest.mark.parametrize(
        ("method", "path", "kwargs", "field"),
        [
            (
                "post",
                "/v1/prompts",
                {"json": {"name": "nul", "description": "a\x00"}},
                "body.description",
            ),
            ("patch", "{p}", {"json": {"description": "a\x00"}}, "body.description"),
            (
                "post",
                "{p}/-/versions",
                {"json": {"template": "hi", "message": "\x00"}},
                "body.message",
            ),
            (
                "post",
                "{p}/-/versions",
                {"json": {"template": "x", "config": {"extra": {"k\x00": 1}}}},
                "body.config.extra",
            ),
            (
                "post",
                "/v1/keys",
                {"json": {"owner": "a\x00", "role": "reader"}},
                "body.owner",
            ),
            ("get", "/v1/prompts", {"params": {"q": "a\x00"}}, "query.q"),
            ("get", "/v1/prompts", {"params": {"tag": "a\x00"}}, "query.tag"),
            ("get", "/v1/prompts", {"params": {"prefix": "a\x00"}}, "query.prefix"),
            ("put", "/v1/style-guides/g", {"json": {"source": "rules: {}\x00"}}, "body.source"),
        ],
    )
    def test_nul_characters_are_named(
        self,
        client: TestClient,
        prompt: str,
        method: str,
        path: str,
        kwargs: dict[str, Any],
        field: str,
    ) -> None:
        url = path.format(p=f"/v1/prompts/{prompt}")
        body = problem(client.request(method.upper(), url, **kwargs))
        assert f"{field}: invalid value: must not contain the NUL character" in messages(body)

    def test_nul_in_an_uploaded_po_file(self, client: TestClient, prompt: str) -> None:
        exported = client.get(
            "/v1/translations/export", params={"locale": "fr", "prefix": prompt}
        ).content
        head, sep, tail = exported.partition(b'msgstr ""\n\n')
        assert sep, exported
        tampered = head + b'msgstr "a\x00b"\n\n' + tail
        response = client.post(
            "/v1/translations/import",
            content=tampered,
            headers={"content-type": "text/x-gettext-translation"},
        )
        assert "must not contain the NUL character" in messages(problem(response))


class TestOpenAPI:
    def test_errors_are_declared_as_problems(self, client: TestClient) -> None:
        schema = client.get("/openapi.json").json()
        responses = schema["paths"]["/v1/prompts"]["post"]["responses"]
        assert "422" not in responses
        content = responses["4XX"]["content"]
        assert content["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
        assert "Problem" in schema["components"]["schemas"]
