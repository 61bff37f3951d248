"""Concurrent publishers and label movers through a real HTTP server."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from conftest import admin_token, bearer, live_server

CLIENTS = 20


@dataclass(frozen=True)
class Server:
    url: str
    headers: dict[str, str]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, headers=self.headers)


@pytest.fixture
def server(migrated_url: str) -> Iterator[Server]:
    headers = bearer(admin_token(migrated_url))
    with live_server(migrated_url) as url:
        yield Server(url, headers)


def run_concurrently(count: int, task: object) -> list[httpx.Response]:
    barrier = threading.Barrier(count)

    def call(i: int) -> httpx.Response:
        barrier.wait()
        return task(i)  # type: ignore[operator, no-any-return]

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(call, range(count)))


class TestConcurrentPublish:
    def test_versions_are_contiguous(self, server: Server) -> None:
        with server.client() as http:
            assert http.post("/v1/prompts", json={"name": "race/p"}).status_code == 201

            def publish(i: int) -> httpx.Response:
                with server.client() as own:
                    return own.post(
                        "/v1/prompts/race/p/-/versions", json={"template": f"version from {i}"}
                    )

            responses = run_concurrently(CLIENTS, publish)
            assert [r.status_code for r in responses] == [201] * CLIENTS, [
                r.text for r in responses if r.status_code != 201
            ]
            numbers = sorted(r.json()["number"] for r in responses)
            assert numbers == list(range(1, CLIENTS + 1))
            listed = http.get("/v1/prompts/race/p/-/versions", params={"limit": 100}).json()
            assert sorted(v["number"] for v in listed["items"]) == numbers
            templates = {v["template"] for v in listed["items"]}
            assert templates == {f"version from {i}" for i in range(CLIENTS)}

    def test_identical_publishes_make_one_version(self, server: Server) -> None:
        with server.client() as http:
            http.post("/v1/prompts", json={"name": "race/same"})

            def publish(_: int) -> httpx.Response:
                with server.client() as own:
                    return own.post("/v1/prompts/race/same/-/versions", json={"template": "same"})

            responses = run_concurrently(CLIENTS, publish)
            statuses = sorted(r.status_code for r in responses)
            assert statuses == [200] * (CLIENTS - 1) + [201]
            assert {r.json()["number"] for r in responses} == {1}

    def test_label_moves_and_publishes_interleave(self, server: Server) -> None:
        with server.client() as http:
            http.post("/v1/prompts", json={"name": "race/labels"})
            for i in range(5):
                http.post("/v1/prompts/race/labels/-/versions", json={"template": f"v{i}"})

            def work(i: int) -> httpx.Response:
                with server.client() as own:
                    if i % 2:
                        return own.put(
                            "/v1/prompts/race/labels/-/labels/production",
                            json={"version": i % 5 + 1, "reason": f"mover {i}"},
                        )
                    return own.post(
                        "/v1/prompts/race/labels/-/versions", json={"template": f"new {i}"}
                    )

            responses = run_concurrently(CLIENTS, work)
            assert all(r.status_code in (200, 201) for r in responses), [
                r.text for r in responses if r.status_code >= 300
            ]
            label = http.get("/v1/prompts/race/labels/-/labels/production").json()
            history = label["history"]
            # Each recorded move starts where the previous one ended.
            for newer, older in itertools.pairwise(history):
                assert newer["from_version"] == older["to_version"]
            assert history[0]["to_version"] == label["version"]
            versions = http.get("/v1/prompts/race/labels/-/versions", params={"limit": 100})
            numbers = sorted(v["number"] for v in versions.json()["items"])
            assert numbers == list(range(1, 5 + CLIENTS // 2 + 1))
