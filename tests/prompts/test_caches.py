"""Every in-process cache stays correct: what changes in the store is served at once."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry.prompts import service

from factories import make_prompt, publish, unique_name


class TestServedVersions:
    def test_an_id_reused_after_a_rollback_never_serves_old_content(self, session: Session) -> None:
        name = make_prompt(session, template="first {{ who }}", labels=())
        savepoint = session.begin_nested()
        publish(session, name=name, template="rolled back {{ who }}")
        assert service.resolve(session, name, label="latest").resolved.template == (
            "rolled back {{ who }}"
        )
        savepoint.rollback()
        publish(session, name=name, template="kept {{ who }}")
        # Same id and number as the rolled-back version on SQLite; other content.
        assert service.resolve(session, name, label="latest").resolved.template == (
            "kept {{ who }}"
        )

    def test_label_moves_are_seen_by_the_next_resolve(self, client: TestClient) -> None:
        name = unique_name("cache/p")
        client.post("/v1/prompts", json={"name": name})
        for text in ("one", "two"):
            client.post(f"/v1/prompts/{name}/-/versions", json={"template": text})
        client.put(f"/v1/prompts/{name}/-/labels/production", json={"version": 1})
        assert client.get(f"/v1/prompts/{name}/-/resolve").json()["template"] == "one"
        client.put(f"/v1/prompts/{name}/-/labels/production", json={"version": 2})
        assert client.get(f"/v1/prompts/{name}/-/resolve").json()["template"] == "two"

    def test_archiving_is_seen_by_the_next_resolve(self, client: TestClient) -> None:
        name = unique_name("cache/p")
        client.post("/v1/prompts", json={"name": name})
        client.post(
            f"/v1/prompts/{name}/-/versions", json={"template": "x", "labels": ["production"]}
        )
        assert client.get(f"/v1/prompts/{name}/-/resolve").status_code == 200
        client.post(f"/v1/prompts/{name}/-/archive")
        assert client.get(f"/v1/prompts/{name}/-/resolve").status_code == 409


class TestCompiledGuides:
    def test_a_changed_base_guide_is_used_at_once(self, client: TestClient) -> None:
        base = "rules:\n  no-foo:\n    kind: existence\n    level: warning\n    tokens: [foo]\n"
        client.put("/v1/style-guides/cache-base", json={"source": base})
        client.put("/v1/style-guides/cache-child", json={"source": "extends: cache-base\n"})
        body = {"template": "foo bar", "guide": "cache-child"}
        first = client.post("/v1/lint", json=body).json()
        assert [f["level"] for f in first["findings"] if f["rule"] == "no-foo"] == ["warning"]
        client.put("/v1/style-guides/cache-base", json={"source": base.replace("warning", "error")})
        second = client.post("/v1/lint", json=body).json()
        assert [f["level"] for f in second["findings"] if f["rule"] == "no-foo"] == ["error"]
