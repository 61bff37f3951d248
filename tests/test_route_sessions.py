"""Every route says whether its session writes: the type of its session parameter
(``ReadSession`` or ``WriteSession``), not its method or its address, decides whether
its transaction takes SQLite's write lock."""

from __future__ import annotations

from typing import Annotated, get_args, get_origin, get_type_hints

from fastapi.params import Depends
from fastapi.routing import APIRoute, iter_route_contexts

from registry.app import create_app
from registry.config import Settings
from registry.dependencies import SessionKind, declared_session, get_session


def takes_a_session(route: APIRoute) -> bool:
    for hint in get_type_hints(route.endpoint, include_extras=True).values():
        if get_origin(hint) is Annotated:
            for argument in get_args(hint)[1:]:
                if isinstance(argument, Depends) and argument.dependency is get_session:
                    return True
    return False


def test_every_endpoint_with_a_session_declares_its_kind() -> None:
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    routes = [c.route for c in iter_route_contexts(app.routes)]
    checked = 0
    for route in routes:
        if not isinstance(route, APIRoute) or not takes_a_session(route):
            continue
        kind = declared_session(route.endpoint)
        assert kind is not None, f"{route.path}: declare ReadSession or WriteSession"
        if (route.methods or set()) <= {"GET", "HEAD"}:
            assert kind is SessionKind.READ, f"{route.path} reads only: ReadSession"
        checked += 1
    assert checked > 80


def test_lint_and_preview_read_and_publish_writes() -> None:
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    kinds = {
        (method, c.route.path): declared_session(c.route.endpoint)
        for c in iter_route_contexts(app.routes)
        if isinstance(c.route, APIRoute)
        for method in c.route.methods or ()
    }
    assert kinds[("POST", "/v1/lint")] is SessionKind.READ
    assert kinds[("POST", "/prompts/{name:path}/-/preview")] is SessionKind.READ
    assert kinds[("POST", "/translate/{locale}/{name:path}/-/lint")] is SessionKind.READ
    assert kinds[("POST", "/v1/prompts/{name:path}/-/versions")] is SessionKind.WRITE
