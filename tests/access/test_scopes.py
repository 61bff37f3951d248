"""Folder scopes through includes, error messages and ids: a key limited to folders learns
nothing of a prompt outside them, and shares a component only where an admin said so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"
OUTSIDE_TEXT = "OUTSIDE-ONLY wording about {{ amount }}."
OUTSIDE_VARIABLE = "amount"

Keys = Callable[..., dict[str, str]]


def ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def make(client: TestClient, name: str, template: str, variables: list[str]) -> None:
    ok(client.post("/v1/prompts", json={"name": name}))
    body = {"template": template, "variables": [{"name": v} for v in variables]}
    ok(client.post(f"/v1/prompts/{name}/-/versions", json=body))
    ok(client.put(f"/v1/prompts/{name}/-/labels/production", json={"version": 1}))


@pytest.fixture
def outside(client: TestClient) -> str:
    make(client, "extract/invoice-fields", OUTSIDE_TEXT, [OUTSIDE_VARIABLE])
    return "extract/invoice-fields"


def publish(client: TestClient, headers: dict[str, str], name: str, ref: str) -> Any:
    body = {
        "template": f'{{% include "{ref}" %}}\nThanks, {{{{ who }}}}.',
        "variables": [{"name": "who"}, {"name": OUTSIDE_VARIABLE}],
    }
    return client.post(f"/v1/prompts/{name}/-/versions", json=body, headers=headers)


class TestPublish:
    def test_an_include_outside_the_keys_folders_is_refused(
        self, client: TestClient, make_key: Keys, outside: str
    ) -> None:
        ok(client.post("/v1/prompts", json={"name": "support/leak"}))
        editor = make_key("editor", folder="support/")
        for ref in (f"{outside}@production", f"{outside}@1", outside):
            refused = publish(client, editor, "support/leak", ref)
            assert refused.status_code == 403, refused.text
            assert refused.headers["content-type"] == PROBLEM
            assert "outside the folders" in refused.json()["detail"]
        assert ok(client.get("/v1/prompts/support/leak"))["latest_version"] is None

    def test_a_refusal_does_not_tell_whether_the_outside_prompt_exists(
        self, client: TestClient, make_key: Keys, outside: str
    ) -> None:
        ok(client.post("/v1/prompts", json={"name": "support/leak"}))
        editor = make_key("editor", folder="support/")
        existing = publish(client, editor, "support/leak", f"{outside}@production")
        missing = publish(client, editor, "support/leak", "extract/no-such-prompt@production")
        assert existing.status_code == missing.status_code == 403
        assert existing.json()["detail"].replace(outside, "X") == missing.json()["detail"].replace(
            "extract/no-such-prompt", "X"
        )
        # Nor what the outside prompt holds or needs.
        assert "OUTSIDE-ONLY" not in existing.text
        undeclared = client.post(
            "/v1/prompts/support/leak/-/versions",
            json={"template": f'{{% include "{outside}" %}}', "variables": []},
            headers=editor,
        )
        assert undeclared.status_code == 403, undeclared.text
        assert OUTSIDE_VARIABLE not in undeclared.text

    def test_a_label_move_onto_a_version_including_an_outside_prompt(
        self, client: TestClient, make_key: Keys, outside: str
    ) -> None:
        # The admin wrote the include; a reviewer of support/ may not serve it.
        ok(client.post("/v1/prompts", json={"name": "support/mixed"}))
        ok(publish(client, {}, "support/mixed", f"{outside}@production"))
        reviewer = make_key("reviewer", folder="support/")
        moved = client.put(
            "/v1/prompts/support/mixed/-/labels/production",
            json={"version": 1},
            headers=reviewer,
        )
        assert moved.status_code == 403, moved.text
        assert "OUTSIDE-ONLY" not in moved.text


class TestServing:
    @pytest.fixture
    def mixed(self, client: TestClient, outside: str) -> str:
        ok(client.post("/v1/prompts", json={"name": "support/mixed"}))
        ok(
            client.post(
                "/v1/prompts/support/mixed/-/versions",
                json={
                    "template": f'{{% include "{outside}@production" %}} Thanks.',
                    "variables": [{"name": OUTSIDE_VARIABLE}],
                    "labels": ["production"],
                },
            )
        )
        return "support/mixed"

    def test_resolve_and_render_refuse_an_outside_component(
        self, client: TestClient, make_key: Keys, mixed: str
    ) -> None:
        reader = make_key("reader", folder="support/")
        for answer in (
            client.get(f"/v1/prompts/{mixed}/-/resolve", headers=reader),
            client.get(f"/v1/prompts/{mixed}/-/resolve?version=1", headers=reader),
            client.post(
                f"/v1/prompts/{mixed}/-/render",
                json={"variables": {OUTSIDE_VARIABLE: 3}},
                headers=reader,
            ),
        ):
            assert answer.status_code == 403, answer.text
            assert "OUTSIDE-ONLY" not in answer.text

    def test_a_shared_folder_is_read_but_not_changed(
        self, client: TestClient, make_key: Keys, mixed: str, outside: str
    ) -> None:
        """``read_folders`` makes sharing explicit: included and read, never written."""
        editor = make_key("editor", folder="support/", read_folders=("extract/",))
        resolved = ok(client.get(f"/v1/prompts/{mixed}/-/resolve", headers=editor))
        assert [c["name"] for c in resolved["components"]] == [outside]
        ok(client.post("/v1/prompts", json={"name": "support/new"}))
        assert publish(client, editor, "support/new", outside).status_code == 201
        assert ok(client.get(f"/v1/prompts/{outside}", headers=editor))["name"] == outside
        listed = ok(client.get("/v1/prompts", headers=editor))
        assert outside in {p["name"] for p in listed["items"]}
        for write in (
            client.post(
                f"/v1/prompts/{outside}/-/versions",
                json={"template": "Changed {{ amount }}", "variables": [{"name": "amount"}]},
                headers=editor,
            ),
            client.put(
                f"/v1/prompts/{outside}/-/labels/staging", json={"version": 1}, headers=editor
            ),
            client.patch(f"/v1/prompts/{outside}", json={"description": "x"}, headers=editor),
            client.post("/v1/prompts", json={"name": "extract/mine"}, headers=editor),
        ):
            assert write.status_code == 403, write.text
            assert "may only read" in write.json()["detail"]

    def test_a_key_with_several_folders(
        self, client: TestClient, make_token: Callable[..., str], outside: str
    ) -> None:
        created = ok(
            client.post(
                "/v1/keys",
                json={"owner": "two-teams", "role": "editor", "folders": ["support", "extract"]},
            )
        )
        editor = {"Authorization": f"Bearer {created['token']}"}
        ok(client.post("/v1/prompts", json={"name": "support/both"}))
        assert publish(client, editor, "support/both", outside).status_code == 201
        assert client.get(f"/v1/prompts/{outside}/-/resolve", headers=editor).status_code == 200
        assert client.get("/v1/prompts/other/x", headers=editor).status_code == 403


class TestExperiments:
    def test_an_outside_experiment_is_answered_as_one_that_does_not_exist(
        self, client: TestClient, make_key: Keys, outside: str
    ) -> None:
        ok(
            client.post(
                f"/v1/prompts/{outside}/-/versions",
                json={"template": "B {{ amount }}", "variables": [{"name": "amount"}]},
            )
        )
        ok(client.put(f"/v1/prompts/{outside}/-/labels/staging", json={"version": 1}))
        started = ok(
            client.post(
                f"/v1/prompts/{outside}/-/experiments",
                json={
                    "name": "outside-try",
                    "label": "staging",
                    "arms": [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}],
                },
            )
        )
        missing_id = started["id"] + 1000
        reviewer = make_key("reviewer", folder="support/")
        for method, path, body in (
            ("GET", "/v1/experiments/{}", None),
            ("GET", "/v1/experiments/{}/results", None),
            ("PATCH", "/v1/experiments/{}", {"description": "x"}),
            ("POST", "/v1/experiments/{}/stop", {}),
            ("POST", "/v1/experiments/{}/promote", {"arm": "b"}),
        ):
            seen = client.request(method, path.format(started["id"]), json=body, headers=reviewer)
            unknown = client.request(method, path.format(missing_id), json=body, headers=reviewer)
            assert seen.status_code == unknown.status_code == 404, (path, seen.text)
            assert seen.json()["detail"].replace(str(started["id"]), "N") == unknown.json()[
                "detail"
            ].replace(str(missing_id), "N")
            assert outside not in seen.text
        feedback = client.post(
            "/v1/experiments/feedback",
            json={"experiment": started["id"], "subject": "s", "value": True},
            headers=reviewer,
        )
        assert feedback.status_code == 404 and outside not in feedback.text
        exposures = ok(
            client.post(
                "/v1/experiments/exposures",
                json={"exposures": [{"experiment": started["id"], "subject": "s"}]},
                headers=reviewer,
            )
        )
        assert exposures == {"recorded": 0, "ignored": 1}
        assert ok(client.get(f"/v1/experiments/{started['id']}/results"))["experiment"]


def test_lint_does_not_tell_which_guide_an_outside_folder_uses(
    client: TestClient, make_key: Keys
) -> None:
    reader = make_key("reader", folder="support/")
    body = {"template": "Hello", "prompt": "finance/report"}
    refused = client.post("/v1/lint", json=body, headers=reader)
    assert refused.status_code == 403, refused.text
    inside = client.post("/v1/lint", json={**body, "prompt": "support/x"}, headers=reader)
    assert inside.status_code == 200, inside.text


def test_a_translator_may_not_translate_a_folder_it_only_reads(
    client: TestClient, make_key: Keys, outside: str
) -> None:
    translator = make_key(
        "translator", folder="support/", locales=("fr",), read_folders=("extract/",)
    )
    assert client.get(f"/v1/prompts/{outside}/-/translations", headers=translator).status_code == (
        200
    )
    written = client.put(
        f"/v1/prompts/{outside}/-/translations/fr",
        json={"template": "Texte {{ amount }}."},
        headers=translator,
    )
    assert written.status_code == 403, written.text
    assert "may only read" in written.json()["detail"]


def test_a_translators_queue_and_export_hold_only_what_it_may_import(
    client: TestClient, make_key: Keys, outside: str
) -> None:
    """A PO file naming a prompt the key only reads would be refused whole on import."""
    make(client, "support/mine", "Thanks, {{ who }}.", ["who"])
    translator = make_key(
        "translator", folder="support/", locales=("fr",), read_folders=("extract/",)
    )
    reader = make_key("reader", folder="support/", read_folders=("extract/",))
    queued = ok(client.get("/v1/translations/queue?locale=fr", headers=translator))
    assert {p["prompt"] for p in queued["prompts"]} == {"support/mine"}
    exported = client.get("/v1/translations/export?locale=fr", headers=translator)
    assert "support/mine" in exported.text and outside not in exported.text
    imported = client.post(
        "/v1/translations/import",
        content=exported.content,
        headers={**translator, "content-type": "text/x-gettext-translation"},
    )
    assert imported.status_code == 200, imported.text
    # A reader translates nothing: it sees what it reads.
    seen = ok(client.get("/v1/translations/queue?locale=fr", headers=reader))
    assert {p["prompt"] for p in seen["prompts"]} == {"support/mine", outside}
