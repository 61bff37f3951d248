"""Creating, finding, updating and archiving prompts through the HTTP API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from factories import unique_name


def create(client: TestClient, name: str, **fields: object) -> dict[str, object]:
    response = client.post("/v1/prompts", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


class TestCreatePrompt:
    def test_created_prompt_is_readable(self, client: TestClient) -> None:
        name = unique_name("support/greeting")
        body = create(client, name, kind="chat", description="Hi", tags=["support", "chat"])
        assert body["kind"] == "chat"
        assert body["latest_version"] is None
        fetched = client.get(f"/v1/prompts/{name}").json()
        assert fetched["tags"] == ["chat", "support"]
        assert fetched["description"] == "Hi"

    def test_duplicate_name_is_a_conflict(self, client: TestClient) -> None:
        name = unique_name()
        create(client, name)
        response = client.post("/v1/prompts", json={"name": name})
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["loc"] == ["body", "name"]

    def test_malformed_names_get_the_pattern(self, client: TestClient) -> None:
        for bad in ["Upper/Case", "trailing/", "/leading", "a//b", "-dash", "sp ace", "a/-/b"]:
            response = client.post("/v1/prompts", json={"name": bad})
            assert response.status_code == 422, bad
            problem = response.json()
            assert problem["errors"][0]["loc"] == ["body", "name"]
            assert "[a-z0-9][a-z0-9._-]*" in problem["errors"][0]["message"]

    def test_unknown_fields_are_refused(self, client: TestClient) -> None:
        response = client.post("/v1/prompts", json={"name": unique_name(), "colour": "red"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "colour"]

    def test_missing_prompt_is_404_problem(self, client: TestClient) -> None:
        response = client.get("/v1/prompts/does/not-exist")
        assert response.status_code == 404
        problem = response.json()
        assert problem["type"] == "/problems/not-found"
        assert "does/not-exist" in problem["detail"]


class TestListPrompts:
    def test_filters_by_folder_tag_and_text(self, client: TestClient) -> None:
        folder = unique_name("folder")
        create(client, f"{folder}/alpha", tags=["red"], description="Classifies tickets")
        create(client, f"{folder}/beta", tags=["blue"])
        create(client, f"{folder}x/gamma", tags=["red"])
        names = [p["name"] for p in client.get(f"/v1/prompts?prefix={folder}/").json()["items"]]
        assert names == [f"{folder}/alpha", f"{folder}/beta"]
        tagged = client.get(f"/v1/prompts?prefix={folder}&tag=red").json()["items"]
        assert [p["name"] for p in tagged] == [f"{folder}/alpha"]
        found = client.get(f"/v1/prompts?prefix={folder}&q=TICKETS").json()["items"]
        assert [p["name"] for p in found] == [f"{folder}/alpha"]

    def test_text_search_treats_wildcards_literally(self, client: TestClient) -> None:
        folder = unique_name("wild")
        create(client, f"{folder}/a", description="100% sure")
        create(client, f"{folder}/b", description="1000 sure")
        found = client.get(f"/v1/prompts?prefix={folder}", params={"q": "0%"}).json()["items"]
        assert [p["name"] for p in found] == [f"{folder}/a"]

    def test_cursor_pages_through_everything_once(self, client: TestClient) -> None:
        folder = unique_name("paged")
        expected = [f"{folder}/p{i:02d}" for i in range(7)]
        for name in expected:
            create(client, name)
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, object] = {"prefix": folder, "limit": 3}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/v1/prompts", params=params).json()
            seen.extend(p["name"] for p in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected

    def test_bad_cursor_is_422(self, client: TestClient) -> None:
        response = client.get("/v1/prompts", params={"cursor": "not-a-cursor!"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["query", "cursor"]

    def test_limit_is_bounded(self, client: TestClient) -> None:
        assert client.get("/v1/prompts", params={"limit": 100_000}).status_code == 422


class TestUpdateAndArchive:
    def test_update_description_and_tags(self, client: TestClient) -> None:
        name = unique_name()
        create(client, name, tags=["a", "b"])
        body = client.patch(f"/v1/prompts/{name}", json={"tags": ["b", "c"]}).json()
        assert body["tags"] == ["b", "c"]
        body = client.patch(f"/v1/prompts/{name}", json={"description": "new"}).json()
        assert body["description"] == "new"
        assert body["tags"] == ["b", "c"]

    def test_kind_cannot_change(self, client: TestClient) -> None:
        name = unique_name()
        create(client, name)
        assert client.patch(f"/v1/prompts/{name}", json={"kind": "chat"}).status_code == 422

    def test_archived_prompt_is_hidden_but_kept(self, client: TestClient) -> None:
        name = unique_name("archive")
        create(client, name)
        assert client.post(f"/v1/prompts/{name}/-/archive").json()["archived"] is True
        listed = client.get("/v1/prompts", params={"prefix": name}).json()["items"]
        assert listed == []
        listed = client.get(
            "/v1/prompts", params={"prefix": name, "include_archived": True}
        ).json()["items"]
        assert [p["name"] for p in listed] == [name]
        assert client.get(f"/v1/prompts/{name}").json()["archived"] is True
        assert client.post(f"/v1/prompts/{name}/-/restore").json()["archived"] is False
