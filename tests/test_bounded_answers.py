"""A request wrong in tens of thousands of places gets a problem of kilobytes, not megabytes:
it lists the first items and says exactly how many there were."""

from __future__ import annotations

import itertools
import string
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry.config import Settings
from registry.errors import MAX_DETAIL_CHARS, MAX_LISTED
from registry.style import LintInput, default_guide, lint

from factories import unique_name

NOTES = "FIXME " * 33_000  # 198 KB: a leftover note every six characters


@pytest.fixture
def settings(database_url: str) -> Settings:
    # The default body limit: the bodies here are bigger than the tests' usual 64 KB.
    return Settings(database_url=database_url)


def problem(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text[:1000]
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


def variable_names(count: int) -> list[str]:
    """``count`` distinct short names, none a Jinja keyword."""
    keywords = {"and", "as", "do", "for", "if", "in", "is", "not", "or"}
    names = (
        head + "".join(tail)
        for size in itertools.count()
        for head in string.ascii_lowercase
        for tail in itertools.product(string.ascii_lowercase + string.digits, repeat=size)
    )
    return list(itertools.islice((n for n in names if n not in keywords), count))


def expected_counts(text: str) -> dict[str, int]:
    """Findings per level, as the style engine itself counts them."""
    findings = lint(LintInput(template=text, messages=None), default_guide())
    counts = Counter(str(f.level) for f in findings)
    return {level: counts[level] for level in ("error", "warning", "suggestion")}


class TestErrorItems:
    def test_sixty_thousand_undeclared_variables(self, client: TestClient) -> None:
        name = unique_name("bounded/chat")
        assert client.post("/v1/prompts", json={"name": name, "kind": "chat"}).status_code == 201
        names = variable_names(60_000)
        messages = [
            {"role": "user", "content": "{{ " + "~".join(names[i : i + 20_000]) + " }}"}
            for i in range(0, len(names), 20_000)
        ]
        response = client.post(f"/v1/prompts/{name}/-/versions", json={"messages": messages})
        body = problem(response)
        assert len(response.content) < 100_000, len(response.content)
        assert len(body["errors"]) == MAX_LISTED
        assert body["errors_omitted"] == 60_000 - MAX_LISTED
        assert "and 59995 more" in body["detail"]
        assert f"{60_000 - MAX_LISTED} more are left out" in body["detail"]

    def test_a_hundred_thousand_invalid_items(self, client: TestClient) -> None:
        response = client.post("/v1/lint", json={"template": "x", "variables": [{}] * 100_000})
        body = problem(response)
        assert len(response.content) < 100_000, len(response.content)
        assert body["errors"][0] == {
            "loc": ["body", "variables", 0, "name"],
            "message": "this field is required",
        }
        assert len(body["errors"]) == MAX_LISTED
        assert body["errors_omitted"] == 100_000 - MAX_LISTED
        assert "and 99995 more" in body["detail"]

    def test_a_render_with_sixty_thousand_unknown_variables(self, client: TestClient) -> None:
        name = unique_name("bounded/render")
        declared = [f"v{i}" for i in range(20)]
        template = " ".join("{{ " + v + " }}" for v in declared)
        variables = [{"name": v} for v in declared]
        assert client.post("/v1/prompts", json={"name": name}).status_code == 201
        published = client.post(
            f"/v1/prompts/{name}/-/versions", json={"template": template, "variables": variables}
        )
        assert published.status_code == 201, published.text
        values = {f"x{i}": 1 for i in range(60_000)}
        response = client.post(
            f"/v1/prompts/{name}/-/render", json={"version": 1, "variables": values}
        )
        body = problem(response)
        assert len(response.content) < 100_000, len(response.content)
        # 60,000 unknown names and the 20 declared ones missing.
        assert body["errors_omitted"] == 60_020 - MAX_LISTED
        assert "and 60015 more" in body["detail"]

    def test_a_long_detail_is_cut(self, client: TestClient) -> None:
        response = client.get("/" + "x" * 50_000)
        body = problem(response, 404)
        assert body["detail"].startswith("there is nothing at /xxx")
        assert len(body["detail"]) == MAX_DETAIL_CHARS
        assert body["detail"].endswith("x…")


class TestStyleFindings:
    def test_lint_of_two_hundred_kilobytes_of_notes(self, client: TestClient) -> None:
        response = client.post("/v1/lint", json={"template": NOTES})
        assert response.status_code == 200, response.text[:1000]
        assert len(response.content) < 200_000, len(response.content)
        body = response.json()
        counts = expected_counts(NOTES)
        assert body["counts"] == counts
        assert len(body["findings"]) == MAX_LISTED
        assert body["findings_omitted"] == sum(counts.values()) - MAX_LISTED
        # The errors are the ones listed, in the order of the text.
        assert {f["level"] for f in body["findings"]} == {"error"}
        positions = [(f["line"], f["column"]) for f in body["findings"]]
        assert positions == sorted(positions)

    def test_a_refused_publish_of_two_hundred_kilobytes_of_notes(self, client: TestClient) -> None:
        name = unique_name("bounded/notes")
        assert client.post("/v1/prompts", json={"name": name}).status_code == 201
        response = client.post(f"/v1/prompts/{name}/-/versions", json={"template": NOTES})
        body = problem(response)
        assert body["type"] == "/problems/style-violation"
        assert len(response.content) < 200_000, len(response.content)
        counts = expected_counts(NOTES)
        assert body["counts"] == counts
        assert len(body["findings"]) == MAX_LISTED
        assert body["findings_omitted"] == sum(counts.values()) - MAX_LISTED
        assert len(body["errors"]) == MAX_LISTED
        assert body["errors_omitted"] == counts["error"] - MAX_LISTED

    def test_a_short_lint_lists_every_finding(self, client: TestClient) -> None:
        body = client.post("/v1/lint", json={"template": "FIXME FIXME"}).json()
        assert len(body["findings"]) == sum(body["counts"].values()) > 0
        assert body["findings_omitted"] == 0
