"""Protected labels move only with a reviewer's or admin's key, in the API itself;
label policies choose which, per prompt, folder or everywhere; four eyes optional."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"
WHO = [{"name": "who", "type": "string"}]
Keys = Callable[..., dict[str, str]]


def prompt(client: TestClient, name: str, versions: int = 2) -> str:
    """A prompt with ``versions`` versions (by ``admin``), production on 1."""
    assert client.post("/v1/prompts", json={"name": name}).status_code == 201
    for number in range(1, versions + 1):
        publish(client, name, number, expect=201)
    move(client, name, "production", 1, expect=200)
    return name


def publish(
    client: TestClient,
    name: str,
    number: int,
    *,
    headers: dict[str, str] | None = None,
    labels: tuple[str, ...] = (),
    expect: int = 201,
) -> Any:
    response = client.post(
        f"/v1/prompts/{name}/-/versions",
        json={"template": f"v{number} {{{{ who }}}}", "variables": WHO, "labels": list(labels)},
        headers=headers or {},
    )
    assert response.status_code == expect, response.text
    return response


def move(
    client: TestClient,
    name: str,
    label: str,
    version: int,
    *,
    headers: dict[str, str] | None = None,
    expect: int = 200,
) -> Any:
    response = client.put(
        f"/v1/prompts/{name}/-/labels/{label}", json={"version": version}, headers=headers or {}
    )
    assert response.status_code == expect, response.text
    if expect == 403:
        assert response.headers["content-type"] == PROBLEM
    return response


def points(client: TestClient, name: str, label: str) -> int | None:
    response = client.get(f"/v1/prompts/{name}/-/labels/{label}")
    return None if response.status_code == 404 else int(response.json()["version"])


def latest(client: TestClient, name: str) -> int:
    return int(client.get(f"/v1/prompts/{name}").json()["latest_version"])


def set_policy(client: TestClient, path: str, protected: list[str], **extra: Any) -> Any:
    response = client.put(f"/v1/label-policies/{path}", json={"protected": protected, **extra})
    assert response.status_code == 200, response.text
    return response.json()


class TestDefault:
    def test_production_is_protected(self, client: TestClient, make_key: Keys) -> None:
        name = prompt(client, "lp/default")
        editor = make_key("editor")
        refused = move(client, name, "production", 2, headers=editor, expect=403)
        assert "protected" in refused.json()["detail"]
        assert points(client, name, "production") == 1
        # Unprotected labels are an editor's to move.
        move(client, name, "staging", 2, headers=editor)
        move(client, name, "production", 2, headers=make_key("reviewer"))
        move(client, name, "production", 1, headers=make_key("admin"))
        assert points(client, name, "production") == 1
        history = client.get(f"/v1/prompts/{name}/-/labels/production").json()["history"]
        assert [(e["from_version"], e["to_version"]) for e in history] == [
            (2, 1),
            (1, 2),
            (None, 1),
        ]

    def test_publish_with_production_needs_a_reviewer(
        self, client: TestClient, make_key: Keys
    ) -> None:
        name = prompt(client, "lp/publish")
        editor = make_key("editor")
        refused = publish(client, name, 3, headers=editor, labels=("production",), expect=403)
        assert "protected" in refused.json()["detail"]
        # Refused whole: no version, no label moved.
        assert latest(client, name) == 2
        assert points(client, name, "production") == 1
        # Nor does the other label of the same request move.
        publish(client, name, 3, headers=editor, labels=("staging", "production"), expect=403)
        assert points(client, name, "staging") is None and latest(client, name) == 2

        publish(client, name, 3, headers=editor, labels=("staging",))
        assert points(client, name, "staging") == 3
        reviewer = make_key("reviewer")
        publish(client, name, 4, headers=reviewer, labels=("production",))
        assert points(client, name, "production") == 4
        # Republishing the newest content with the label moves it too: refused alike.
        move(client, name, "production", 1, headers=reviewer)
        publish(client, name, 4, headers=editor, labels=("production",), expect=403)
        assert points(client, name, "production") == 1

    def test_the_default_policy_is_listed(self, client: TestClient, make_key: Keys) -> None:
        reader = make_key("reader")
        listed = client.get("/v1/label-policies", headers=reader)
        assert listed.status_code == 200
        root = [p for p in listed.json() if p["path"] == ""]
        assert root == [
            {
                "path": "",
                "protected": ["production"],
                "four_eyes": False,
                "updated_at": None,
                "updated_by": None,
                "stored": False,
            }
        ]
        assert client.get("/v1/label-policies/-", headers=reader).json()["stored"] is False


class TestPolicies:
    def test_set_and_read(self, client: TestClient) -> None:
        stored = set_policy(client, "support/", ["production", "live", "live"], four_eyes=True)
        assert stored["path"] == "support/"
        assert stored["protected"] == ["live", "production"]
        assert stored["four_eyes"] is True and stored["stored"] is True
        assert stored["updated_by"] == "admin"
        assert client.get("/v1/label-policies/support/").json() == stored
        assert stored in client.get("/v1/label-policies").json()
        # Setting again replaces.
        again = set_policy(client, "support/", [])
        assert again["protected"] == [] and again["four_eyes"] is False

    def test_longest_path_wins(self, client: TestClient, make_key: Keys) -> None:
        editor = make_key("editor")
        exact = prompt(client, "lp/tree/exact")
        sibling = prompt(client, "lp/tree/sibling")
        other = prompt(client, "lp/other")
        outside = prompt(client, "lpx/p")
        named_like_folder = prompt(client, "lp")
        set_policy(client, "-", ["root-only"])
        set_policy(client, "lp/", ["lp-only"])
        set_policy(client, "lp/tree/", ["tree-only"])
        set_policy(client, "lp/tree/exact", ["exact-only"])

        def protected(name: str) -> set[str]:
            labels = {"production", "root-only", "lp-only", "tree-only", "exact-only"}
            found = set()
            for label in labels:
                move(client, name, label, 1)  # as admin: exists, at 1
                response = client.put(
                    f"/v1/prompts/{name}/-/labels/{label}", json={"version": 2}, headers=editor
                )
                assert response.status_code in (200, 403), response.text
                if response.status_code == 403:
                    found.add(label)
            return found

        assert protected(exact) == {"exact-only"}
        assert protected(sibling) == {"tree-only"}
        assert protected(other) == {"lp-only"}
        assert protected(outside) == {"root-only"}
        # A policy on a folder does not cover a prompt whose name is the folder's.
        assert protected(named_like_folder) == {"root-only"}

        # Deleting falls back to the next shorter path, and at last to the default.
        for path, now in [
            ("lp/tree/exact", {"tree-only"}),
            ("lp/tree/", {"lp-only"}),
            ("lp/", {"root-only"}),
            ("-", {"production"}),
        ]:
            assert client.delete(f"/v1/label-policies/{path}").status_code == 204
            assert protected(exact) == now, path
        assert client.get("/v1/label-policies/-").json()["stored"] is False

    def test_a_policy_on_one_prompt(self, client: TestClient, make_key: Keys) -> None:
        editor = make_key("editor")
        name = prompt(client, "lp/open")
        set_policy(client, name, [])
        # Nothing protected here: production moves with an editor's key.
        move(client, name, "production", 2, headers=editor)
        # ...but not on its neighbour, still under the default.
        neighbour = prompt(client, "lp/closed")
        move(client, neighbour, "production", 2, headers=editor, expect=403)

    @pytest.mark.parametrize("role", ["reader", "translator", "editor", "reviewer"])
    def test_only_admins_change_policies(
        self, client: TestClient, make_key: Keys, role: str
    ) -> None:
        set_policy(client, "kept/", ["production"])
        locales = ("fr",) if role == "translator" else ()
        headers = make_key(role, locales=locales)
        put = client.put("/v1/label-policies/kept/", json={"protected": []}, headers=headers)
        assert put.status_code == 403 and put.headers["content-type"] == PROBLEM
        assert (
            client.put(
                "/v1/label-policies/new/", json={"protected": []}, headers=headers
            ).status_code
            == 403
        )
        assert client.delete("/v1/label-policies/kept/", headers=headers).status_code == 403
        # Unchanged; and anyone with a key may read it.
        read = client.get("/v1/label-policies/kept/", headers=headers)
        assert read.status_code == 200 and read.json()["protected"] == ["production"]
        assert client.get("/v1/label-policies/new/").status_code == 404

    @pytest.mark.parametrize(
        ("method", "path", "body", "status"),
        [
            ("PUT", "/v1/label-policies/lp/", {"protected": ["Not A Label"]}, 422),
            ("PUT", "/v1/label-policies/lp/", {"protected": ["12"]}, 422),
            ("PUT", "/v1/label-policies/lp/", {"protected": ["x\x00"]}, 422),
            ("PUT", "/v1/label-policies/lp/", {"protected": ["a"] * 51}, 422),
            ("PUT", "/v1/label-policies/lp/", {"protected": [], "extra": 1}, 422),
            ("PUT", "/v1/label-policies/lp/", {}, 422),
            ("PUT", "/v1/label-policies/Upper/", {"protected": []}, 422),
            ("PUT", "/v1/label-policies/a//b", {"protected": []}, 422),
            ("PUT", "/v1/label-policies/" + "a" * 256, {"protected": []}, 422),
            ("GET", "/v1/label-policies/nothing/", None, 404),
            ("DELETE", "/v1/label-policies/nothing/", None, 404),
        ],
    )
    def test_bad_requests(
        self, client: TestClient, method: str, path: str, body: Any, status: int
    ) -> None:
        response = client.request(method, path, json=body)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == PROBLEM


class TestFourEyes:
    @pytest.fixture
    def setup(self, client: TestClient, make_key: Keys) -> dict[str, Any]:
        name = prompt(client, "fe/p")
        set_policy(client, "fe/", ["production"], four_eyes=True)
        ann, bob = make_key("reviewer", owner="ann"), make_key("reviewer", owner="bob")
        publish(client, name, 3, headers=ann)  # version 3 is ann's
        return {"name": name, "ann": ann, "bob": bob}

    def test_the_author_cannot_move_it(self, client: TestClient, setup: dict[str, Any]) -> None:
        name, ann, bob = setup["name"], setup["ann"], setup["bob"]
        refused = move(client, name, "production", 3, headers=ann, expect=403)
        assert "four eyes" in refused.json()["detail"]
        assert points(client, name, "production") == 1
        move(client, name, "production", 3, headers=bob)
        assert points(client, name, "production") == 3
        # Ann may move it to a version someone else published.
        move(client, name, "production", 2, headers=ann)

    def test_admins_too(self, client: TestClient, setup: dict[str, Any], make_key: Keys) -> None:
        name = setup["name"]
        # Version 2 was published by the client's admin key (owner "admin").
        move(client, name, "production", 2, expect=403)
        move(client, name, "production", 3)  # ann's version
        other_admin = make_key("admin", owner="root")
        move(client, name, "production", 2, headers=other_admin)

    def test_only_protected_labels(self, client: TestClient, setup: dict[str, Any]) -> None:
        move(client, setup["name"], "staging", 3, headers=setup["ann"])

    def test_publishing_with_the_label_is_refused(
        self, client: TestClient, setup: dict[str, Any]
    ) -> None:
        name, ann = setup["name"], setup["ann"]
        refused = publish(client, name, 4, headers=ann, labels=("production",), expect=403)
        assert "four eyes" in refused.json()["detail"]
        assert latest(client, name) == 3 and points(client, name, "production") == 1
        # Also when the content equals the newest version (ann's): that is a move to it.
        publish(client, name, 3, headers=ann, labels=("production",), expect=403)
        assert points(client, name, "production") == 1

    def test_an_experiment_on_the_label(self, client: TestClient, setup: dict[str, Any]) -> None:
        """Serving an arm is a move of the label: the same rule."""
        name = setup["name"]
        body = {
            "name": "try",
            "label": "production",
            "arms": [{"version": 1, "weight": 50}, {"version": 3, "weight": 50}],
        }
        path = f"/v1/prompts/{name}/-/experiments"
        refused = client.post(path, json=body, headers=setup["ann"])
        assert refused.status_code == 403, refused.text
        assert client.post(path, json=body, headers=setup["bob"]).status_code == 201

    def test_switched_off(self, client: TestClient, setup: dict[str, Any]) -> None:
        set_policy(client, "fe/", ["production"], four_eyes=False)
        move(client, setup["name"], "production", 3, headers=setup["ann"])
