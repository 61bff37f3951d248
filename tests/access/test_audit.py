"""The audit trail: one event per write, in the write's transaction, read-only, filtered
and cursor-paginated through the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from registry.access.models import AuditEvent
from registry.translations import po

from conftest import bearer

PROBLEM = "application/problem+json"
WHO = [{"name": "who", "type": "string"}]
SOURCE = "Thank you for your order, {{ who }}."
FRENCH = "Merci pour votre commande, {{ who }}."


@pytest.fixture
def key(client: TestClient, make_token: Callable[..., str]) -> Callable[..., tuple[dict, int]]:
    """Headers of a new key and its id: ``key("editor", owner="ed")``."""

    def make(role: str, **kwargs: Any) -> tuple[dict[str, str], int]:
        token = make_token(role, **kwargs)
        prefix = "rk_" + token.removeprefix("rk_").partition("_")[0]
        found = client.get(f"/v1/keys/{prefix}")
        assert found.status_code == 200, found.text
        return bearer(token), int(found.json()["id"])

    return make


def newest_id(client: TestClient) -> int:
    items = client.get("/v1/audit", params={"limit": 1}).json()["items"]
    return int(items[0]["id"]) if items else 0


def events_after(client: TestClient, mark: int, **filters: Any) -> list[dict[str, Any]]:
    """Events newer than ``mark``, oldest first."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 200, **filters, **({"cursor": cursor} if cursor else {})}
        response = client.get("/v1/audit", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        found += [e for e in page["items"] if e["id"] > mark]
        cursor = page["next_cursor"]
        if cursor is None or page["items"][-1]["id"] <= mark:
            return found[::-1]


class Trail:
    """Runs writes and checks the events each one wrote."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.mark = newest_id(client)

    def write(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        key_id: int,
        actor: str,
        actions: list[str],
        *,
        expect: int | tuple[int, ...] = (200, 201, 204),
        **kwargs: Any,
    ) -> tuple[Any, list[dict[str, Any]]]:
        start = datetime.now(UTC)
        response = self.client.request(method, path, headers=headers, **kwargs)
        end = datetime.now(UTC)
        statuses = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in statuses, response.text
        events = events_after(self.client, self.mark)
        self.mark = max([self.mark, *(e["id"] for e in events)])
        assert [e["action"] for e in events] == actions, (method, path, events)
        for event in events:
            assert event["actor"] == actor and event["key_id"] == key_id, event
            at = datetime.fromisoformat(event["at"])
            assert start - timedelta(seconds=1) <= at <= end + timedelta(seconds=1)
        return response, events


def test_every_write_is_audited(client: TestClient, key: Callable[..., tuple[dict, int]]) -> None:
    editor, editor_id = key("editor", owner="ed")
    reviewer, reviewer_id = key("reviewer", owner="rev")
    translator, translator_id = key("translator", owner="tr", locales=("fr",))
    admin, admin_id = key("admin", owner="boss")
    trail = Trail(client)
    name = "au/p"

    def by_editor(method: str, path: str, actions: list[str], **kwargs: Any) -> Any:
        return trail.write(method, path, editor, editor_id, "ed", actions, **kwargs)

    def by_reviewer(method: str, path: str, actions: list[str], **kwargs: Any) -> Any:
        return trail.write(method, path, reviewer, reviewer_id, "rev", actions, **kwargs)

    def by_admin(method: str, path: str, actions: list[str], **kwargs: Any) -> Any:
        return trail.write(method, path, admin, admin_id, "boss", actions, **kwargs)

    p = f"/v1/prompts/{name}"

    # prompts
    _, [event] = by_editor(
        "POST", "/v1/prompts", ["prompt.create"], json={"name": name, "description": "first"}
    )
    assert event["prompt"] == name and event["target"] == name and event["before"] is None
    assert event["after"]["description"] == "first" and event["after"]["kind"] == "text"

    _, [event] = by_editor("PATCH", p, ["prompt.update"], json={"description": "second"})
    assert event["before"]["description"] == "first"
    assert event["after"]["description"] == "second"

    # versions and labels
    _, [event] = by_editor(
        "POST", f"{p}/-/versions", ["version.publish"], json={"template": SOURCE, "variables": WHO}
    )
    assert event["target"] == f"{name}@1" and event["after"]["version"] == 1
    _, [published, moved] = by_editor(
        "POST",
        f"{p}/-/versions",
        ["version.publish", "label.move"],
        json={"template": SOURCE + " ", "variables": WHO, "labels": ["staging"]},
    )
    assert published["after"]["version"] == 2
    assert moved["target"] == f"{name}:staging"
    assert moved["before"] is None and moved["after"]["version"] == 2
    _, [event] = by_editor(
        "PUT", f"{p}/-/labels/staging", ["label.move"], json={"version": 1, "reason": "back"}
    )
    assert event["before"] == {"version": 2}
    assert event["after"] == {"version": 1, "reason": "back"}
    _, [event] = by_reviewer("PUT", f"{p}/-/labels/production", ["label.move"], json={"version": 2})
    assert event["before"] is None and event["after"]["version"] == 2

    # translations
    fr = f"{p}/-/translations/fr"
    _, [event] = by_editor("PUT", fr, ["translation.submit"], json={"template": FRENCH})
    assert event["target"] == f"{name}@2:fr" and event["before"] is None
    assert event["after"]["status"] == "draft" and event["after"]["texts"] == [FRENCH]
    _, [event] = by_editor(
        "POST", f"{fr}/review", ["translation.submit"], json={"action": "submit"}
    )
    assert event["before"]["status"] == "draft" and event["after"]["status"] == "in_review"
    _, [event] = by_reviewer(
        "POST", f"{fr}/review", ["translation.reject"], json={"action": "reject", "note": "no"}
    )
    assert event["before"]["status"] == "in_review"
    assert event["after"]["status"] == "rejected" and event["after"]["note"] == "no"
    by_editor("POST", f"{fr}/review", ["translation.submit"], json={"action": "submit"})
    _, [event] = by_reviewer(
        "POST", f"{fr}/review", ["translation.approve"], json={"action": "approve"}
    )
    assert event["before"]["status"] == "in_review" and event["after"]["status"] == "approved"

    exported = client.get(
        "/v1/translations/export",
        params={"locale": "fr", "prefix": "au/", "include_approved": True},
    )
    parsed = po.read_po(exported.content)
    assert parsed.locale and parsed.registry_id
    edited = po.write_po(
        [
            po.PoEntry(context=e.context, source=e.source, translation=FRENCH + " ")
            for e in parsed.entries
        ],
        locale=parsed.locale,
        registry_id=parsed.registry_id,
    )
    _, [event] = trail.write(
        "POST",
        "/v1/translations/import",
        {**translator, "content-type": "text/x-gettext-translation"},
        translator_id,
        "tr",
        ["translation.import"],
        content=edited,
    )
    assert event["target"] == f"{name}@2:fr" and event["prompt"] == name
    assert event["before"]["status"] == "approved"
    assert event["after"]["texts"] == [FRENCH + " "]

    # archive
    _, [event] = by_editor("POST", f"{p}/-/archive", ["prompt.archive"])
    assert event["before"] == {"archived": False} and event["after"] == {"archived": True}
    _, [event] = by_editor("POST", f"{p}/-/restore", ["prompt.restore"])
    assert event["before"] == {"archived": True} and event["after"] == {"archived": False}

    # experiments
    response, [event] = by_editor(
        "POST",
        f"{p}/-/experiments",
        ["experiment.create"],
        json={
            "name": "try",
            "label": "staging",
            "arms": [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}],
        },
    )
    experiment = response.json()
    assert event["prompt"] == name and event["after"]["arms"]
    e = f"/v1/experiments/{experiment['id']}"
    _, [event] = by_editor("PATCH", e, ["experiment.update"], json={"description": "why"})
    assert event["before"] == {"description": ""} and event["after"] == {"description": "why"}
    _, [moved, promoted] = by_editor(
        "POST", f"{e}/promote", ["label.move", "experiment.promote"], json={"arm": "b"}
    )
    assert moved["before"] == {"version": 1} and moved["after"]["version"] == 2
    assert promoted["after"]["version"] == 2
    response, _ = by_editor(
        "POST",
        f"{p}/-/experiments",
        ["experiment.create"],
        json={
            "name": "again",
            "label": "staging",
            "arms": [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}],
        },
    )
    by_editor("POST", f"/v1/experiments/{response.json()['id']}/stop", ["experiment.stop"], json={})

    # style guides and bindings
    _, [event] = by_admin(
        "PUT",
        "/v1/style-guides/au-guide",
        ["style_guide.publish"],
        json={"source": "name: au-guide\nextends: default\n", "message": "start"},
    )
    assert event["target"] == "au-guide@1" and event["before"] is None
    assert event["after"]["version"] == 1 and event["after"]["message"] == "start"
    _, [event] = by_admin(
        "PUT", "/v1/style-bindings/au", ["style_binding.set"], json={"guide": "au-guide"}
    )
    assert event["target"] == "au" and event["after"] == {"guide": "au-guide"}
    _, [event] = by_admin("DELETE", "/v1/style-bindings/au", ["style_binding.delete"])
    assert event["before"] == {"guide": "au-guide"}

    # keys
    response, [event] = by_admin(
        "POST", "/v1/keys", ["key.create"], json={"owner": "new", "role": "reader"}
    )
    created = response.json()
    assert event["target"] == created["prefix"] and event["before"] is None
    assert event["after"]["owner"] == "new" and event["after"]["role"] == "reader"
    secret = created["token"].removeprefix(created["prefix"] + "_")
    assert "token" not in event["after"] and secret not in str(event)
    _, [event] = by_admin("DELETE", f"/v1/keys/{created['id']}", ["key.revoke"])
    assert event["before"]["revoked_at"] is None and event["after"]["revoked_at"] is not None

    # label policies
    _, [event] = by_admin(
        "PUT", "/v1/label-policies/au/", ["label_policy.set"], json={"protected": ["live"]}
    )
    assert event["target"] == "au/" and event["before"] is None
    assert event["after"]["protected"] == ["live"]
    _, [event] = by_admin(
        "PUT",
        "/v1/label-policies/au/",
        ["label_policy.set"],
        json={"protected": [], "four_eyes": True},
    )
    assert event["before"]["protected"] == ["live"] and event["after"]["four_eyes"] is True
    _, [event] = by_admin("DELETE", "/v1/label-policies/au/", ["label_policy.delete"])
    assert event["before"]["four_eyes"] is True and event["after"] is None
    _, [event] = by_admin(
        "PUT", "/v1/label-policies/-", ["label_policy.set"], json={"protected": ["production"]}
    )
    assert event["target"] == "*"


def test_reads_and_no_ops_write_nothing(
    client: TestClient, key: Callable[..., tuple[dict, int]]
) -> None:
    editor, editor_id = key("editor", owner="ed")
    name = "au/quiet"
    client.post("/v1/prompts", json={"name": name})
    client.post(f"/v1/prompts/{name}/-/versions", json={"template": SOURCE, "variables": WHO})
    client.put(f"/v1/prompts/{name}/-/labels/staging", json={"version": 1})
    created = client.post("/v1/keys", json={"owner": "x", "role": "reader"}).json()
    client.delete(f"/v1/keys/{created['id']}")
    trail = Trail(client)
    p = f"/v1/prompts/{name}"
    for method, path, body in [
        ("GET", p, None),
        ("GET", f"{p}/-/resolve", {"label": "staging"}),
        ("POST", f"{p}/-/render", {"label": "staging", "variables": {"who": "Ada"}}),
        ("POST", "/v1/lint", {"template": "Hi"}),
        # Equal content, the label where it is, an update that changes nothing.
        ("POST", f"{p}/-/versions", {"template": SOURCE, "variables": WHO}),
        ("PUT", f"{p}/-/labels/staging", {"version": 1}),
        ("PATCH", p, {}),
        ("POST", f"{p}/-/restore", None),
    ]:
        if method == "GET":
            kwargs: dict[str, Any] = {"params": body}
        else:
            kwargs = {"json": body}
        trail.write(method, path, editor, editor_id, "ed", [], expect=(200,), **kwargs)
    # Revoking a revoked key again.
    trail.write("DELETE", f"/v1/keys/{created['id']}", {}, 0, "admin", [], expect=200)


def test_failed_writes_write_nothing(
    client: TestClient, make_key: Callable[..., dict[str, str]]
) -> None:
    editor, reader = make_key("editor"), make_key("reader")
    name = "au/fail"
    p = f"/v1/prompts/{name}"
    client.post("/v1/prompts", json={"name": name})
    for template in (SOURCE, SOURCE + " "):
        client.post(f"{p}/-/versions", json={"template": template, "variables": WHO})
    client.put(f"{p}/-/labels/staging", json={"version": 1})
    client.put(f"{p}/-/translations/fr", json={"template": FRENCH})
    stale = client.get(f"{p}/-/labels/staging").headers["etag"]
    client.put(f"{p}/-/labels/staging", json={"version": 2})
    mark = newest_id(client)
    for method, path, body, headers, status in [
        # 422: a variable used but not declared
        ("POST", f"{p}/-/versions", {"template": "{{ undeclared }}"}, editor, 422),
        # 422: the version is published, then a label of the same request cannot be set
        ("POST", f"{p}/-/versions", {"template": "new", "labels": ["latest"]}, editor, 422),
        # 403: a protected label
        ("PUT", f"{p}/-/labels/production", {"version": 1}, editor, 403),
        ("POST", f"{p}/-/versions", {"template": "x", "labels": ["production"]}, editor, 403),
        # 403: out of role
        ("POST", "/v1/prompts", {"name": "au/nope"}, reader, 403),
        ("POST", f"{p}/-/translations/fr/review", {"action": "approve"}, editor, 403),
        # 404, 409, 422 from the operation
        ("PUT", f"{p}/-/labels/staging", {"version": 9}, editor, 422),
        ("POST", "/v1/prompts", {"name": name}, editor, 409),
        ("POST", "/v1/prompts/au/missing/-/archive", None, editor, 404),
        ("PUT", f"{p}/-/translations/fr", {"template": "Merci"}, editor, 422),
        ("PUT", f"{p}/-/translations/en", {"template": SOURCE}, editor, 422),
        ("POST", "/v1/keys", {"owner": "a", "role": "admin", "folder": "x/"}, {}, 422),
        ("DELETE", "/v1/label-policies/nothing/", None, {}, 404),
    ]:
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == status, (method, path, response.text)
        assert newest_id(client) == mark, (method, path)
    # 412: a stale If-Match; the label stays where it is.
    response = client.put(f"{p}/-/labels/staging", json={"version": 1}, headers={"If-Match": stale})
    assert response.status_code == 412, response.text
    assert newest_id(client) == mark
    assert client.get(f"{p}/-/labels/staging").json()["version"] == 2
    assert client.get(p).json()["latest_version"] == 2


def test_a_failed_request_rolls_its_events_back(committing_client: TestClient) -> None:
    """Committed per request, as served: the version and its event go together."""
    client = committing_client
    client.post("/v1/prompts", json={"name": "au/tx"})
    mark = newest_id(client)
    refused = client.post(
        "/v1/prompts/au/tx/-/versions",
        json={"template": "hello", "labels": ["staging", "latest"]},
    )
    assert refused.status_code == 422, refused.text
    assert newest_id(client) == mark
    assert client.get("/v1/prompts/au/tx").json()["latest_version"] is None
    done = client.post(
        "/v1/prompts/au/tx/-/versions", json={"template": "hello", "labels": ["staging"]}
    )
    assert done.status_code == 201
    assert [e["action"] for e in events_after(client, mark)] == ["version.publish", "label.move"]


# ---------------------------------------------------------------- reading


@pytest.fixture
def history(client: TestClient, key: Callable[..., tuple[dict, int]]) -> dict[str, Any]:
    """Events by two keys on two prompts: the ids, oldest first, and the keys."""
    ann, ann_id = key("editor", owner="ann")
    bob, bob_id = key("editor", owner="bob")
    mark = newest_id(client)
    for name in ("hist/a", "hist/b"):
        client.post("/v1/prompts", json={"name": name}, headers=ann)
        for number in range(1, 4):
            response = client.post(
                f"/v1/prompts/{name}/-/versions",
                json={"template": f"v{number}", "labels": ["staging"]},
                headers=bob if number % 2 else ann,
            )
            assert response.status_code == 201, response.text
    events = events_after(client, mark)
    assert len(events) == 2 * (1 + 3 * 2)
    return {"events": events, "ann": ann_id, "bob": bob_id, "mark": mark}


def ids(client: TestClient, mark: int, **params: Any) -> list[int]:
    return [e["id"] for e in reversed(events_after(client, mark, **params))]


def test_filters(client: TestClient, history: dict[str, Any]) -> None:
    events, mark = history["events"], history["mark"]
    newest_first = [e["id"] for e in reversed(events)]

    def expect(**params: Any) -> Callable[[Callable[[dict[str, Any]], bool]], None]:
        def check(keep: Callable[[dict[str, Any]], bool]) -> None:
            wanted = [e["id"] for e in reversed(events) if keep(e)]
            assert wanted, params
            assert ids(client, mark, **params) == wanted, params

        return check

    expect(prompt="hist/a")(lambda e: e["prompt"] == "hist/a")
    expect(actor="ann")(lambda e: e["actor"] == "ann")
    expect(key_id=history["bob"])(lambda e: e["key_id"] == history["bob"])
    expect(action="label.move")(lambda e: e["action"] == "label.move")
    expect(prompt="hist/b", actor="bob", action="version.publish")(
        lambda e: (e["prompt"], e["actor"], e["action"]) == ("hist/b", "bob", "version.publish")
    )
    assert ids(client, mark, prompt="hist/none") == []
    assert ids(client, mark, actor="nobody") == []
    assert ids(client, mark) == newest_first


def test_time_range(client: TestClient, history: dict[str, Any]) -> None:
    events, mark = history["events"], history["mark"]
    middle = events[len(events) // 2]
    at = datetime.fromisoformat(middle["at"])
    for zone in (UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))):
        local = at.astimezone(zone).isoformat()
        since = ids(client, mark, since=local)
        until = ids(client, mark, until=local)
        assert middle["id"] in since and middle["id"] not in until, zone
        assert since == [
            e["id"] for e in reversed(events) if datetime.fromisoformat(e["at"]) >= at
        ], zone
        assert until == [
            e["id"] for e in reversed(events) if datetime.fromisoformat(e["at"]) < at
        ], zone
        assert sorted(since + until) == sorted(e["id"] for e in events)
    end = (at + timedelta(microseconds=1)).isoformat()
    assert ids(client, mark, since=middle["at"], until=end) == [
        e["id"] for e in reversed(events) if e["at"] == middle["at"]
    ]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert ids(client, mark, since=future) == []


def test_cursor_pagination(client: TestClient, history: dict[str, Any]) -> None:
    everything = [e["id"] for e in reversed(history["events"])]
    for limit in (1, 3, 5, len(everything)):
        seen: list[int] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": limit, "prompt": "hist/a"}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/v1/audit", params=params).json()
            pages += 1
            assert len(page["items"]) <= limit
            seen += [e["id"] for e in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert len(page["items"]) == limit
        wanted = [e["id"] for e in reversed(history["events"]) if e["prompt"] == "hist/a"]
        assert seen == wanted, limit  # newest first, no duplicates, no gaps
        assert seen == sorted(seen, reverse=True)
        assert pages == -(-len(wanted) // limit), limit
    assert everything == sorted(everything, reverse=True)
    # A page ends where the last one did, even when newer events arrived meanwhile.
    first = client.get("/v1/audit", params={"limit": 2, "prompt": "hist/a"}).json()
    client.post("/v1/prompts/hist/a/-/versions", json={"template": "newer"})
    second = client.get(
        "/v1/audit", params={"limit": 2, "prompt": "hist/a", "cursor": first["next_cursor"]}
    ).json()
    assert second["items"][0]["id"] < first["items"][-1]["id"]
    assert second["items"][0]["id"] == wanted[2]


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "abc"},
        {"cursor": "-1"},
        {"cursor": "1" * 19},
        {"cursor": "x" * 33},
        {"since": "2026-01-01T00:00:00"},
        {"until": "2026-01-01T00:00:00"},
        {"since": "yesterday"},
        {"limit": 0},
        {"limit": 201},
        {"key_id": 0},
        {"actor": "a\x00b"},
        {"prompt": "p" * 256},
    ],
)
def test_bad_queries(client: TestClient, params: dict[str, Any]) -> None:
    response = client.get("/v1/audit", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("role", ["reader", "translator", "editor", "reviewer"])
def test_only_admins_read_it(
    client: TestClient, make_key: Callable[..., dict[str, str]], role: str
) -> None:
    headers = make_key(role, locales=("fr",) if role == "translator" else ())
    response = client.get("/v1/audit", headers=headers)
    assert response.status_code == 403 and response.headers["content-type"] == PROBLEM


# ---------------------------------------------------------------- never changed


def test_no_api_changes_it(client: TestClient) -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert client.request(method, "/v1/audit").status_code == 405, method


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor = 'mallory'",
        "UPDATE audit_events SET after = NULL WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
        "DELETE FROM audit_events",
    ],
)
def test_the_store_refuses_changes(client: TestClient, session: Session, statement: str) -> None:
    client.post("/v1/prompts", json={"name": "au/immutable"})
    event_id = newest_id(client)
    count = session.scalar(select(func.count()).select_from(AuditEvent))
    assert event_id and count
    with pytest.raises(DBAPIError, match="immutable"), session.begin_nested():
        session.execute(text(statement), {"id": event_id})
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == count
    row = session.get(AuditEvent, event_id)
    assert row is not None and row.actor == "admin" and row.action == "prompt.create"
