"""Every endpoint, every role, in and out of a key's folder, and without a key.

The walk starts from the app's own routes: an endpoint that declares no permission
fails, and so does one without an entry in ``MATRIX`` (add one: a request that succeeds
for a key allowed to make it). Each request runs in a savepoint that is rolled back, so
every key meets the same registry and an allowed request must really succeed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from registry.access.roles import GRANTS, Permission, Role
from registry.app import create_app
from registry.config import Settings
from registry.dependencies import PublishAccess, requires
from registry.translations import po

try:  # Newer FastAPI keeps included routers as branches of ``app.routes``.
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - older FastAPI: app.routes is flat
    iter_route_contexts = None

PROBLEM = "application/problem+json"
PO_TYPE = {"content-type": "text/x-gettext-translation"}
WHO = [{"name": "who", "type": "string"}]
SOURCE_V1 = "Thank you for your order, {{ who }}."
SOURCE_V2 = "Thank you very much for your order, {{ who }}."
FRENCH = "Merci beaucoup pour votre commande, {{ who }}."
GERMAN = "Vielen Dank für Ihre Bestellung, {{ who }}."
FRENCH_NEW = "Merci infiniment pour votre commande, {{ who }}."
GERMAN_NEW = "Herzlichen Dank für Ihre Bestellung, {{ who }}."
SPANISH = "Muchas gracias por su pedido, {{ who }}."
GUIDE = "name: matrix\nextends: default\n"
VARS: dict[str, Any] = {"variables": WHO}

# Answered without a key: probes, and the API's own description.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    # Route templates, statuses and timings; REGISTRY_METRICS_REQUIRE_KEY closes it.
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("*", "/docs/assets"),  # Swagger UI's and ReDoc's own files
    ("GET", "/redoc"),
    ("GET", "/"),  # leads to the console
}
# The web console signs people in with a key once and then goes by its session cookie;
# tests/console checks what each role may see and do there.
CONSOLE = "/console"
FOLDER = "matrix/"
# A prompt outside the keys' folder that ``World.leaky`` includes: nothing of it may reach
# a key limited to FOLDER.
SECRET = "elsewhere/secret"
SECRET_TEXT = "CONFIDENTIAL-OUTSIDE terms for {{ who }}."
SECRET_MARK = "CONFIDENTIAL-OUTSIDE"


# ---------------------------------------------------------------- the app's routes


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    api: bool
    permission: Permission | None


def declared_permissions(dependant: Dependant) -> Iterator[Permission]:
    """The permissions of every ``requires(...)`` among a route's dependencies."""
    for dependency in dependant.dependencies:
        permission = getattr(dependency.call, "permission", None)
        if permission is not None:
            yield Permission(permission)
        yield from declared_permissions(dependency)


def declared_permission(dependant: Dependant) -> Permission | None:
    """What a route needs: the strongest permission it declares, None if it declares none."""
    order = list(Permission)
    return max(declared_permissions(dependant), key=order.index, default=None)


def endpoints(app: Any) -> list[Endpoint]:
    """Every (method, path) the app answers, with the permission its route declares."""
    routes: Iterator[Any] = (
        iter_route_contexts(app.routes) if iter_route_contexts is not None else iter(app.routes)
    )
    found = []
    for route in routes:
        if route.path == CONSOLE or route.path.startswith(CONSOLE + "/"):
            continue
        original = getattr(route, "original_route", route)
        api = isinstance(original, APIRoute)
        permission = declared_permission(route.dependant) if api else None
        # A mount or a websocket route answers without methods: "*" stands for all.
        for method in sorted(getattr(route, "methods", None) or {"*"}):
            if method == "HEAD":
                continue
            found.append(Endpoint(method, route.path, api, permission))
    return found


@pytest.fixture(scope="module")
def app_endpoints() -> list[Endpoint]:
    # Routes only: the database is never opened.
    return endpoints(create_app(Settings(database_url="sqlite:///:memory:")))


# ---------------------------------------------------------------- what each request needs


@dataclass(frozen=True)
class Target:
    """The objects a request names: under the key's folder, or elsewhere."""

    folder: str
    name: str
    experiment: int
    promote_arm: str
    po: dict[str, bytes]


@dataclass
class World:
    inside: Target
    outside: Target
    # In the keys' folder, but including a prompt outside it.
    leaky: Target
    spare_key: int
    backup: dict[str, Any]
    webhook: int = 0
    delivery: int = 0


@dataclass(frozen=True)
class Req:
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


Build = Callable[[World, Target], Req]


@dataclass(frozen=True)
class Case:
    """One way to call an endpoint, and what a key needs for it.

    ``scoped``: the request names a prompt (the target's), so a folder key outside it is
    refused. ``hidden``: what a folder key outside it gets instead of a 403, where the
    request names an object by id (an experiment) or a path, so that an answer never
    tells whether something outside the key's folders exists. ``locale``: a
    translator's key must list it. ``ok``: the answers of an allowed request.
    """

    needs: Permission
    build: Build
    scoped: bool = True
    hidden: int | None = None
    locale: str | None = None
    ok: frozenset[int] = frozenset({200})
    label: str = ""


def case(needs: Permission, build: Build, **kwargs: Any) -> Case:
    ok = kwargs.pop("ok", 200)
    ok = frozenset({ok} if isinstance(ok, int) else ok)
    return Case(needs, build, ok=ok, **kwargs)


R, T, P, V, A = (
    Permission.READ,
    Permission.TRANSLATE,
    Permission.PUBLISH,
    Permission.REVIEW,
    Permission.ADMIN,
)
PROMPTS = "/v1/prompts/{name:path}"
EXPERIMENT = "/v1/experiments/{experiment_id}"


def p(t: Target, rest: str = "") -> str:
    return f"/v1/prompts/{t.name}{rest}"


MATRIX: dict[tuple[str, str], list[Case]] = {
    # prompts
    ("POST", "/v1/prompts"): [
        case(P, lambda w, t: Req("/v1/prompts", json={"name": f"{t.folder}new"}), ok=201)
    ],
    ("GET", "/v1/prompts"): [
        case(R, lambda w, t: Req("/v1/prompts", params={"prefix": t.folder}), scoped=False)
    ],
    ("GET", PROMPTS): [case(R, lambda w, t: Req(p(t)))],
    ("PATCH", PROMPTS): [case(P, lambda w, t: Req(p(t), json={"description": "changed"}))],
    ("POST", PROMPTS + "/-/archive"): [case(P, lambda w, t: Req(p(t, "/-/archive")))],
    ("POST", PROMPTS + "/-/restore"): [case(P, lambda w, t: Req(p(t, "/-/restore")))],
    ("POST", PROMPTS + "/-/versions"): [
        case(
            P,
            lambda w, t: Req(p(t, "/-/versions"), json={"template": "New, {{ who }}"} | VARS),
            ok=201,
        ),
        case(
            P,
            lambda w, t: Req(
                p(t, "/-/versions"),
                json={"template": "New, {{ who }}", "labels": ["staging"]} | VARS,
            ),
            ok=201,
            label="labels: staging",
        ),
        case(
            V,
            lambda w, t: Req(
                p(t, "/-/versions"),
                json={"template": "New, {{ who }}", "labels": ["production"]} | VARS,
            ),
            ok=201,
            label="labels: production",
        ),
    ],
    ("GET", PROMPTS + "/-/versions"): [case(R, lambda w, t: Req(p(t, "/-/versions")))],
    ("GET", PROMPTS + "/-/versions/{number}"): [case(R, lambda w, t: Req(p(t, "/-/versions/2")))],
    ("GET", PROMPTS + "/-/diff"): [
        case(R, lambda w, t: Req(p(t, "/-/diff"), params={"from": 1, "to": 2}))
    ],
    ("GET", PROMPTS + "/-/labels"): [case(R, lambda w, t: Req(p(t, "/-/labels")))],
    ("GET", PROMPTS + "/-/labels/{label}"): [case(R, lambda w, t: Req(p(t, "/-/labels/staging")))],
    ("PUT", PROMPTS + "/-/labels/{label}"): [
        case(P, lambda w, t: Req(p(t, "/-/labels/staging"), json={"version": 2}), label="staging"),
        case(
            V,
            lambda w, t: Req(p(t, "/-/labels/production"), json={"version": 2}),
            label="production",
        ),
    ],
    ("GET", PROMPTS + "/-/resolve"): [case(R, lambda w, t: Req(p(t, "/-/resolve")))],
    ("POST", PROMPTS + "/-/render"): [
        case(R, lambda w, t: Req(p(t, "/-/render"), json={"variables": {"who": "Ada"}}))
    ],
    # translations
    ("GET", PROMPTS + "/-/translations"): [case(R, lambda w, t: Req(p(t, "/-/translations")))],
    ("GET", PROMPTS + "/-/translations/{locale}"): [
        case(R, lambda w, t: Req(p(t, "/-/translations/fr")))
    ],
    ("PUT", PROMPTS + "/-/translations/{locale}"): [
        case(
            T,
            lambda w, t: Req(p(t, "/-/translations/fr"), json={"template": FRENCH_NEW}),
            locale="fr",
            label="fr",
        ),
        case(
            T,
            lambda w, t: Req(p(t, "/-/translations/de"), json={"template": GERMAN_NEW}),
            locale="de",
            label="de",
        ),
    ],
    ("POST", PROMPTS + "/-/translations/{locale}/review"): [
        case(
            T,
            lambda w, t: Req(p(t, "/-/translations/fr/review"), json={"action": "submit"}),
            locale="fr",
            label="fr submit",
        ),
        case(
            T,
            lambda w, t: Req(p(t, "/-/translations/de/review"), json={"action": "submit"}),
            locale="de",
            label="de submit",
        ),
        case(
            V,
            lambda w, t: Req(p(t, "/-/translations/fr/review"), json={"action": "approve"}),
            locale="fr",
            label="fr approve",
        ),
        case(
            V,
            lambda w, t: Req(p(t, "/-/translations/fr/review"), json={"action": "reject"}),
            locale="fr",
            label="fr reject",
        ),
    ],
    ("DELETE", PROMPTS + "/-/translations/{locale}"): [
        case(T, lambda w, t: Req(p(t, "/-/translations/fr")), locale="fr", ok=204, label="draft"),
        # Approved text is served: only the role that approves withdraws it.
        case(
            V, lambda w, t: Req(p(t, "/-/translations/es")), locale="es", ok=204, label="approved"
        ),
    ],
    ("POST", "/v1/translations/review"): [
        case(
            T,
            lambda w, t: Req(
                "/v1/translations/review",
                json={"action": "submit", "locale": "fr", "prompts": [t.name]},
            ),
            locale="fr",
            label="fr submit",
        ),
        case(
            T,
            lambda w, t: Req(
                "/v1/translations/review",
                json={"action": "submit", "locale": "de", "prompts": [t.name]},
            ),
            locale="de",
            label="de submit",
        ),
        case(
            V,
            lambda w, t: Req(
                "/v1/translations/review",
                json={"action": "approve", "locale": "fr", "prompts": [t.name]},
            ),
            locale="fr",
            label="fr approve",
        ),
    ],
    ("GET", "/v1/translations/queue"): [
        case(
            R,
            lambda w, t: Req("/v1/translations/queue", params={"locale": "fr", "prefix": t.folder}),
            scoped=False,
        ),
        case(
            R,
            lambda w, t: Req("/v1/translations/queue", params={"prefix": t.folder}),
            scoped=False,
            label="every locale",
        ),
    ],
    ("GET", "/v1/translations/export"): [
        case(
            R,
            lambda w, t: Req(
                "/v1/translations/export", params={"locale": "fr", "prefix": t.folder}
            ),
            scoped=False,
        )
    ],
    ("POST", "/v1/translations/import"): [
        case(
            T,
            lambda w, t: Req("/v1/translations/import", content=t.po["fr"], headers=PO_TYPE),
            locale="fr",
            label="fr",
        ),
        case(
            T,
            lambda w, t: Req("/v1/translations/import", content=t.po["de"], headers=PO_TYPE),
            locale="de",
            label="de",
        ),
    ],
    # experiments
    ("POST", PROMPTS + "/-/experiments"): [
        case(
            P,
            lambda w, t: Req(p(t, "/-/experiments"), json=experiment_body("canary")),
            ok=201,
            label="on canary",
        ),
        case(
            V,
            lambda w, t: Req(p(t, "/-/experiments"), json=experiment_body("production")),
            ok=201,
            label="on production",
        ),
    ],
    ("GET", PROMPTS + "/-/experiments"): [case(R, lambda w, t: Req(p(t, "/-/experiments")))],
    ("GET", "/v1/experiments"): [case(R, lambda w, t: Req("/v1/experiments"), scoped=False)],
    ("GET", EXPERIMENT): [case(R, lambda w, t: Req(f"/v1/experiments/{t.experiment}"), hidden=404)],
    ("PATCH", EXPERIMENT): [
        case(
            P,
            lambda w, t: Req(f"/v1/experiments/{t.experiment}", json={"description": "matrix"}),
            hidden=404,
        )
    ],
    ("GET", EXPERIMENT + "/results"): [
        case(R, lambda w, t: Req(f"/v1/experiments/{t.experiment}/results"), hidden=404)
    ],
    ("POST", EXPERIMENT + "/stop"): [
        case(
            P,
            lambda w, t: Req(f"/v1/experiments/{t.experiment}/stop", json={"reason": "done"}),
            hidden=404,
        )
    ],
    ("POST", EXPERIMENT + "/promote"): [
        case(
            P,
            lambda w, t: Req(
                f"/v1/experiments/{t.experiment}/promote", json={"arm": t.promote_arm}
            ),
            hidden=404,
        )
    ],
    ("POST", "/v1/experiments/feedback"): [
        case(
            R,
            lambda w, t: Req(
                "/v1/experiments/feedback",
                json={"experiment": t.experiment, "subject": "s-1", "value": True},
            ),
            hidden=404,
        )
    ],
    ("POST", "/v1/experiments/exposures"): [
        case(
            R,
            lambda w, t: Req(
                "/v1/experiments/exposures",
                json={"exposures": [{"experiment": t.experiment, "subject": "s-2"}]},
            ),
            # Ignored, as an unknown experiment's are.
            hidden=200,
        )
    ],
    # style
    ("POST", "/v1/lint"): [
        case(
            R,
            lambda w, t: Req("/v1/lint", json={"template": "Hello {{ who }}"} | VARS),
            scoped=False,
        )
    ],
    ("GET", "/v1/style-guides"): [case(R, lambda w, t: Req("/v1/style-guides"), scoped=False)],
    ("GET", "/v1/style-guides/{guide}"): [
        case(R, lambda w, t: Req("/v1/style-guides/matrix"), scoped=False)
    ],
    ("PUT", "/v1/style-guides/{guide}"): [
        case(
            A,
            lambda w, t: Req("/v1/style-guides/matrix-new", json={"source": GUIDE}),
            scoped=False,
            ok={200, 201},
        )
    ],
    ("GET", "/v1/style-bindings"): [case(R, lambda w, t: Req("/v1/style-bindings"), scoped=False)],
    ("PUT", "/v1/style-bindings/{folder:path}"): [
        case(
            A,
            lambda w, t: Req("/v1/style-bindings/unbound", json={"guide": "matrix"}),
            scoped=False,
            ok={200, 201},
        )
    ],
    ("DELETE", "/v1/style-bindings/{folder:path}"): [
        case(A, lambda w, t: Req("/v1/style-bindings/bound"), scoped=False, ok=204)
    ],
    # backup
    ("GET", "/v1/admin/export"): [case(A, lambda w, t: Req("/v1/admin/export"), scoped=False)],
    ("POST", "/v1/admin/import"): [
        # The registry is not empty: the operation itself refuses, after the key passed.
        case(A, lambda w, t: Req("/v1/admin/import", json=w.backup), scoped=False, ok=409)
    ],
    # keys, label policies, audit
    ("POST", "/v1/keys"): [
        case(
            A,
            lambda w, t: Req("/v1/keys", json={"owner": "matrix-new", "role": "reader"}),
            scoped=False,
            ok=201,
        )
    ],
    ("GET", "/v1/keys"): [case(A, lambda w, t: Req("/v1/keys"), scoped=False)],
    ("GET", "/v1/keys/{key}"): [case(A, lambda w, t: Req(f"/v1/keys/{w.spare_key}"), scoped=False)],
    ("DELETE", "/v1/keys/{key}"): [
        case(A, lambda w, t: Req(f"/v1/keys/{w.spare_key}"), scoped=False)
    ],
    ("GET", "/v1/label-policies"): [case(R, lambda w, t: Req("/v1/label-policies"), scoped=False)],
    ("GET", "/v1/label-policies/{path:path}"): [
        case(R, lambda w, t: Req(f"/v1/label-policies/{t.folder}"), hidden=404)
    ],
    ("PUT", "/v1/label-policies/{path:path}"): [
        case(
            A,
            lambda w, t: Req("/v1/label-policies/unpolicied/", json={"protected": ["live"]}),
            scoped=False,
        )
    ],
    ("DELETE", "/v1/label-policies/{path:path}"): [
        case(A, lambda w, t: Req("/v1/label-policies/policied/"), scoped=False, ok=204)
    ],
    ("GET", "/v1/audit"): [case(A, lambda w, t: Req("/v1/audit"), scoped=False)],
    # webhooks
    ("POST", "/v1/webhooks"): [
        case(A, lambda w, t: Req("/v1/webhooks", json={"url": HOOK}), scoped=False, ok=201)
    ],
    ("GET", "/v1/webhooks"): [case(A, lambda w, t: Req("/v1/webhooks"), scoped=False)],
    ("GET", "/v1/webhooks/{subscription_id}"): [
        case(A, lambda w, t: Req(f"/v1/webhooks/{w.webhook}"), scoped=False)
    ],
    ("PATCH", "/v1/webhooks/{subscription_id}"): [
        case(A, lambda w, t: Req(f"/v1/webhooks/{w.webhook}", json={"active": False}), scoped=False)
    ],
    ("DELETE", "/v1/webhooks/{subscription_id}"): [
        case(A, lambda w, t: Req(f"/v1/webhooks/{w.webhook}"), scoped=False, ok=204)
    ],
    ("GET", "/v1/webhooks/{subscription_id}/deliveries"): [
        case(A, lambda w, t: Req(f"/v1/webhooks/{w.webhook}/deliveries"), scoped=False)
    ],
    ("POST", "/v1/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver"): [
        case(
            A,
            lambda w, t: Req(f"/v1/webhooks/{w.webhook}/deliveries/{w.delivery}/redeliver"),
            scoped=False,
            ok=202,
        )
    ],
}
HOOK = "https://hooks.example.com/matrix"


def experiment_body(label: str) -> dict[str, Any]:
    return {
        "name": "matrix-try",
        "label": label,
        "arms": [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}],
    }


# ---------------------------------------------------------------- the registry they meet


def filled_po(client: TestClient, folder: str, locale: str, text: str) -> bytes:
    """The folder's PO file for ``locale`` as a translator returns it."""
    response = client.get(
        "/v1/translations/export",
        params={"locale": locale, "prefix": folder, "include_approved": True},
    )
    assert response.status_code == 200, response.text
    parsed = po.read_po(response.content)
    assert parsed.entries and parsed.locale and parsed.registry_id
    entries = [
        po.PoEntry(context=e.context, source=e.source, translation=head(e.source) + text + "!")
        for e in parsed.entries
    ]
    return po.write_po(entries, locale=parsed.locale, registry_id=parsed.registry_id)


def head(source: str) -> str:
    """The include a source text starts with, which its translation keeps."""
    first, _, _rest = source.partition("\n")
    return first + "\n" if first.startswith("{% include") else ""


def ok(response: Any, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 201)), response.text
    return response.json() if response.content else None


def make_target(
    client: TestClient, folder: str, *, name: str | None = None, include: str | None = None
) -> Target:
    """A prompt with two versions, labels, translations and a running experiment; its
    texts start by including ``include`` if given."""
    name = name or f"{folder}p"
    head = f'{{% include "{include}" %}}\n' if include else ""
    ok(client.post("/v1/prompts", json={"name": name}))
    ok(client.post(p_(name, "/-/versions"), json={"template": head + SOURCE_V1, **VARS}))
    ok(client.post(p_(name, "/-/versions"), json={"template": head + SOURCE_V2, **VARS}))
    for label in ("production", "staging", "canary", "trial"):
        ok(client.put(p_(name, f"/-/labels/{label}"), json={"version": 1}))
    for locale, text in (("fr", FRENCH), ("de", GERMAN), ("es", SPANISH)):
        ok(client.put(p_(name, f"/-/translations/{locale}"), json={"template": head + text}))
    ok(client.post(p_(name, "/-/translations/es/review"), json={"action": "approve"}))
    experiment = ok(
        client.post(
            p_(name, "/-/experiments"),
            json={**experiment_body("trial"), "name": "running"},
        )
    )
    po_files = {
        locale: filled_po(client, name, locale, text)
        for locale, text in (("fr", FRENCH), ("de", GERMAN))
    }
    return Target(
        folder=folder,
        name=name,
        experiment=experiment["id"],
        promote_arm=experiment["arms"][1]["name"],
        po=po_files,
    )


def p_(name: str, rest: str = "") -> str:
    return f"/v1/prompts/{name}{rest}"


@pytest.fixture
def world(client: TestClient) -> World:
    webhook = ok(client.post("/v1/webhooks", json={"url": HOOK}))["id"]
    inside = make_target(client, FOLDER)
    outside = make_target(client, "elsewhere/")
    ok(client.post("/v1/prompts", json={"name": SECRET}))
    ok(client.post(p_(SECRET, "/-/versions"), json={"template": SECRET_TEXT, **VARS}))
    ok(client.put(p_(SECRET, "/-/labels/production"), json={"version": 1}))
    ok(client.put(p_(SECRET, "/-/translations/fr"), json={"template": SECRET_TEXT + " (fr)"}))
    leaky = make_target(client, FOLDER, name=f"{FOLDER}leaky", include=f"{SECRET}@production")
    for folder in (FOLDER, "elsewhere/"):
        ok(client.put(f"/v1/label-policies/{folder}", json={"protected": ["production"]}))
    ok(client.put("/v1/style-guides/matrix", json={"source": GUIDE}))
    ok(client.put("/v1/style-bindings/bound", json={"guide": "matrix"}))
    ok(client.put("/v1/label-policies/policied/", json={"protected": ["live"]}))
    spare = ok(client.post("/v1/keys", json={"owner": "spare", "role": "reader"}))
    backup = client.get("/v1/admin/export")
    assert backup.status_code == 200, backup.text
    delivery = ok(client.get(f"/v1/webhooks/{webhook}/deliveries"))["items"][0]["id"]
    return World(
        inside=inside,
        outside=outside,
        leaky=leaky,
        spare_key=spare["id"],
        backup=backup.json(),
        webhook=webhook,
        delivery=delivery,
    )


# ---------------------------------------------------------------- keys


@dataclass(frozen=True)
class Caller:
    role: Role
    headers: dict[str, str]
    folder: str | None
    locales: tuple[str, ...]

    def refusals(self, c: Case, target: Target) -> set[str]:
        """Why this key may not make the request (keys of ``REASONS``); empty if it may.

        Several reasons may apply; the refusal names one of them.
        """
        why = set()
        if c.needs not in GRANTS[self.role]:
            why.add("role")
        if c.scoped and self.folder is not None and not target.name.startswith(self.folder):
            why.add("folder")
        if c.locale and self.role is Role.TRANSLATOR and c.locale not in self.locales:
            why.add("locale")
        return why


# What a 403 says for each reason.
REASONS = {
    "role": ("it needs the", "is protected; only reviewers and admins"),
    "folder": ("limited to the folder",),
    "locale": ("may translate only into",),
}


@pytest.fixture
def callers(make_key: Callable[..., dict[str, str]]) -> list[Caller]:
    """A key of every role limited to ``matrix/``, and an admin key (which cannot be)."""
    made = []
    for role in Role:
        folder = None if role is Role.ADMIN else FOLDER
        locales = ("fr",) if role is Role.TRANSLATOR else ()
        headers = make_key(role.value, owner=f"matrix-{role.value}", folder=folder, locales=locales)
        made.append(Caller(role, headers, folder, locales))
    return made


def send(client: TestClient, method: str, req: Req, headers: dict[str, str] | None) -> Any:
    """The request with ``headers``'s key, or with no Authorization header at all."""
    request = client.build_request(
        method,
        req.path,
        params=req.params,
        json=req.json,
        content=req.content,
        headers={**req.headers, **(headers or {})},
    )
    if headers is None:
        del request.headers["Authorization"]
    return client.send(request)


def rolled_back(
    session: Session, client: TestClient, method: str, req: Req, headers: dict[str, str] | None
) -> Any:
    """The answer to the request, whose writes are undone afterwards."""
    savepoint = session.begin_nested()
    try:
        return send(client, method, req, headers)
    finally:
        savepoint.rollback()


# ---------------------------------------------------------------- the tests


def test_every_route_declares_a_permission(app_endpoints: list[Endpoint]) -> None:
    api = [e for e in app_endpoints if e.api]
    assert len(api) >= 50, f"the walk found only {len(api)} API routes: {api}"
    undeclared = [
        f"{e.method} {e.path}"
        for e in app_endpoints
        if (e.method, e.path) not in PUBLIC and e.permission is None
    ]
    assert not undeclared, (
        "these routes declare no permission; add ReadAccess, PublishAccess, … "
        f"(registry/dependencies.py): {undeclared}"
    )
    for e in app_endpoints:
        if (e.method, e.path) in PUBLIC:
            assert e.permission is None, f"{e.method} {e.path} is public but asks for a key"


def test_the_walk_sees_what_a_new_route_declares() -> None:
    """Routes added directly, through routers, nested routers and router dependencies."""
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    bare, inner, outer = APIRouter(), APIRouter(), APIRouter(prefix="/v1/outer")
    guarded = APIRouter(prefix="/v1/guarded", dependencies=[requires(Permission.ADMIN)])

    @bare.post("/v1/bare")
    def bare_route() -> None: ...

    @guarded.get("/thing")
    def guarded_route() -> None: ...

    @inner.put("/nested")
    def nested_route(_: PublishAccess) -> None: ...

    @app.delete("/v1/direct")
    def direct_route() -> None: ...

    async def raw(request: Any) -> Any: ...

    outer.include_router(inner)
    for router in (bare, guarded, outer):
        app.include_router(router)
    app.add_route("/v1/raw", raw, methods=["GET"])
    app.mount("/v1/mounted", Starlette())
    found = {(e.method, e.path): e.permission for e in endpoints(app)}
    assert found[("POST", "/v1/bare")] is None
    assert found[("GET", "/v1/guarded/thing")] is Permission.ADMIN
    assert found[("PUT", "/v1/outer/nested")] is Permission.PUBLISH
    assert found[("DELETE", "/v1/direct")] is None
    assert found[("GET", "/v1/raw")] is None
    assert found[("*", "/v1/mounted")] is None
    assert found[("GET", "/v1/prompts")] is Permission.READ


def test_every_route_has_a_matrix_entry(app_endpoints: list[Endpoint]) -> None:
    routes = {(e.method, e.path) for e in app_endpoints} - PUBLIC
    missing = sorted(routes - MATRIX.keys())
    assert not missing, (
        "add these routes to MATRIX in tests/access/test_permission_matrix.py, with a request "
        f"that succeeds for a key allowed to make it: {missing}"
    )
    stale = sorted(MATRIX.keys() - routes)
    assert not stale, f"MATRIX names routes the app no longer has: {stale}"
    order = list(Permission)
    for e in app_endpoints:
        if (e.method, e.path) in MATRIX:
            # The route's own permission is the least that any way of calling it needs.
            least = min((c.needs for c in MATRIX[(e.method, e.path)]), key=order.index)
            assert e.permission is least, (
                f"{e.method} {e.path} declares {e.permission}, the matrix expects {least}"
            )


def test_public_routes_need_no_key(client: TestClient) -> None:
    for method, path in sorted(PUBLIC):
        if method == "*":  # a folder of files: one of them
            method, path = "GET", f"{path}/swagger-ui.css"
        response = send(client, method, Req(path), None)
        assert response.status_code == 200, (method, path, response.text)


def test_matrix(client: TestClient, session: Session, world: World, callers: list[Caller]) -> None:
    failures: list[str] = []
    checked = 0
    for (method, path), cases in MATRIX.items():
        for c in cases:
            what = f"{method} {path}" + (f" [{c.label}]" if c.label else "")
            # Without a key: 401 everywhere, before anything else is looked at.
            req = c.build(world, world.inside)
            response = rolled_back(session, client, method, req, None)
            checked += 1
            if (
                response.status_code != 401
                or response.headers.get("content-type") != PROBLEM
                or not response.headers.get("www-authenticate", "").startswith("Bearer")
            ):
                failures.append(f"{what} without a key: {response.status_code} {response.text}")
            for caller in callers:
                for target in (world.inside, world.outside):
                    req = c.build(world, target)
                    response = rolled_back(session, client, method, req, caller.headers)
                    checked += 1
                    who = f"{caller.role.value} key on {target.name}"
                    refusals = caller.refusals(c, target)
                    if refusals == {"folder"} and c.hidden is not None:
                        if response.status_code != c.hidden:
                            failures.append(
                                f"{what} {who}: expected {c.hidden} (hidden), got "
                                f"{response.status_code} {response.text[:300]}"
                            )
                    elif not refusals:
                        if response.status_code not in c.ok:
                            failures.append(
                                f"{what} {who}: expected {sorted(c.ok)}, got "
                                f"{response.status_code} {response.text[:300]}"
                            )
                    elif (
                        response.status_code != 403
                        or response.headers.get("content-type") != PROBLEM
                        or not any(
                            words in response.json()["detail"]
                            for reason in refusals
                            for words in REASONS[reason]
                        )
                    ):
                        failures.append(
                            f"{what} {who}: expected 403 for {sorted(refusals)}, got "
                            f"{response.status_code} {response.text[:300]}"
                        )
    assert not failures, f"{len(failures)} of {checked} requests:\n" + "\n".join(failures)


def test_nothing_outside_the_folder_leaks_through_an_include(
    client: TestClient, session: Session, world: World, callers: list[Caller]
) -> None:
    """Every route, every folder-limited key, on a prompt of its folder that includes one
    outside it: no answer carries the outside prompt's text, in any locale."""
    leaks: list[str] = []
    checked = 0
    for (method, path), cases in MATRIX.items():
        for c in cases:
            what = f"{method} {path}" + (f" [{c.label}]" if c.label else "")
            for caller in callers:
                if caller.folder is None:
                    continue
                req = c.build(world, world.leaky)
                response = rolled_back(session, client, method, req, caller.headers)
                checked += 1
                if SECRET_MARK in response.text:
                    leaks.append(f"{what} {caller.role.value}: {response.text[:300]}")
    assert checked > 100
    assert not leaks, f"{len(leaks)} of {checked} answers leak:\n" + "\n".join(leaks)
    # The check can see a leak: the admin, who may read everything, gets the text.
    admin = client.get(p_(world.leaky.name, "/-/resolve"))
    assert admin.status_code == 200 and SECRET_MARK in admin.text


def test_lists_show_only_the_keys_folder(
    client: TestClient, world: World, make_key: Callable[..., dict[str, str]]
) -> None:
    """Listing endpoints filter by the key's folder instead of refusing."""
    # "_" is a LIKE wildcard: the folder must match as text.
    for name in ("matrix-other/p", "wild_card/p", "wildxcard/p"):
        ok(client.post("/v1/prompts", json={"name": name}))
        ok(client.post(p_(name, "/-/versions"), json={"template": SOURCE_V1, **VARS}))
    cases = {
        "matrix/": {"matrix/p", "matrix/leaky"},
        "wild_card/": {"wild_card/p"},
    }
    for folder, expected in cases.items():
        reader = make_key("reader", folder=folder)
        prompts = ok(client.get("/v1/prompts", headers=reader))
        assert {item["name"] for item in prompts["items"]} == expected
        for prefix in ("elsewhere/", ""):
            names = ok(client.get("/v1/prompts", params={"prefix": prefix}, headers=reader))
            assert {item["name"] for item in names["items"]} <= expected

        queue = ok(client.get("/v1/translations/queue", params={"locale": "fr"}, headers=reader))
        assert {item["prompt"] for item in queue["prompts"]} == expected
        assert {item["prompt"] for item in queue["items"]} <= expected
        assert queue["total"]["prompts"] == len(expected)
        assert all(f["folder"].startswith(folder.rstrip("/")) for f in queue["folders"])

        exported = client.get(
            "/v1/translations/export",
            params={"locale": "fr", "include_approved": True},
            headers=reader,
        )
        assert exported.status_code == 200, exported.text
        contexts = {e.context.split("@")[0] for e in po.read_po(exported.content).entries}
        assert contexts == expected

    # The admin (no folder) sees every prompt; the experiments list filters too.
    everything = ok(client.get("/v1/prompts", params={"limit": 200}))
    assert {"matrix/p", "elsewhere/p", "matrix-other/p", "wildxcard/p"} <= {
        item["name"] for item in everything["items"]
    }
    reader = make_key("reader", folder="matrix/")
    experiments = ok(client.get("/v1/experiments", headers=reader))
    assert {item["prompt"] for item in experiments["items"]} == {"matrix/p", "matrix/leaky"}

    # Policies and bindings: those that apply to the key's prompts, no other folder's.
    ok(client.put("/v1/style-bindings/elsewhere", json={"guide": "matrix"}))
    ok(client.put("/v1/style-bindings/matrix", json={"guide": "matrix"}))
    ok(client.put("/v1/style-bindings/-", json={"guide": "matrix"}))
    nested = make_key("reader", folder="matrix/deep/")
    for key in (reader, nested):
        bindings = {b["folder"] for b in ok(client.get("/v1/style-bindings", headers=key))}
        assert bindings == {"", "matrix"}, bindings
        policies = {p["path"] for p in ok(client.get("/v1/label-policies", headers=key))}
        assert policies == {"", "matrix/"}, policies
    everywhere = {b["folder"] for b in ok(client.get("/v1/style-bindings"))}
    assert {"elsewhere", "bound"} <= everywhere


def test_translator_locales_are_compared_canonically(
    client: TestClient, world: World, make_key: Callable[..., dict[str, str]]
) -> None:
    """A translator's key for fr writes fr however it is spelled, and its regional
    variants; a key naming a region writes only the regions it names."""
    translator = make_key("translator", locales=("fr",))
    path = p_(world.inside.name, "/-/translations")
    for spelling in ("fr", "FR", "fr-CA", "fr_BE"):
        response = client.put(
            f"{path}/{spelling}", json={"template": FRENCH_NEW}, headers=translator
        )
        assert response.status_code in (200, 201), (spelling, response.text)
    for other in ("de", "en-GB", "frr"):
        response = client.put(f"{path}/{other}", json={"template": FRENCH}, headers=translator)
        assert response.status_code == 403, (other, response.text)
        assert "fr" in response.json()["detail"]
    canadian = make_key("translator", locales=("fr-CA",))
    assert client.put(f"{path}/fr-CA", json={"template": FRENCH}, headers=canadian).is_success
    for other in ("fr", "fr-BE"):
        response = client.put(f"{path}/{other}", json={"template": FRENCH}, headers=canadian)
        assert response.status_code == 403, (other, response.text)
    # Chinese in Traditional script is not a regional variant of zh (Simplified).
    chinese = make_key("translator", locales=("zh",))
    assert (
        client.put(f"{path}/zh-Hant-TW", json={"template": FRENCH}, headers=chinese).status_code
        == 403
    )
    assert client.put(f"{path}/zh-SG", json={"template": FRENCH}, headers=chinese).is_success
    # A tag that is no locale is the route's 422, not a way around the check.
    response = client.put(f"{path}/xx-!!", json={"template": FRENCH}, headers=translator)
    assert response.status_code == 422, response.text


def test_po_import_reaching_outside_the_folder_is_refused_whole(
    client: TestClient, world: World, make_key: Callable[..., dict[str, str]]
) -> None:
    """A file naming prompts in and out of the key's folder changes nothing (403)."""
    both = filled_po(client, "", "fr", FRENCH_NEW)
    before = ok(client.get(p_(world.inside.name, "/-/translations/fr")))
    translator = make_key("translator", folder=FOLDER, locales=("fr",))
    response = client.post(
        "/v1/translations/import", content=both, headers={**PO_TYPE, **translator}
    )
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == PROBLEM
    assert "elsewhere/p" in response.json()["detail"]
    assert [e["loc"] for e in response.json()["errors"]] == [
        ["body", "elsewhere/p@2"],
        ["body", f"{SECRET}@1"],
    ]
    assert ok(client.get(p_(world.inside.name, "/-/translations/fr"))) == before
    # The same file is the admin's to import.
    imported = client.post("/v1/translations/import", content=both, headers=PO_TYPE)
    assert imported.status_code == 200, imported.text
