"""Concurrent publishers and label movers through a real HTTP server."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from fastapi.testclient import TestClient

from conftest import admin_token, bearer, live_server

CLIENTS = 20
T = TypeVar("T")


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


def run_concurrently(count: int, task: Callable[[int], T]) -> list[T]:
    barrier = threading.Barrier(count)

    def call(i: int) -> T:
        barrier.wait()
        return task(i)

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


MIXED = "race/mixed"
MIXED_CLIENTS = 50
BASE_VERSIONS = 5
# Generous for a loaded 2-core machine, yet each request answers long before SQLite's
# 30 s busy timeout would turn waiting into a 503.
HTTP_TIMEOUT_S = 45


@dataclass(frozen=True)
class Plan:
    """What one of the fifty clients does: publish, or move a label (maybe with a stale ETag)."""

    owner: str
    role: str
    label: str | None = None
    target: int = 0
    stale: bool = False

    @property
    def reason(self) -> str:
        return f"move by {self.owner}"


@dataclass
class Outcome:
    plan: Plan
    key_id: int
    responses: list[httpx.Response]
    seen: int | None = None  # the label's version when the mover read it
    sent_etag: str | None = None
    target: int | None = None

    @property
    def final(self) -> httpx.Response:
        return self.responses[-1]


def mixed_plans() -> list[Plan]:
    """20 publishers and 30 movers (15 per label, 3 of those with a stale ETag), shuffled."""
    plans: list[Plan] = []
    for i in range(20):
        plans.append(Plan(f"publisher-{i}", "editor"))
    for label in ("staging", "production"):
        for i in range(15):
            plans.append(
                Plan(
                    f"mover-{label}-{i}",
                    "admin" if i % 4 == 0 else "reviewer",
                    label=label,
                    target=i % BASE_VERSIONS + 1,
                    stale=i % 5 == 4,
                )
            )
    random.Random(6).shuffle(plans)
    return plans


def audit_trail(http: httpx.Client, prompt: str) -> list[dict[str, Any]]:
    """Every audit event of ``prompt``, oldest first, read in pages of 20."""
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"prompt": prompt, "limit": 20}
        if cursor is not None:
            params["cursor"] = cursor
        response = http.get("/v1/audit", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        events.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            ids = [e["id"] for e in events]
            assert ids == sorted(set(ids), reverse=True), "pages overlap or are out of order"
            return events[::-1]


class TestFiftyPublishersAndMovers:
    """Fifty clients with keys of their own race on one prompt through the real server."""

    def test_everything_applied_or_refused_and_the_audit_says_exactly_what(
        self, server: Server
    ) -> None:
        base = f"/v1/prompts/{MIXED}"
        with httpx.Client(
            base_url=server.url, timeout=HTTP_TIMEOUT_S, headers=server.headers
        ) as http:

            def ok(response: httpx.Response) -> Any:
                assert response.status_code < 300, response.text
                return response.json()

            ok(http.post("/v1/prompts", json={"name": MIXED}))
            for n in range(1, BASE_VERSIONS + 1):
                ok(http.post(f"{base}/-/versions", json={"template": f"base {n}"}))
            stale: dict[str, str] = {}
            for label in ("staging", "production"):
                first = http.put(f"{base}/-/labels/{label}", json={"version": 1, "reason": "setup"})
                stale[label] = first.headers["ETag"]
                ok(http.put(f"{base}/-/labels/{label}", json={"version": 2, "reason": "setup"}))
            setup_events = {e["id"] for e in audit_trail(http, MIXED)}

            plans = mixed_plans()
            tokens: dict[str, tuple[str, int]] = {}
            for plan in plans:
                created = ok(http.post("/v1/keys", json={"owner": plan.owner, "role": plan.role}))
                tokens[plan.owner] = (created["token"], created["id"])

            def work(i: int) -> Outcome:
                plan = plans[i]
                token, key_id = tokens[plan.owner]
                outcome = Outcome(plan, key_id, [])
                with httpx.Client(
                    base_url=server.url, timeout=HTTP_TIMEOUT_S, headers=bearer(token)
                ) as own:
                    if plan.label is None:
                        outcome.responses.append(
                            own.post(
                                f"{base}/-/versions",
                                json={"template": f"published by {plan.owner}"},
                            )
                        )
                        return outcome
                    url = f"{base}/-/labels/{plan.label}"
                    if plan.stale:
                        outcome.sent_etag = stale[plan.label]
                        target = plan.target
                    else:
                        read = own.get(url)
                        outcome.responses.append(read)
                        if read.status_code != 200:
                            return outcome
                        outcome.sent_etag = read.headers["ETag"]
                        outcome.seen = read.json()["version"]
                        # Always somewhere else, so every applied move changes the label.
                        target = plan.target
                        if target == outcome.seen:
                            target = target % BASE_VERSIONS + 1
                    outcome.target = target
                    outcome.responses.append(
                        own.put(
                            url,
                            json={"version": target, "reason": plan.reason},
                            headers={"If-Match": outcome.sent_etag},
                        )
                    )
                return outcome

            started = time.monotonic()
            outcomes = run_concurrently(MIXED_CLIENTS, work)
            elapsed = time.monotonic() - started

            # No 5xx, not even on a read.
            failures = [
                (o.plan.owner, r.request.method, r.status_code, r.text)
                for o in outcomes
                for r in o.responses
                if r.status_code >= 500
            ]
            assert not failures, [f[:3] for f in failures]
            assert elapsed < HTTP_TIMEOUT_S, elapsed

            # Every publish created a version; the numbers follow on without a gap.
            publishes = [o for o in outcomes if o.plan.label is None]
            assert [o.final.status_code for o in publishes] == [201] * len(publishes), [
                o.final.text for o in publishes if o.final.status_code != 201
            ]
            published = {o.final.json()["number"]: o for o in publishes}
            first_new = BASE_VERSIONS + 1
            assert sorted(published) == list(range(first_new, first_new + len(publishes)))
            for o in published.values():
                assert o.final.json()["author"] == o.plan.owner
                assert o.final.json()["template"] == f"published by {o.plan.owner}"

            # Every move was applied (200) or refused (409/412); a stale ETag always 412.
            moves = [o for o in outcomes if o.plan.label is not None]
            for o in moves:
                assert all(r.status_code == 200 for r in o.responses[:-1]), o.responses[0].text
                assert o.final.request.method == "PUT"
                assert o.final.status_code in (200, 409, 412), o.final.text
                if o.final.status_code != 200:
                    assert o.final.headers["content-type"] == "application/problem+json"
            for o in moves:
                if o.plan.stale:
                    assert o.final.status_code == 412, o.final.text
            applied = [o for o in moves if o.final.status_code == 200]
            for o in applied:
                body = o.final.json()
                # An applied move changed the label: a new ETag, and its own event on top.
                assert o.final.headers["ETag"] != o.sent_etag
                assert body["version"] == o.target
                newest = body["history"][0]
                assert (newest["actor"], newest["reason"]) == (o.plan.owner, o.plan.reason)
                # The ETag matched, so the label was exactly where the mover saw it.
                assert (newest["from_version"], newest["to_version"]) == (o.seen, o.target)
            # The race is real: per label, some movers won and some lost.
            for label in ("staging", "production"):
                won = [o for o in applied if o.plan.label == label]
                lost = [o for o in moves if o.plan.label == label and o not in applied]
                assert won and lost, label

            # The labels' histories are exactly the setup moves plus the applied ones, each
            # starting where the previous one ended, and the labels sit where the last went.
            labels = {item["name"]: item for item in ok(http.get(f"{base}/-/labels"))}
            assert set(labels) == {"staging", "production"}
            for name, label in labels.items():
                history = list(reversed(label["history"]))  # oldest first
                for older, newer in itertools.pairwise(history):
                    assert newer["from_version"] == older["to_version"], (older, newer)
                assert history[-1]["to_version"] == label["version"]
                assert [(e["from_version"], e["to_version"]) for e in history[:2]] == [
                    (None, 1),
                    (1, 2),
                ]
                moved = sorted(
                    (e["actor"], e["reason"], e["from_version"], e["to_version"])
                    for e in history[2:]
                )
                expected = sorted(
                    (o.plan.owner, o.plan.reason, o.seen, o.target)
                    for o in applied
                    if o.plan.label == name
                )
                assert moved == expected, name
                single = ok(http.get(f"{base}/-/labels/{name}"))
                assert single["history"] == label["history"]
                assert single["version"] == label["version"]

            # The audit trail: one publish per 201, one move per applied move, by the key
            # that did it, nothing for a refused move; replayed in order it ends where the
            # labels are.
            events = [e for e in audit_trail(http, MIXED) if e["id"] not in setup_events]
            assert {e["action"] for e in events} <= {"version.publish", "label.move"}, events
            publish_events = sorted(
                (e["actor"], e["key_id"], e["target"], e["after"]["version"])
                for e in events
                if e["action"] == "version.publish"
            )
            assert publish_events == sorted(
                (o.plan.owner, o.key_id, f"{MIXED}@{n}", n) for n, o in published.items()
            )
            move_events = sorted(
                (
                    e["actor"],
                    e["key_id"],
                    e["target"],
                    e["before"]["version"],
                    e["after"]["version"],
                    e["after"]["reason"],
                )
                for e in events
                if e["action"] == "label.move"
            )
            assert move_events == sorted(
                (o.plan.owner, o.key_id, f"{MIXED}:{o.plan.label}", o.seen, o.target, o.plan.reason)
                for o in applied
            )
            state = {"staging": 2, "production": 2}
            latest = BASE_VERSIONS
            for event in events:
                if event["action"] == "version.publish":
                    latest += 1
                    assert event["after"]["version"] == latest
                else:
                    label_name = event["target"].split(":", 1)[1]
                    assert event["before"] == {"version": state[label_name]}, event
                    state[label_name] = event["after"]["version"]
            assert state == {name: label["version"] for name, label in labels.items()}
            assert latest == first_new + len(publishes) - 1


class TestKeyUseOfReads:
    def test_a_read_records_its_key_use_once_its_session_is_closed(
        self, committing_client: TestClient
    ) -> None:
        """The app as served: a read records the key's use in a commit of its own."""
        created = committing_client.post("/v1/keys", json={"owner": "reads", "role": "reader"})
        assert created.status_code == 201, created.text
        key = created.json()
        before = datetime.now(UTC) - timedelta(seconds=1)
        read = committing_client.get("/v1/prompts", headers=bearer(key["token"]))
        assert read.status_code == 200, read.text
        used = committing_client.get(f"/v1/keys/{key['id']}").json()["last_used_at"]
        assert used is not None
        assert before <= datetime.fromisoformat(used) <= datetime.now(UTC)
