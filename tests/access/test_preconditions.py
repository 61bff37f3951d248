"""If-Match on label moves and translation reviews: a stale ETag gets 412 and changes
nothing, neither the label or translation nor its history nor the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"
WHO = [{"name": "who", "type": "string"}]
SOURCE = "Thank you for your order, {{ who }}."
FRENCH = "Merci pour votre commande, {{ who }}."


def newest_event(client: TestClient) -> int:
    items = client.get("/v1/audit", params={"limit": 1}).json()["items"]
    return int(items[0]["id"]) if items else 0


@pytest.fixture
def name(client: TestClient) -> str:
    """A prompt with versions 1..3 and ``staging`` on 1."""
    name = "pre/p"
    assert client.post("/v1/prompts", json={"name": name}).status_code == 201
    for number in range(1, 4):
        response = client.post(
            f"/v1/prompts/{name}/-/versions",
            json={"template": f"{SOURCE} v{number}", "variables": WHO},
        )
        assert response.status_code == 201, response.text
    assert client.put(f"/v1/prompts/{name}/-/labels/staging", json={"version": 1}).is_success
    return name


class TestLabels:
    def label(self, client: TestClient, name: str, label: str = "staging") -> Any:
        response = client.get(f"/v1/prompts/{name}/-/labels/{label}")
        assert response.status_code == 200, response.text
        return response

    def move(
        self, client: TestClient, name: str, version: int, if_match: str | None, **kw: Any
    ) -> Any:
        headers = {} if if_match is None else {"If-Match": if_match}
        label = kw.pop("label", "staging")
        return client.put(
            f"/v1/prompts/{name}/-/labels/{label}",
            json={"version": version, **kw},
            headers=headers,
        )

    def test_get_gives_an_etag(self, client: TestClient, name: str) -> None:
        response = self.label(client, name)
        etag = response.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"')
        assert response.json()["etag"] == etag
        listed = client.get(f"/v1/prompts/{name}/-/labels").json()
        assert {label["name"]: label["etag"] for label in listed}["staging"] == etag

    def test_matching_etag_moves(self, client: TestClient, name: str) -> None:
        etag = self.label(client, name).headers["etag"]
        moved = self.move(client, name, 2, etag)
        assert moved.status_code == 200, moved.text
        assert moved.json()["version"] == 2
        new = moved.headers["etag"]
        assert new != etag
        assert self.label(client, name).headers["etag"] == new
        # The new ETag is the one to send next.
        assert self.move(client, name, 3, new).status_code == 200

    def test_stale_etag_changes_nothing(self, client: TestClient, name: str) -> None:
        stale = self.label(client, name).headers["etag"]
        assert self.move(client, name, 2, None).status_code == 200  # someone else moved it
        before = self.label(client, name).json()
        mark = newest_event(client)

        refused = self.move(client, name, 3, stale, reason="mine")
        assert refused.status_code == 412, refused.text
        assert refused.headers["content-type"] == PROBLEM
        problem = refused.json()
        assert problem["status"] == 412 and "changed since you read it" in problem["detail"]
        assert problem["errors"][0]["loc"] == ["header", "If-Match"]

        after = self.label(client, name).json()
        assert after == before and after["version"] == 2
        assert newest_event(client) == mark

    def test_a_move_away_and_back_still_changes_it(self, client: TestClient, name: str) -> None:
        stale = self.label(client, name).headers["etag"]
        assert self.move(client, name, 2, None).status_code == 200
        assert self.move(client, name, 1, None).status_code == 200
        # At version 1 again, as the caller saw it, but moved twice since.
        assert self.move(client, name, 3, stale).status_code == 412
        assert self.label(client, name).json()["version"] == 1

    def test_a_list_of_etags(self, client: TestClient, name: str) -> None:
        etag = self.label(client, name).headers["etag"]
        response = self.move(client, name, 2, f'"move-0", {etag}')
        assert response.status_code == 200, response.text

    def test_star_matches_an_existing_label(self, client: TestClient, name: str) -> None:
        assert self.move(client, name, 2, "*").status_code == 200
        assert self.label(client, name).json()["version"] == 2

    @pytest.mark.parametrize("if_match", ["*", '"move-0"', '"anything"'])
    def test_a_label_that_does_not_exist(
        self, client: TestClient, name: str, if_match: str
    ) -> None:
        """The caller expected a label that is not there: 412, and it is not created."""
        mark = newest_event(client)
        refused = self.move(client, name, 2, if_match, label="canary")
        assert refused.status_code == 412, refused.text
        assert refused.headers["content-type"] == PROBLEM
        assert client.get(f"/v1/prompts/{name}/-/labels/canary").status_code == 404
        assert newest_event(client) == mark
        # Without If-Match it is simply created.
        assert self.move(client, name, 2, None, label="canary").status_code == 200

    def test_same_version_with_a_matching_etag(self, client: TestClient, name: str) -> None:
        """A move to where the label already is changes nothing, the ETag included."""
        etag = self.label(client, name).headers["etag"]
        response = self.move(client, name, 1, etag)
        assert response.status_code == 200 and response.headers["etag"] == etag
        assert self.move(client, name, 1, '"move-0"').status_code == 412

    def test_protection_is_checked_first(
        self, client: TestClient, name: str, make_key: Any
    ) -> None:
        """A key that may not move the label learns nothing about its state."""
        client.put(f"/v1/prompts/{name}/-/labels/production", json={"version": 1})
        editor = make_key("editor")
        response = client.put(
            f"/v1/prompts/{name}/-/labels/production",
            json={"version": 2},
            headers={**editor, "If-Match": '"stale"'},
        )
        assert response.status_code == 403


class TestTranslations:
    @pytest.fixture
    def fr(self, client: TestClient, name: str) -> str:
        path = f"/v1/prompts/{name}/-/translations/fr"
        assert client.put(path, json={"template": FRENCH}).status_code in (200, 201)
        return path

    def review(self, client: TestClient, path: str, action: str, if_match: str | None) -> Any:
        headers = {} if if_match is None else {"If-Match": if_match}
        return client.post(f"{path}/review", json={"action": action}, headers=headers)

    def test_get_gives_an_etag(self, client: TestClient, fr: str) -> None:
        response = client.get(fr)
        assert response.status_code == 200
        assert response.headers["etag"] == response.json()["etag"]

    def test_matching_etag_reviews(self, client: TestClient, fr: str) -> None:
        etag = client.get(fr).headers["etag"]
        submitted = self.review(client, fr, "submit", etag)
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["status"] == "in_review"
        new = submitted.headers["etag"]
        assert new != etag and client.get(fr).headers["etag"] == new
        approved = self.review(client, fr, "approve", new)
        assert approved.status_code == 200 and approved.json()["status"] == "approved"

    def test_stale_etag_changes_nothing(self, client: TestClient, fr: str) -> None:
        stale = client.get(fr).headers["etag"]
        # The translator changes the text after the reviewer read it.
        changed = client.put(fr, json={"template": FRENCH.replace("Merci", "Merci bien")})
        assert changed.status_code == 200, changed.text
        before = client.get(fr).json()
        mark = newest_event(client)

        refused = self.review(client, fr, "approve", stale)
        assert refused.status_code == 412, refused.text
        assert refused.headers["content-type"] == PROBLEM
        assert refused.json()["errors"][0]["loc"] == ["header", "If-Match"]
        after = client.get(fr).json()
        assert after == before and after["status"] == "draft"
        assert after["revision"] == before["revision"]
        assert newest_event(client) == mark
        # Read again, review what is there now.
        assert self.review(client, fr, "approve", after["etag"]).status_code == 200

    def test_star_and_lists(self, client: TestClient, fr: str) -> None:
        etag = client.get(fr).headers["etag"]
        assert self.review(client, fr, "submit", f'"old", {etag}').status_code == 200
        assert self.review(client, fr, "reject", "*").status_code == 200

    def test_a_translation_that_does_not_exist(self, client: TestClient, name: str) -> None:
        path = f"/v1/prompts/{name}/-/translations/de"
        assert self.review(client, path, "submit", "*").status_code == 404
