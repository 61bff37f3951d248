"""Render-time resource exhaustion: each attempt is a clear 422 within a bounded time,
and the server answers the next request."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from factories import unique_name

N = [{"name": "n", "type": "integer"}]


def publish(client: TestClient, template: str, variables: list[dict[str, Any]]) -> str:
    name = unique_name("exhaust/p")
    assert client.post("/v1/prompts", json={"name": name}).status_code == 201
    response = client.post(
        f"/v1/prompts/{name}/-/versions",
        json={"template": template, "variables": variables, "labels": ["production"]},
    )
    assert response.status_code == 201, response.text
    return name


ATTEMPTS: dict[str, tuple[str, list[dict[str, Any]], dict[str, Any], str]] = {
    "huge range": ("{% for i in range(n) %}x{% endfor %}", N, {"n": 10**9}, "range"),
    "string multiplication": ("{{ 'x' * 10**9 }}", [], {}, "1000000 characters"),
    "string multiplication by a variable": ("{{ 'ab' * n }}", N, {"n": 10**8}, "characters"),
    "list repetition": ("{{ ([1, 2] * n) | length }}", N, {"n": 10**8}, "items"),
    "huge power": ("{{ 9 ** n }}", N, {"n": 10**7}, "4096 bits"),
    "nested loops with enormous output": (
        "{% for a in range(n) %}{% for b in range(n) %}xxxxxxxxxx{% endfor %}{% endfor %}",
        N,
        {"n": 99_999},
        "1000000 characters",
    ),
    "enormous output inside a set block": (
        "{% set s %}{% for a in range(n) %}{% for b in range(n) %}{{ b }}"
        "{% endfor %}{% endfor %}{% endset %}{{ s | length }}",
        N,
        {"n": 99_999},
        "render limit",
    ),
    "recursive macro": (
        "{% macro f(i) %}{{ f(i + 1) }}{% endmacro %}{{ f(n) }}",
        N,
        {"n": 0},
        "deeper than 50",
    ),
    "macro fan-out": (
        "{% macro f(i) %}{% if i %}{{ f(i - 1) }}{{ f(i - 1) }}{% endif %}x{% endmacro %}"
        "{{ f(n) }}",
        N,
        {"n": 40},
        "limit",
    ),
}


class TestExhaustion:
    @pytest.mark.parametrize("attempt", list(ATTEMPTS))
    def test_refused_quickly_and_the_server_stays_up(
        self, client: TestClient, attempt: str
    ) -> None:
        template, variables, values, names = ATTEMPTS[attempt]
        name = publish(client, template, variables)
        started = time.monotonic()
        response = client.post(f"/v1/prompts/{name}/-/render", json={"variables": values})
        elapsed = time.monotonic() - started
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["type"] == "/problems/render-failed"
        assert names in problem["detail"], problem["detail"]
        assert elapsed < 2, f"{attempt} took {elapsed:.1f} s"
        assert client.get("/healthz").status_code == 200

    def test_deep_includes_are_refused_at_publish(self, client: TestClient) -> None:
        # Include chains are bounded by the depth limit when published (tests/prompts
        # covers the exact limit); rendering the deepest allowed chain is quick.
        previous = publish(client, "leaf", [])
        for _ in range(9):
            previous = publish(client, f'{{% include "{previous}" %}}', [])
        started = time.monotonic()
        response = client.post(f"/v1/prompts/{previous}/-/render", json={})
        assert response.status_code == 200, response.text
        assert response.json()["text"] == "leaf"
        assert time.monotonic() - started < 2

    def test_ordinary_templates_still_render(self, client: TestClient) -> None:
        name = publish(
            client,
            "{% macro item(i) %}<{{ i * 2 }}>{% endmacro %}"
            "{% for i in range(n) %}{{ item(i) }}{% endfor %}{{ '-' * 3 }}{{ 2 ** 10 }}",
            N,
        )
        response = client.post(f"/v1/prompts/{name}/-/render", json={"variables": {"n": 3}})
        assert response.status_code == 200, response.text
        assert response.json()["text"] == "<0><2><4>---1024"
