"""Every error is problem+json, and a failed request changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from factories import unique_name


def assert_problem(response: object, status: int) -> dict[str, object]:
    from httpx import Response

    assert isinstance(response, Response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail", "errors"} <= body.keys()
    assert body["status"] == status
    return dict(body)


class TestProblems:
    def test_unknown_route(self, client: TestClient) -> None:
        assert_problem(client.get("/v2/nothing"), 404)

    def test_wrong_method(self, client: TestClient) -> None:
        assert_problem(client.delete("/v1/prompts"), 405)

    def test_malformed_json(self, client: TestClient) -> None:
        response = client.post(
            "/v1/prompts", content=b"{not json", headers={"content-type": "application/json"}
        )
        body = assert_problem(response, 422)
        assert body["errors"]

    def test_wrong_body_type(self, client: TestClient) -> None:
        assert_problem(client.post("/v1/prompts", json=["a", "list"]), 422)

    def test_declared_oversized_body_is_413(self, client: TestClient) -> None:
        name = unique_name()
        client.post("/v1/prompts", json={"name": name})
        response = client.post(f"/v1/prompts/{name}/-/versions", json={"template": "x" * 70_000})
        body = assert_problem(response, 413)
        assert "65536" in str(body["detail"])

    def test_streamed_oversized_body_is_413(self, client: TestClient) -> None:
        def chunks() -> Iterator[bytes]:
            yield b'{"name": "'
            for _ in range(100):
                yield b"x" * 1024
            yield b'"}'

        response = client.post(
            "/v1/prompts", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_problem(response, 413)

    def test_health(self, client: TestClient) -> None:
        assert client.get("/healthz").json()["status"] == "ok"


class TestCommittedRequests:
    """Through the app's own session handling, not the test transaction."""

    def test_writes_are_committed(self, committing_client: TestClient) -> None:
        client = committing_client
        assert client.post("/v1/prompts", json={"name": "a/b"}).status_code == 201
        assert client.post("/v1/prompts/a/b/-/versions", json={"template": "x"}).status_code == 201
        assert client.get("/v1/prompts/a/b").json()["latest_version"] == 1

    def test_a_failed_request_leaves_the_store_as_it_was(
        self, committing_client: TestClient
    ) -> None:
        client = committing_client
        client.post("/v1/prompts", json={"name": "a"})
        client.post("/v1/prompts", json={"name": "b"})
        client.post("/v1/prompts/a/-/versions", json={"template": "a1"})
        client.put("/v1/prompts/a/-/labels/production", json={"version": 1})
        client.post("/v1/prompts/b/-/versions", json={"template": "b1"})
        client.put("/v1/prompts/b/-/labels/staging", json={"version": 1})
        a2 = client.post("/v1/prompts/a/-/versions", json={"template": '{% include "b@staging" %}'})
        b2 = client.post("/v1/prompts/b/-/versions", json={"template": '{% include "a" %}'})
        assert (a2.status_code, b2.status_code) == (201, 201)
        assert client.put("/v1/prompts/b/-/labels/staging", json={"version": 2}).status_code == 200
        # This move writes the label and its history, then finds the cycle and fails.
        moved = client.put("/v1/prompts/a/-/labels/production", json={"version": 2})
        assert moved.status_code == 409
        label = client.get("/v1/prompts/a/-/labels/production").json()
        assert label["version"] == 1
        assert len(label["history"]) == 1
