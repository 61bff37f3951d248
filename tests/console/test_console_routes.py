"""Every console route asks for a signed-in viewer, except the few that sign one in.

The API's permission matrix (tests/access) covers the key-authenticated routes; the
console goes by its session cookie, so its own guard is here: a route added without
``ViewerDep`` fails this test, and none answers a browser that has not signed in.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from registry.console.auth import signed_in

# Routes that work before signing in: the form, the language switcher, the console's
# root (it leads to the prompt list, which asks to sign in) and unknown console paths.
OPEN = {
    ("GET", "/console"),
    ("GET", "/console/sign-in"),
    ("POST", "/console/sign-in"),
    ("POST", "/console/language"),
}
CATCH_ALL = "/console/{rest}"  # the path format of /console/{rest:path}


def console_routes(app: Any) -> list[tuple[str, str, APIRoute]]:
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path_format
        if not isinstance(route, APIRoute) or not path.startswith("/console"):
            continue
        for method in sorted(context.methods or ()):
            if method != "HEAD":
                found.append((method, path, route))
    return found


def needs_viewer(route: APIRoute) -> bool:
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call is signed_in:
            return True
        pending.extend(dependant.dependencies)
    return False


def test_every_console_route_asks_for_a_signed_in_viewer(console: TestClient) -> None:
    routes = console_routes(console.app)
    assert len(routes) >= 20, f"the walk found only {len(routes)} console routes"
    unguarded = [
        f"{method} {path}"
        for method, path, route in routes
        if (method, path) not in OPEN and path != CATCH_ALL and not needs_viewer(route)
    ]
    assert not unguarded, f"these console routes do not ask for ViewerDep: {unguarded}"


def test_no_console_page_answers_a_browser_that_has_not_signed_in(console: TestClient) -> None:
    console.cookies.clear()
    for method, path, _route in console_routes(console.app):
        if (method, path) in OPEN or path == CATCH_ALL:
            continue
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        answer = console.request(method, concrete, follow_redirects=False)
        # A page leads to the sign-in form; a form post without a session is refused.
        assert answer.status_code in (303, 401, 403), (method, path, answer.status_code)
        if answer.status_code == 303:
            assert answer.headers["location"].startswith("/console/sign-in"), (method, path)
