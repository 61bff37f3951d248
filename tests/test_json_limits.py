"""JSON bodies nested deeper than the limit are refused before they are parsed: a 422 that
names the limit and where the body goes past it, from every route taking JSON (a render
of a kept resolution too); never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry.app import create_app
from registry.config import Settings
from registry.errors import InvalidInput
from registry.inputs import MAX_JSON_DEPTH, has_nul, parse_json_body

from conftest import admin_token, bearer
from factories import unique_name

JSON = {"Content-Type": "application/json"}
LEVELS = (500, 100_000)


def nested(kind: str, levels: int) -> str:
    """A JSON value of ``levels`` arrays or objects, each inside the one before."""
    if kind == "array":
        return "[" * levels + "]" * levels
    return '{"a": ' * (levels - 1) + "{}" + "}" * (levels - 1)


def embedded(template: dict[str, Any], value: str) -> bytes:
    """``template`` as JSON, with ``value`` (raw JSON text) in place of the string "@"."""
    return json.dumps(template).replace('"@"', value).encode()


def assert_too_deep(response: Any) -> None:
    assert response.status_code == 422, response.text[:500]
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert f"more than {MAX_JSON_DEPTH} levels" in problem["detail"]
    (item,) = problem["errors"]
    assert item["loc"] == ["body"]
    assert str(MAX_JSON_DEPTH) in item["message"]
    assert item["line"] == 1 and item["column"] > MAX_JSON_DEPTH


@pytest.fixture
def committing_client(migrated_url: str) -> Iterator[TestClient]:
    """The app as served, with the default body limit (100,000 levels fit in it)."""
    app = create_app(Settings(database_url=migrated_url))
    token = admin_token(migrated_url)
    with TestClient(app, raise_server_exceptions=False, headers=bearer(token)) as test_client:
        yield test_client


@pytest.fixture
def prompt(committing_client: TestClient) -> str:
    """A published prompt with a production label, its resolution kept by the process."""
    client = committing_client
    name = unique_name("limits/deep")
    assert client.post("/v1/prompts", json={"name": name}).status_code == 201
    body = {"template": "Hi {{ who }}", "variables": [{"name": "who", "type": "object"}]}
    assert client.post(f"/v1/prompts/{name}/-/versions", json=body).status_code == 201
    moved = client.put(f"/v1/prompts/{name}/-/labels/production", json={"version": 1})
    assert moved.status_code == 200
    for _ in range(2):
        rendered = client.post(f"/v1/prompts/{name}/-/render", json={"variables": {"who": {}}})
        assert rendered.status_code == 200, rendered.text
    return name


@pytest.mark.parametrize("levels", LEVELS)
@pytest.mark.parametrize("kind", ["array", "object"])
class TestNestedBodies:
    def test_render_variables(
        self, committing_client: TestClient, prompt: str, kind: str, levels: int
    ) -> None:
        body = embedded({"variables": {"who": "@"}}, nested(kind, levels))
        for path in (f"/v1/prompts/{prompt}/-/render", "/v1/prompts/limits/absent/-/render"):
            assert_too_deep(committing_client.post(path, content=body, headers=JSON))

    def test_lint(self, committing_client: TestClient, kind: str, levels: int) -> None:
        body = embedded(
            {"template": "Hi {{ x }}", "variables": [{"name": "x", "default": "@"}]},
            nested(kind, levels),
        )
        assert_too_deep(committing_client.post("/v1/lint", content=body, headers=JSON))

    def test_label_move(
        self, committing_client: TestClient, prompt: str, kind: str, levels: int
    ) -> None:
        body = embedded({"version": "@"}, nested(kind, levels))
        path = f"/v1/prompts/{prompt}/-/labels/production"
        assert_too_deep(committing_client.put(path, content=body, headers=JSON))

    def test_key_creation(self, committing_client: TestClient, kind: str, levels: int) -> None:
        body = embedded({"owner": "deep", "role": "reader", "locales": "@"}, nested(kind, levels))
        assert_too_deep(committing_client.post("/v1/keys", content=body, headers=JSON))


class TestDepthScan:
    def test_the_limit_itself_is_allowed(self) -> None:
        assert parse_json_body(nested("array", MAX_JSON_DEPTH).encode()) is not None
        with pytest.raises(InvalidInput):
            parse_json_body(nested("array", MAX_JSON_DEPTH + 1).encode())

    def test_brackets_inside_strings_do_not_nest(self) -> None:
        text = json.dumps({"text": "[{" * 1000, "quoted": '\\"[[[' * 100}).encode()
        assert parse_json_body(text)["text"] == "[{" * 1000

    def test_many_shallow_values_are_allowed(self) -> None:
        wide = json.dumps({"rows": [[[i]] for i in range(10_000)]}).encode()
        assert len(parse_json_body(wide)["rows"]) == 10_000

    def test_the_location_is_the_first_bracket_past_the_limit(self) -> None:
        body = b'{\n  "a": ' + nested("array", 100).encode() + b"\n}"
        with pytest.raises(InvalidInput) as raised:
            parse_json_body(body)
        (item,) = raised.value.errors
        # The object is the first level: the array past the limit is the 64th.
        assert (item.line, item.column) == (2, len('  "a": ') + MAX_JSON_DEPTH)


def test_has_nul_walks_any_depth() -> None:
    deep: list[Any] = ["\x00"]
    for _ in range(100_000):
        deep = [deep]
    assert has_nul(deep)
    assert not has_nul({"a": [[{"b": "c"}]]})


@pytest.mark.parametrize("body", [b'{"template": "\xdf\xff"}', b"\xac{}", b'{"a": "\xf2'])
def test_bytes_that_are_not_utf8_are_invalid_json(
    committing_client: TestClient, body: bytes
) -> None:
    for path in ("/v1/lint", "/v1/keys", f"/v1/prompts/{unique_name('json/p')}/-/render"):
        response = committing_client.post(path, content=body, headers=JSON)
        assert response.status_code == 422, (path, response.text[:300])
        assert response.headers["content-type"] == "application/problem+json"
