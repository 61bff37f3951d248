"""Publishing immutable versions, variable declarations, model config and diffs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from registry.prompts import models
from registry.prompts.models import ImmutableVersionError

from factories import make_prompt, unique_name


def new_prompt(client: TestClient, kind: str = "text") -> str:
    name = unique_name("versions/p")
    assert client.post("/v1/prompts", json={"name": name, "kind": kind}).status_code == 201
    return name


def publish(client: TestClient, name: str, **body: Any) -> Any:
    body.setdefault("variables", [{"name": "who", "type": "string"}])
    return client.post(f"/v1/prompts/{name}/-/versions", json=body)


class TestPublish:
    def test_versions_are_numbered_from_one(self, client: TestClient) -> None:
        name = new_prompt(client)
        first = publish(client, name, template="Hi {{ who }}", message="first")
        second = publish(client, name, template="Hello {{ who }}")
        assert (first.status_code, second.status_code) == (201, 201)
        assert (first.json()["number"], second.json()["number"]) == (1, 2)
        assert second.headers["location"] == f"/v1/prompts/{name}/-/versions/2"
        assert first.json()["author"] == "admin"
        assert first.json()["message"] == "first"

    def test_the_author_is_the_owner_of_the_key(
        self, client: TestClient, make_key: Callable[..., dict[str, str]]
    ) -> None:
        name = new_prompt(client)
        response = client.post(
            f"/v1/prompts/{name}/-/versions",
            json={"template": "x"},
            headers=make_key("editor", owner="ada"),
        )
        assert response.json()["author"] == "ada"

    def test_same_content_is_idempotent(self, client: TestClient) -> None:
        name = new_prompt(client)
        first = publish(client, name, template="Hi {{ who }}", message="one")
        again = publish(client, name, template="Hi {{ who }}", message="another message")
        assert again.status_code == 200
        assert again.json()["number"] == first.json()["number"] == 1
        assert len(client.get(f"/v1/prompts/{name}/-/versions").json()["items"]) == 1

    @pytest.mark.parametrize("kind", ["text", "chat"])
    def test_the_answer_is_the_version_as_stored(self, client: TestClient, kind: str) -> None:
        name = new_prompt(client, kind=kind)
        body: dict[str, Any] = {
            "message": "with config and a style finding",
            "config": {"model": "gpt-4o", "temperature": 0.2, "stop": ["END"]},
            "variables": [{"name": "who", "type": "string", "description": "Name."}],
        }
        text = "Ask the chairman to help {{ who }} today."
        if kind == "text":
            body["template"] = text
        else:
            body["messages"] = [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": text},
            ]
        published = client.post(f"/v1/prompts/{name}/-/versions", json=body)
        assert published.status_code == 201, published.text
        assert published.json()["style"]["findings"]
        assert published.json() == client.get(f"/v1/prompts/{name}/-/versions/1").json()

    def test_going_back_to_older_content_is_a_new_version(self, client: TestClient) -> None:
        name = new_prompt(client)
        publish(client, name, template="A {{ who }}")
        publish(client, name, template="B {{ who }}")
        third = publish(client, name, template="A {{ who }}")
        assert (third.status_code, third.json()["number"]) == (201, 3)

    def test_chat_prompt_takes_messages(self, client: TestClient) -> None:
        name = new_prompt(client, kind="chat")
        response = publish(
            client,
            name,
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "{{ who }}?"},
            ],
        )
        assert response.status_code == 201
        assert response.json()["messages"][1] == {"role": "user", "content": "{{ who }}?"}

    def test_wrong_kind_is_a_conflict(self, client: TestClient) -> None:
        chat = new_prompt(client, kind="chat")
        response = publish(client, chat, template="Hi {{ who }}")
        assert response.status_code == 409
        assert "chat prompt" in response.json()["detail"]
        text_prompt = new_prompt(client)
        response = publish(client, text_prompt, messages=[{"role": "user", "content": "x"}])
        assert response.status_code == 409

    def test_template_and_messages_together_are_refused(self, client: TestClient) -> None:
        name = new_prompt(client)
        response = publish(client, name, template="x", messages=[{"role": "user", "content": "y"}])
        assert response.status_code == 422

    def test_unknown_prompt_is_404(self, client: TestClient) -> None:
        assert publish(client, "no/such-prompt", template="x").status_code == 404

    def test_syntax_error_reports_line_and_column(self, client: TestClient) -> None:
        name = new_prompt(client)
        response = publish(client, name, template="line one\nHi {% bogus %} {{ who }}")
        assert response.status_code == 422
        error = response.json()["errors"][0]
        assert error["loc"] == ["body", "template"]
        assert (error["line"], error["column"]) == (2, 7)
        assert "bogus" in error["message"]

    def test_unclosed_block_is_reported(self, client: TestClient) -> None:
        name = new_prompt(client)
        response = publish(client, name, template="{% if who %}\nHi {{ who }}\n")
        assert response.status_code == 422
        assert response.json()["type"] == "/problems/invalid-template"

    def test_chat_message_errors_point_at_the_message(self, client: TestClient) -> None:
        name = new_prompt(client, kind="chat")
        response = publish(
            client,
            name,
            messages=[
                {"role": "system", "content": "fine {{ who }}"},
                {"role": "user", "content": "{{ who "},
            ],
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "messages", 1, "content"]

    def test_extends_and_dynamic_includes_are_refused(self, client: TestClient) -> None:
        name = new_prompt(client)
        for template in ['{% extends "x" %}', "{% include who %}", '{% import "x" as y %}']:
            response = publish(client, name, template=template)
            assert response.status_code == 422, template


class TestVariables:
    def test_undeclared_and_unused_are_each_listed(self, client: TestClient) -> None:
        name = new_prompt(client)
        response = publish(
            client,
            name,
            template="{{ a }} {{ b }}",
            variables=[{"name": "a"}, {"name": "c"}, {"name": "d"}],
        )
        assert response.status_code == 422
        messages = [e["message"] for e in response.json()["errors"]]
        assert len(messages) == 3
        assert any("'b' is used" in m for m in messages)
        assert any("'c' is declared" in m for m in messages)
        assert any("'d' is declared" in m for m in messages)

    def test_loop_and_set_variables_need_no_declaration(self, client: TestClient) -> None:
        name = new_prompt(client)
        response = publish(
            client,
            name,
            template=(
                "{% set n = items | length %}{% for item in items %}{{ item }}{% endfor %}{{ n }}"
            ),
            variables=[{"name": "items", "type": "list"}],
        )
        assert response.status_code == 201, response.text

    def test_default_must_match_type(self, client: TestClient) -> None:
        name = new_prompt(client)
        response = publish(
            client,
            name,
            template="{{ n }}",
            variables=[{"name": "n", "type": "integer", "required": False, "default": "3"}],
        )
        assert response.status_code == 422
        assert "not of type integer" in response.json()["detail"]

    def test_declared_twice_is_refused(self, client: TestClient) -> None:
        name = new_prompt(client)
        response = publish(
            client, name, template="{{ a }}", variables=[{"name": "a"}, {"name": "a"}]
        )
        assert response.status_code == 422
        assert "declared twice: a" in response.json()["detail"]

    def test_bad_variable_type_is_refused(self, client: TestClient) -> None:
        name = new_prompt(client)
        response = publish(
            client, name, template="{{ a }}", variables=[{"name": "a", "type": "date"}]
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"][:3] == ["body", "variables", 0]


class TestModelConfig:
    @pytest.mark.parametrize(
        "config",
        [
            {"temperature": 2.5},
            {"temperature": -0.1},
            {"top_p": 1.5},
            {"max_tokens": 0},
            {"stop": ["a", "b", "c", "d", "e"]},
            {"presence_penalty": 3},
            {"frequency_penalty": -2.5},
            {"response_format": {"type": "yaml"}},
            {"unknown_setting": 1},
        ],
    )
    def test_out_of_range_values_are_refused(
        self, client: TestClient, config: dict[str, Any]
    ) -> None:
        name = new_prompt(client)
        response = publish(client, name, template="{{ who }}", config=config)
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"][:2] == ["body", "config"]

    def test_valid_config_is_stored(self, client: TestClient) -> None:
        name = new_prompt(client)
        config = {
            "model": "gpt-4o",
            "temperature": 0.7,
            "top_p": 0.9,
            "max_tokens": 256,
            "stop": ["\n\n"],
            "seed": 42,
            "response_format": {"type": "json_object"},
            "presence_penalty": 0.5,
            "frequency_penalty": -0.5,
            "extra": {"logit_bias": {"50256": -100}},
        }
        number = publish(client, name, template="{{ who }}", config=config).json()["number"]
        stored = client.get(f"/v1/prompts/{name}/-/versions/{number}").json()["config"]
        assert stored == config


class TestImmutability:
    def test_no_endpoint_changes_a_version(self, client: TestClient) -> None:
        name = new_prompt(client)
        publish(client, name, template="{{ who }}")
        url = f"/v1/prompts/{name}/-/versions/1"
        for method in ("PUT", "PATCH", "DELETE"):
            # 405, or 422 where the generic prompt route reads the path as a bad name.
            assert client.request(method, url, json={"template": "x"}).status_code in (405, 422)
        assert client.get(url).json()["template"] == "{{ who }}"

    def test_the_orm_refuses_changes(self, session: Session) -> None:
        name = make_prompt(session)
        version = (
            session.query(models.PromptVersion)
            .join(models.Prompt)
            .filter(models.Prompt.name == name)
            .one()
        )
        version.template = "changed"
        with pytest.raises(ImmutableVersionError):
            session.flush()
        session.rollback()

    def test_the_orm_refuses_deletes(self, session: Session) -> None:
        name = make_prompt(session, labels=())
        version = (
            session.query(models.PromptVersion)
            .join(models.Prompt)
            .filter(models.Prompt.name == name)
            .one()
        )
        session.delete(version)
        with pytest.raises(ImmutableVersionError):
            session.flush()
        session.rollback()

    def test_the_database_refuses_changes(self, session: Session) -> None:
        make_prompt(session, labels=())
        with pytest.raises(DBAPIError, match="immutable"):
            session.execute(text("UPDATE prompt_versions SET template = 'changed'"))
        session.rollback()
        make_prompt(session, labels=())
        with pytest.raises(DBAPIError, match="immutable"):
            session.execute(text("DELETE FROM prompt_versions"))


class TestListAndGet:
    def test_versions_newest_first_with_cursor(self, client: TestClient) -> None:
        name = new_prompt(client)
        for i in range(5):
            publish(client, name, template=f"v{i} {{{{ who }}}}")
        page = client.get(f"/v1/prompts/{name}/-/versions", params={"limit": 2}).json()
        assert [v["number"] for v in page["items"]] == [5, 4]
        rest = client.get(
            f"/v1/prompts/{name}/-/versions", params={"cursor": page["next_cursor"]}
        ).json()
        assert [v["number"] for v in rest["items"]] == [3, 2, 1]
        assert rest["next_cursor"] is None

    def test_missing_version_is_404(self, client: TestClient) -> None:
        name = new_prompt(client)
        publish(client, name, template="{{ who }}")
        response = client.get(f"/v1/prompts/{name}/-/versions/9")
        assert response.status_code == 404
        assert "newest is 1" in response.json()["detail"]


class TestDiff:
    def test_text_variables_and_config_changes(self, client: TestClient) -> None:
        name = new_prompt(client)
        publish(
            client,
            name,
            template="Hello {{ who }}\nBye\n",
            config={"temperature": 0.2, "model": "a"},
        )
        publish(
            client,
            name,
            template="Hello {{ who }}\nSee you, {{ when }}\n",
            variables=[
                {"name": "who", "type": "string", "description": "name"},
                {"name": "when", "type": "string"},
            ],
            config={"temperature": 0.5, "seed": 1},
        )
        diff = client.get(f"/v1/prompts/{name}/-/diff", params={"from": 1, "to": 2}).json()
        assert "-Bye\n" in diff["content"]
        assert "+See you, {{ when }}\n" in diff["content"]
        assert diff["content"].startswith(f"--- {name}@1\n+++ {name}@2\n")
        changes = {(c["path"], c["change"]) for c in diff["variables"]}
        assert changes == {("who.description", "changed"), ("when", "added")}
        config = {c["path"]: (c["change"], c["before"], c["after"]) for c in diff["config"]}
        assert config == {
            "model": ("removed", "a", None),
            "temperature": ("changed", 0.2, 0.5),
            "seed": ("added", None, 1),
        }

    def test_chat_diff_names_the_message(self, client: TestClient) -> None:
        name = new_prompt(client, kind="chat")
        publish(client, name, messages=[{"role": "user", "content": "{{ who }}"}])
        publish(
            client,
            name,
            messages=[
                {"role": "system", "content": "Be kind."},
                {"role": "user", "content": "{{ who }}"},
            ],
        )
        diff = client.get(f"/v1/prompts/{name}/-/diff?from=1&to=2").json()
        assert "+--- message 1 (system) ---" in diff["content"]

    def test_diff_needs_existing_versions(self, client: TestClient) -> None:
        name = new_prompt(client)
        publish(client, name, template="{{ who }}")
        assert client.get(f"/v1/prompts/{name}/-/diff?from=1&to=3").status_code == 404
        assert client.get(f"/v1/prompts/{name}/-/diff?from=1").status_code == 422
