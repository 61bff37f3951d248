"""Labels: moving, history, rollback, and the implicit `latest`."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from factories import unique_name


def prompt_with_versions(client: TestClient, count: int) -> str:
    name = unique_name("labels/p")
    client.post("/v1/prompts", json={"name": name})
    for i in range(count):
        response = client.post(f"/v1/prompts/{name}/-/versions", json={"template": f"v{i + 1}"})
        assert response.status_code == 201
    return name


def move(client: TestClient, name: str, label: str, version: int, **extra: object) -> object:
    return client.put(f"/v1/prompts/{name}/-/labels/{label}", json={"version": version, **extra})


class TestLabels:
    def test_move_records_from_to_who_and_why(
        self, client: TestClient, make_key: Callable[..., dict[str, str]]
    ) -> None:
        name = prompt_with_versions(client, 3)
        move(client, name, "production", 1, reason="launch")
        response = client.put(
            f"/v1/prompts/{name}/-/labels/production",
            json={"version": 3, "reason": "better"},
            headers=make_key("reviewer", owner="grace"),
        )
        assert response.status_code == 200
        label = response.json()
        assert label["version"] == 3
        assert label["updated_by"] == "grace"
        newest, oldest = label["history"]
        assert (newest["from_version"], newest["to_version"], newest["reason"]) == (1, 3, "better")
        assert newest["actor"] == "grace"
        assert (oldest["from_version"], oldest["to_version"]) == (None, 1)

    def test_rollback_is_moving_back(self, client: TestClient) -> None:
        name = prompt_with_versions(client, 2)
        move(client, name, "production", 1)
        move(client, name, "production", 2)
        move(client, name, "production", 1, reason="rollback")
        resolved = client.get(f"/v1/prompts/{name}/-/resolve").json()
        assert (resolved["version"], resolved["template"]) == (1, "v1")
        history = client.get(f"/v1/prompts/{name}/-/labels/production").json()["history"]
        assert [(h["from_version"], h["to_version"]) for h in history] == [
            (2, 1),
            (1, 2),
            (None, 1),
        ]

    def test_setting_the_same_version_records_nothing(self, client: TestClient) -> None:
        name = prompt_with_versions(client, 1)
        move(client, name, "staging", 1)
        move(client, name, "staging", 1)
        assert len(client.get(f"/v1/prompts/{name}/-/labels/staging").json()["history"]) == 1

    def test_list_labels_and_prompt_view(self, client: TestClient) -> None:
        name = prompt_with_versions(client, 2)
        move(client, name, "production", 1)
        move(client, name, "staging", 2)
        labels = client.get(f"/v1/prompts/{name}/-/labels").json()
        assert [(lb["name"], lb["version"]) for lb in labels] == [
            ("production", 1),
            ("staging", 2),
        ]
        assert client.get(f"/v1/prompts/{name}").json()["labels"] == {
            "production": 1,
            "staging": 2,
        }

    def test_latest_is_implicit_and_not_settable(self, client: TestClient) -> None:
        name = prompt_with_versions(client, 2)
        response = move(client, name, "latest", 1)
        assert response.status_code == 422
        assert "latest" in response.json()["detail"]
        assert client.get(f"/v1/prompts/{name}/-/resolve?label=latest").json()["version"] == 2

    def test_missing_version_is_refused(self, client: TestClient) -> None:
        name = prompt_with_versions(client, 1)
        response = move(client, name, "production", 5)
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "version"]

    def test_bad_label_names_are_refused(self, client: TestClient) -> None:
        name = prompt_with_versions(client, 1)
        for bad in ["Prod", "123", "with space", "x" * 65]:
            assert move(client, name, bad, 1).status_code == 422, bad

    def test_unknown_label_is_404(self, client: TestClient) -> None:
        name = prompt_with_versions(client, 1)
        assert client.get(f"/v1/prompts/{name}/-/labels/canary").status_code == 404


class TestPublishWithLabels:
    def test_labels_move_with_the_publish(self, client: TestClient) -> None:
        name = unique_name("labels/p")
        client.post("/v1/prompts", json={"name": name})
        first = client.post(
            f"/v1/prompts/{name}/-/versions",
            json={"template": "v1", "labels": ["production", "staging"], "message": "launch"},
        )
        assert first.status_code == 201
        assert client.get(f"/v1/prompts/{name}").json()["labels"] == {"production": 1, "staging": 1}
        history = client.get(f"/v1/prompts/{name}/-/labels/production").json()["history"]
        assert (history[0]["to_version"], history[0]["reason"]) == (1, "launch")
        # Same content again: no new version, but the label still moves.
        again = client.post(
            f"/v1/prompts/{name}/-/versions", json={"template": "v1", "labels": ["canary"]}
        )
        assert (again.status_code, again.json()["number"]) == (200, 1)
        assert client.get(f"/v1/prompts/{name}").json()["labels"]["canary"] == 1

    def test_a_refused_label_refuses_the_publish(self, client: TestClient) -> None:
        name = unique_name("labels/p")
        client.post("/v1/prompts", json={"name": name})
        response = client.post(
            f"/v1/prompts/{name}/-/versions", json={"template": "v1", "labels": ["latest"]}
        )
        assert response.status_code == 422
        assert client.get(f"/v1/prompts/{name}").json()["latest_version"] is None
