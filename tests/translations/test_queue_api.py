"""The translator's queue: what is missing, stale or in review, per prompt and per folder."""

from __future__ import annotations

from fastapi.testclient import TestClient

from factories import unique_name

WHO = [{"name": "who", "type": "string"}]


def publish(client: TestClient, name: str, template: str) -> None:
    if client.get(f"/v1/prompts/{name}").status_code == 404:
        client.post("/v1/prompts", json={"name": name})
    response = client.post(
        f"/v1/prompts/{name}/-/versions", json={"template": template, "variables": WHO}
    )
    assert response.status_code == 201, response.text


def test_states_counts_and_completeness(client: TestClient) -> None:
    root = unique_name("queue")
    publish(client, f"{root}/a/one", "One for {{ who }}, with care.")
    publish(client, f"{root}/a/two", "Two for {{ who }}, with care.")
    publish(client, f"{root}/b/three", "Three for {{ who }}, with care.")
    publish(client, f"{root}/b/four", "Four for {{ who }}, with care.")
    url = f"/v1/prompts/{root}/a/one/-/translations/fr"
    client.put(url, json={"template": "Un pour {{ who }}, avec soin."})
    client.post(f"{url}/review", json={"action": "approve"})
    client.put(
        f"/v1/prompts/{root}/a/two/-/translations/fr",
        json={"template": "Deux pour {{ who }}, avec soin.", "status": "in_review"},
    )
    client.put(
        f"/v1/prompts/{root}/b/three/-/translations/fr",
        json={"template": "Trois pour {{ who }}, avec soin."},
    )
    client.post(f"/v1/prompts/{root}/b/three/-/translations/fr/review", json={"action": "approve"})
    publish(client, f"{root}/b/three", "Three for {{ who }}, with great care.")

    queue = client.get("/v1/translations/queue", params={"locale": "fr", "prefix": root}).json()
    assert queue["locale"] == "fr"
    states = {i["prompt"].removeprefix(root + "/"): i["state"] for i in queue["prompts"]}
    assert states == {
        "a/one": "approved",
        "a/two": "in_review",
        "b/three": "stale",
        "b/four": "missing",
    }
    assert [i["prompt"] for i in queue["items"]] == [
        f"{root}/a/two",
        f"{root}/b/four",
        f"{root}/b/three",
    ]
    folders = {f["folder"].removeprefix(root): f for f in queue["folders"]}
    assert folders["/a"]["completeness"] == 0.5
    assert folders["/b"]["completeness"] == 0.0
    assert folders["/b"]["counts"] == {"missing": 1, "stale": 1}
    assert folders[""]["prompts"] == 4
    assert queue["total"]["approved"] == 1
    assert queue["total"]["completeness"] == 0.25


def test_source_locale_prompts_are_not_queued(client: TestClient) -> None:
    root = unique_name("queue")
    client.post("/v1/prompts", json={"name": f"{root}/fr", "source_locale": "fr"})
    client.post(f"/v1/prompts/{root}/fr/-/versions", json={"template": "Bonjour"})
    queue = client.get("/v1/translations/queue", params={"locale": "fr", "prefix": root}).json()
    assert queue["prompts"] == []


def test_bad_locale(client: TestClient) -> None:
    response = client.get("/v1/translations/queue", params={"locale": "nope-nope"})
    assert response.status_code == 422
