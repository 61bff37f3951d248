"""The tests' ``client`` (every session a savepoint of the test's transaction) serves kept
resolutions as the app serves them: the API tests run the path production runs."""

from __future__ import annotations

from fastapi.testclient import TestClient

from registry.prompts.kept import KeptResolutions

from factories import unique_name


def test_a_repeated_resolve_and_render_are_served_from_memory(client: TestClient) -> None:
    name = unique_name("kept/p")
    assert client.post("/v1/prompts", json={"name": name}).status_code == 201
    body = {"template": "Hello {{ who }}", "variables": [{"name": "who"}]}
    for template in ("Hello {{ who }}", "Hi {{ who }}"):
        body["template"] = template
        assert client.post(f"/v1/prompts/{name}/-/versions", json=body).status_code == 201
    client.put(f"/v1/prompts/{name}/-/labels/production", json={"version": 1})
    kept: KeptResolutions = client.app.state.kept_resolutions  # type: ignore[attr-defined]
    url = f"/v1/prompts/{name}/-/resolve"
    first = client.get(url, params={"locale": "fr"})
    hits = kept.hits
    assert client.get(url, params={"locale": "fr"}).content == first.content
    assert kept.hits == hits + 1
    render = {"variables": {"who": "Ann"}, "locale": "fr"}
    assert client.post(f"/v1/prompts/{name}/-/render", json=render).json()["text"] == "Hello Ann"
    assert kept.hits == hits + 2  # the resolve kept above
    client.put(f"/v1/prompts/{name}/-/labels/production", json={"version": 2})
    assert client.get(url, params={"locale": "fr"}).json()["version"] == 2
    assert kept.hits == hits + 2
    assert client.get(url, params={"locale": "fr"}).json()["version"] == 2
    assert kept.hits == hits + 3
