"""Routes that check the request's API key in their own worker thread (registry.routing).

The check moved from a dependency of its own into the route's trip to the thread pool;
what it guarantees must not have moved with it: the key is looked up on every request
(a revoked key is refused on the next one), the role and folder are enforced before the
route's code runs, the principal is the actor of the request's audit events, and a
missing or malformed key is refused before anything else is looked at.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import anyio.to_thread
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry import dependencies
from registry.access import keys
from registry.access.roles import Permission, Principal
from registry.app import create_app
from registry.config import Settings
from registry.dependencies import (
    CHECKS_KEY_IN_ROUTE,
    ReadAccess,
    SessionDep,
    declared_permission,
    requires,
)
from registry.prompts import publish, service
from registry.routing import KeyCheckingRoute

from conftest import admin_token, bearer, new_token
from factories import make_prompt

PROBLEM = "application/problem+json"


def test_the_route_class_is_the_one_requires_recognises() -> None:
    assert getattr(KeyCheckingRoute, CHECKS_KEY_IN_ROUTE) is True


def test_every_route_that_takes_a_key_checks_it_in_its_own_thread() -> None:
    app = create_app(Settings(database_url="sqlite://"))
    keyed = {
        context.path_format: isinstance(context.original_route, KeyCheckingRoute)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and declared_permission(context.original_route) is not None
    }
    assert keyed["/v1/prompts/{name}/-/resolve"]
    assert len(keyed) > 30
    assert [path for path, checks in keyed.items() if not checks] == []


class Trips:
    """Numbers each trip to the thread pool, and records in which trip spied calls ran."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: dict[str, list[int | None]] = {}
        self._monkeypatch = monkeypatch
        self._running = threading.local()
        trips = itertools.count(1)
        real_run_sync = anyio.to_thread.run_sync
        running = self._running

        async def numbered(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            number = next(trips)

            def run(*inner: Any) -> Any:
                running.trip = number
                try:
                    return function(*inner)
                finally:
                    running.trip = None

            return await real_run_sync(run, *args, **kwargs)

        monkeypatch.setattr(anyio.to_thread, "run_sync", numbered)

    def spy(self, what: str, owner: object, attribute: str) -> None:
        function = getattr(owner, attribute)

        def called(*args: Any, **kwargs: Any) -> Any:
            self.seen.setdefault(what, []).append(getattr(self._running, "trip", None))
            return function(*args, **kwargs)

        self._monkeypatch.setattr(owner, attribute, called)


def test_resolve_checks_its_key_in_the_same_trip_to_the_thread_pool(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One trip for the key's check and the route's code, not one each."""
    name = make_prompt(session)
    trips = Trips(monkeypatch)
    trips.spy("key", keys, "check_token")
    trips.spy("resolve", service, "resolve_for")
    response = client.get(f"/v1/prompts/{name}/-/resolve", params={"label": "production"})
    assert response.status_code == 200, response.text
    assert trips.seen["key"][-1] is not None
    assert trips.seen["key"][-1] == trips.seen["resolve"][-1]


def test_a_write_commits_in_the_routes_own_trip_to_the_thread_pool(
    committing_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key's check, the route's code and the commit: one trip, not two."""
    committing_client.post("/v1/prompts", json={"name": "trips/p"})
    trips = Trips(monkeypatch)
    trips.spy("key", keys, "check_token")
    trips.spy("publish", publish, "publish_version")
    trips.spy("commit", dependencies, "_finish")
    body = {"template": "Hello {{ who }}", "variables": [{"name": "who"}]}
    response = committing_client.post("/v1/prompts/trips/p/-/versions", json=body)
    assert response.status_code == 201, response.text
    assert trips.seen["key"] == trips.seen["publish"] == trips.seen["commit"]
    assert trips.seen["commit"][0] is not None
    assert committing_client.get("/v1/prompts/trips/p/-/versions/1").status_code == 200


def test_a_revoked_key_is_refused_on_its_next_request(committing_client: TestClient) -> None:
    created = committing_client.post("/v1/keys", json={"owner": "app", "role": "reader"})
    assert created.status_code == 201, created.text
    headers = bearer(created.json()["token"])
    assert committing_client.get("/v1/prompts", headers=headers).status_code == 200
    revoked = committing_client.delete(f"/v1/keys/{created.json()['id']}")
    assert revoked.status_code == 200, revoked.text
    refused = committing_client.get("/v1/prompts", headers=headers)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]


def test_role_and_folder_are_enforced_before_the_route_runs(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = make_prompt(session, name="team-a/greeting")
    ran: list[str] = []
    real_resolve = service.resolve_for

    def resolve(*args: Any, **kwargs: Any) -> Any:
        ran.append("resolve")
        return real_resolve(*args, **kwargs)

    monkeypatch.setattr(service, "resolve_for", resolve)
    outside = bearer(new_token(session, "reader", folder="team-b"))
    refused = client.get(f"/v1/prompts/{name}/-/resolve", headers=outside)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM
    assert ran == []
    reader = bearer(new_token(session, "reader"))
    publish = {"template": "Hi {{ who }}", "variables": [{"name": "who", "type": "string"}]}
    denied = client.post(f"/v1/prompts/{name}/-/versions", json=publish, headers=reader)
    assert denied.status_code == 403
    assert client.get(f"/v1/prompts/{name}/-/resolve", headers=reader).status_code == 200
    assert ran == ["resolve"]


def test_the_key_is_the_actor_of_the_routes_writes(client: TestClient, session: Session) -> None:
    editor = bearer(new_token(session, "editor", owner="ed"))
    created = client.post("/v1/prompts", json={"name": "actors/one"}, headers=editor)
    assert created.status_code == 201, created.text
    events = client.get("/v1/audit", params={"prompt": "actors/one"}).json()["items"]
    assert [(e["action"], e["actor"]) for e in events] == [("prompt.create", "ed")]


def test_a_missing_or_malformed_key_is_refused_before_the_input_is_read(
    client: TestClient,
) -> None:
    invalid = {"name": "NOT A NAME", "unknown": 1}
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer not-a-key"}):
        response = client.post("/v1/prompts", json=invalid, headers=headers)
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == PROBLEM


def test_a_well_formed_unknown_key_is_checked_after_the_input(client: TestClient) -> None:
    """The documented order: the input is validated, then the key is looked up."""
    unknown = {"Authorization": "Bearer rk_nosuchkey_secret"}
    invalid = client.post("/v1/prompts", json={"name": "NOT A NAME"}, headers=unknown)
    assert invalid.status_code == 422
    valid = client.post("/v1/prompts", json={"name": "fine/name"}, headers=unknown)
    assert valid.status_code == 401
    assert "not known" in valid.json()["detail"]


@pytest.fixture
def plain_route_app(migrated_url: str) -> Iterator[tuple[TestClient, str]]:
    """The registry with one more route on a plain APIRouter: it checks in a thread of
    its own, as every route did before."""
    app = create_app(Settings(database_url=migrated_url))
    plain = APIRouter()

    @plain.get("/plain/whoami")
    def whoami(
        session: SessionDep,
        principal: Annotated[Principal, requires(Permission.READ)],
    ) -> dict[str, Any]:
        return {"owner": principal.owner, "type": type(principal).__name__}

    app.include_router(plain)
    token = admin_token(migrated_url)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client, token


def test_a_route_of_another_class_gets_the_principal_checked(
    plain_route_app: tuple[TestClient, str],
) -> None:
    test_client, token = plain_route_app
    answer = test_client.get("/plain/whoami", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"owner": "admin", "type": "Principal"}
    unknown = test_client.get("/plain/whoami", headers=bearer("rk_nosuchkey_secret"))
    assert unknown.status_code == 401
    assert test_client.get("/plain/whoami").status_code == 401


def test_an_async_route_checks_before_its_code(migrated_url: str) -> None:
    app: FastAPI = create_app(Settings(database_url=migrated_url))
    router = APIRouter(route_class=KeyCheckingRoute)
    ran: list[str] = []

    @router.get("/async/whoami")
    async def whoami(principal: ReadAccess) -> dict[str, str]:
        ran.append(principal.owner)
        return {"owner": principal.owner}

    app.include_router(router)
    token = admin_token(migrated_url)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        assert test_client.get("/async/whoami", headers=bearer(token)).json() == {"owner": "admin"}
        refused = test_client.get("/async/whoami", headers=bearer("rk_nosuchkey_secret"))
        assert refused.status_code == 401
    assert ran == ["admin"]


def test_an_access_declared_by_a_sub_dependency_is_refused_at_start_up() -> None:
    def helper(_: ReadAccess) -> int:
        return 1

    router = APIRouter(route_class=KeyCheckingRoute)
    with pytest.raises(TypeError, match="endpoint itself"):

        @router.get("/nested")
        def nested(value: int = Depends(helper)) -> int:
            return value
