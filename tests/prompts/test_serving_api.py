"""Resolve and render: labels, versions, includes, caching headers, variable checks."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from factories import unique_name


def make(
    client: TestClient,
    template: str | None = None,
    *,
    name: str | None = None,
    kind: str = "text",
    messages: list[dict[str, str]] | None = None,
    variables: list[dict[str, Any]] | None = None,
    label: str | None = "production",
) -> str:
    name = name or unique_name("serve/p")
    if client.get(f"/v1/prompts/{name}").status_code == 404:
        assert client.post("/v1/prompts", json={"name": name, "kind": kind}).status_code == 201
    body: dict[str, Any] = {"variables": variables or []}
    if template is not None:
        body["template"] = template
    if messages is not None:
        body["messages"] = messages
    response = client.post(f"/v1/prompts/{name}/-/versions", json=body)
    assert response.status_code in (200, 201), response.text
    if label:
        number = response.json()["number"]
        assert (
            client.put(f"/v1/prompts/{name}/-/labels/{label}", json={"version": number}).status_code
            == 200
        )
    return name


WHO = [{"name": "who", "type": "string"}]


class TestResolve:
    def test_default_is_production(self, client: TestClient) -> None:
        name = make(client, "one")
        make(client, "two", name=name, label="staging")
        assert client.get(f"/v1/prompts/{name}/-/resolve").json()["template"] == "one"
        staging = client.get(f"/v1/prompts/{name}/-/resolve?label=staging").json()
        assert (staging["version"], staging["label"]) == (2, "staging")
        pinned = client.get(f"/v1/prompts/{name}/-/resolve?version=1").json()
        assert (pinned["template"], pinned["label"]) == ("one", None)

    def test_label_and_version_together_are_refused(self, client: TestClient) -> None:
        name = make(client, "one")
        response = client.get(f"/v1/prompts/{name}/-/resolve?label=production&version=1")
        assert response.status_code == 422

    def test_missing_label_says_how_to_set_it(self, client: TestClient) -> None:
        name = make(client, "one", label=None)
        response = client.get(f"/v1/prompts/{name}/-/resolve")
        assert response.status_code == 404
        assert f"PUT /v1/prompts/{name}/-/labels/production" in response.json()["detail"]

    def test_etag_revalidation(self, client: TestClient) -> None:
        name = make(client, "one")
        first = client.get(f"/v1/prompts/{name}/-/resolve")
        etag = first.headers["etag"]
        assert first.headers["cache-control"] == "no-cache"
        assert first.json()["etag"] == etag
        again = client.get(f"/v1/prompts/{name}/-/resolve", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        make(client, "two", name=name)
        moved = client.get(f"/v1/prompts/{name}/-/resolve", headers={"If-None-Match": etag})
        assert moved.status_code == 200
        assert moved.headers["etag"] != etag

    def test_pinned_version_is_immutable_for_caches(self, client: TestClient) -> None:
        name = make(client, "one")
        response = client.get(f"/v1/prompts/{name}/-/resolve?version=1")
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"

    def test_pinned_version_with_a_label_include_must_revalidate(self, client: TestClient) -> None:
        part = make(client, "part")
        name = make(client, f'{{% include "{part}@production" %}}')
        response = client.get(f"/v1/prompts/{name}/-/resolve?version=1")
        assert response.headers["cache-control"] == "no-cache"

    def test_archived_resolves_only_when_pinned(self, client: TestClient) -> None:
        name = make(client, "one")
        client.post(f"/v1/prompts/{name}/-/archive")
        response = client.get(f"/v1/prompts/{name}/-/resolve")
        assert response.status_code == 409
        assert "archived" in response.json()["detail"]
        assert client.get(f"/v1/prompts/{name}/-/resolve?version=1").status_code == 200


class TestIncludes:
    def test_components_are_listed_with_their_versions(self, client: TestClient) -> None:
        tone = make(client, "Be kind to {{ who }}.", variables=WHO)
        make(client, "Be very kind to {{ who }}.", name=tone, variables=WHO, label="beta")
        name = make(
            client,
            f'{{% include "{tone}@production" %}} / {{% include "{tone}@beta" %}} / '
            f'{{% include "{tone}@1" %}}',
            variables=WHO,
        )
        resolved = client.get(f"/v1/prompts/{name}/-/resolve").json()
        versions = {c["ref"]: (c["name"], c["version"]) for c in resolved["components"]}
        assert versions == {
            f"{tone}@production": (tone, 1),
            f"{tone}@beta": (tone, 2),
            f"{tone}@1": (tone, 1),
        }
        rendered = client.post(
            f"/v1/prompts/{name}/-/render", json={"variables": {"who": "Ann"}}
        ).json()
        assert rendered["text"] == "Be kind to Ann. / Be very kind to Ann. / Be kind to Ann."

    def test_moving_a_component_label_changes_the_output(self, client: TestClient) -> None:
        tone = make(client, "calm")
        name = make(client, f'{{% include "{tone}" %}}!')
        make(client, "bold", name=tone)
        rendered = client.post(f"/v1/prompts/{name}/-/render", json={}).json()
        assert rendered["text"] == "bold!"
        assert rendered["components"][0]["version"] == 2

    def test_nested_includes(self, client: TestClient) -> None:
        inner = make(client, "inner")
        middle = make(client, f'[{{% include "{inner}" %}}]')
        outer = make(client, f'<{{% include "{middle}" %}}>')
        rendered = client.post(f"/v1/prompts/{outer}/-/render", json={}).json()
        assert rendered["text"] == "<[inner]>"
        assert {c["name"] for c in rendered["components"]} == {inner, middle}

    def test_component_variables_must_be_declared_by_the_includer(self, client: TestClient) -> None:
        tone = make(client, "Hi {{ who }}", variables=WHO)
        name = unique_name("serve/p")
        client.post("/v1/prompts", json={"name": name})
        response = client.post(
            f"/v1/prompts/{name}/-/versions", json={"template": f'{{% include "{tone}" %}}'}
        )
        assert response.status_code == 422
        assert "'who' is used in an included prompt" in response.json()["detail"]

    def test_unknown_include_is_refused_at_publish(self, client: TestClient) -> None:
        name = unique_name("serve/p")
        client.post("/v1/prompts", json={"name": name})
        response = client.post(
            f"/v1/prompts/{name}/-/versions",
            json={"template": '{% include "no/such@production" %}'},
        )
        assert response.status_code == 422
        assert "no prompt is named 'no/such'" in response.json()["detail"]

    def test_chat_prompts_cannot_be_included(self, client: TestClient) -> None:
        chat = make(client, kind="chat", messages=[{"role": "user", "content": "hi"}])
        name = unique_name("serve/p")
        client.post("/v1/prompts", json={"name": name})
        response = client.post(
            f"/v1/prompts/{name}/-/versions", json={"template": f'{{% include "{chat}" %}}'}
        )
        assert response.status_code == 422
        assert "chat prompt" in response.json()["detail"]

    def test_self_include_is_a_cycle(self, client: TestClient) -> None:
        name = make(client, "base")
        response = client.post(
            f"/v1/prompts/{name}/-/versions", json={"template": f'{{% include "{name}" %}}'}
        )
        assert response.status_code == 422
        assert "include cycle" in response.json()["detail"]

    def test_cycle_through_a_label_move_is_refused(self, client: TestClient) -> None:
        a = make(client, "a")
        b = make(client, f'{{% include "{a}" %}}')
        # a@2 includes b, which includes a@production: publishing sees the cycle.
        response = client.post(
            f"/v1/prompts/{a}/-/versions", json={"template": f'{{% include "{b}" %}}'}
        )
        assert "include cycle" in response.json()["detail"]
        # Publish a@2 including b@staging (no cycle yet), then move b@staging onto a
        # version that includes a@production... and a@production onto a@2.
        make(client, "b-staging", name=b, label="staging")
        a2 = client.post(
            f"/v1/prompts/{a}/-/versions", json={"template": f'{{% include "{b}@staging" %}}'}
        )
        assert a2.status_code == 201
        make(client, f'{{% include "{a}" %}}', name=b, label="staging")
        moved = client.put(f"/v1/prompts/{a}/-/labels/production", json={"version": 2})
        assert moved.status_code == 409
        assert "include cycle" in moved.json()["detail"]
        assert client.get(f"/v1/prompts/{a}/-/resolve").json()["version"] == 1

    def test_depth_limit(self, client: TestClient) -> None:
        previous = make(client, "leaf")
        for depth in range(1, 12):
            name = unique_name("serve/deep")
            client.post("/v1/prompts", json={"name": name})
            response = client.post(
                f"/v1/prompts/{name}/-/versions",
                json={"template": f'({{% include "{previous}" %}})'},
            )
            if depth <= 10:
                assert response.status_code == 201, (depth, response.text)
                client.put(f"/v1/prompts/{name}/-/labels/production", json={"version": 1})
                previous = name
            else:
                assert response.status_code == 422
                assert "deeper than 10" in response.json()["detail"]
        rendered = client.post(f"/v1/prompts/{previous}/-/render", json={}).json()
        assert rendered["text"] == "(" * 10 + "leaf" + ")" * 10


class TestRender:
    def test_text_render(self, client: TestClient) -> None:
        name = make(
            client,
            "Hello {{ who }}{% if loud %}!{% endif %} x{{ n * 2 }}",
            variables=[
                *WHO,
                {"name": "loud", "type": "boolean", "required": False, "default": False},
                {"name": "n", "type": "integer"},
            ],
        )
        body = client.post(
            f"/v1/prompts/{name}/-/render", json={"variables": {"who": "Bo", "n": 21}}
        ).json()
        assert body["text"] == "Hello Bo x42"
        assert body["messages"] is None
        loud = client.post(
            f"/v1/prompts/{name}/-/render",
            json={"variables": {"who": "Bo", "n": 1, "loud": True}},
        ).json()
        assert loud["text"] == "Hello Bo! x2"

    def test_chat_render_is_openai_shaped(self, client: TestClient) -> None:
        name = make(
            client,
            kind="chat",
            messages=[
                {"role": "system", "content": "You help {{ who }}."},
                {"role": "user", "content": "Question: {{ q }}"},
            ],
            variables=[*WHO, {"name": "q"}],
        )
        body = client.post(
            f"/v1/prompts/{name}/-/render", json={"variables": {"who": "Al", "q": "why?"}}
        ).json()
        assert body["messages"] == [
            {"role": "system", "content": "You help Al."},
            {"role": "user", "content": "Question: why?"},
        ]
        assert body["text"] is None

    def test_few_shot_loop_over_a_list(self, client: TestClient) -> None:
        name = make(
            client,
            "{% for e in examples %}{{ e.text }} => {{ e.label }}\n{% endfor %}{{ review }} =>",
            variables=[{"name": "examples", "type": "list"}, {"name": "review"}],
        )
        examples = [{"text": "good", "label": "pos"}, {"text": "bad", "label": "neg"}]
        body = client.post(
            f"/v1/prompts/{name}/-/render",
            json={"variables": {"examples": examples, "review": "meh"}},
        ).json()
        assert body["text"] == "good => pos\nbad => neg\nmeh =>"

    def test_missing_and_mistyped_variables_are_named(self, client: TestClient) -> None:
        name = make(
            client,
            "{{ who }} {{ n }}",
            variables=[*WHO, {"name": "n", "type": "integer"}],
        )
        response = client.post(
            f"/v1/prompts/{name}/-/render", json={"variables": {"n": "three", "extra": 1}}
        )
        assert response.status_code == 422
        errors = {tuple(e["loc"]): e["message"] for e in response.json()["errors"]}
        assert errors[("variables", "who")] == "'who' is required"
        assert "must be of type integer, got string" in errors[("variables", "n")]
        assert "not a declared variable" in errors[("variables", "extra")]

    def test_booleans_are_not_integers(self, client: TestClient) -> None:
        name = make(client, "{{ n }}", variables=[{"name": "n", "type": "integer"}])
        response = client.post(f"/v1/prompts/{name}/-/render", json={"variables": {"n": True}})
        assert response.status_code == 422

    def test_defaults_apply(self, client: TestClient) -> None:
        name = make(
            client,
            "{{ greeting }}, {{ who }}",
            variables=[*WHO, {"name": "greeting", "required": False, "default": "Hi"}],
        )
        body = client.post(f"/v1/prompts/{name}/-/render", json={"variables": {"who": "Cy"}})
        assert body.json()["text"] == "Hi, Cy"

    def test_known_escape_strings_are_refused_at_publish(self, client: TestClient) -> None:
        name = make(client, "safe")
        for escape in [
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            "{{ self.__init__.__globals__.__builtins__ }}",
            "{{ lipsum.__globals__['os'].popen('id').read() }}",
            "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
            "{{ ''['__class__'] }}",
            "{{ namespace.__init__.__globals__ }}",
        ]:
            response = client.post(f"/v1/prompts/{name}/-/versions", json={"template": escape})
            assert response.status_code == 422, escape
            assert "private attribute" in response.json()["detail"], escape

    def test_sandbox_refuses_escapes_at_render(self, client: TestClient) -> None:
        variables = [{"name": "a"}, {"name": "b"}]
        attempts = {
            "{{ cycler.reset | attr(a) | attr(b) }}": {"a": "__globals__", "b": "os"},
            "{{ cycler | attr(a) }}{{ b }}": {"a": "__init__", "b": "x"},
            "{{ a[b] }}": {"a": "text", "b": "__class__"},
            '{{ "{0.__class__}".format(a) }}{{ b }}': {"a": "x", "b": "y"},
            "{{ (a | attr(b)) | attr(b) }}": {"a": "x", "b": "__class__"},
        }
        for template, values in attempts.items():
            name = make(client, template, variables=variables)
            response = client.post(f"/v1/prompts/{name}/-/render", json={"variables": values})
            assert response.status_code == 422, template
            problem = response.json()
            assert problem["type"] == "/problems/render-failed", template
            assert "sandbox" in problem["detail"] or "unsafe" in problem["detail"], template

    def test_huge_ranges_are_refused(self, client: TestClient) -> None:
        name = make(
            client,
            "{% for i in range(n) %}x{% endfor %}",
            variables=[{"name": "n", "type": "integer"}],
        )
        response = client.post(f"/v1/prompts/{name}/-/render", json={"variables": {"n": 10**9}})
        assert response.status_code == 422

    def test_runtime_errors_are_422(self, client: TestClient) -> None:
        name = make(client, "{{ 1 / n }}", variables=[{"name": "n", "type": "integer"}])
        response = client.post(f"/v1/prompts/{name}/-/render", json={"variables": {"n": 0}})
        assert response.status_code == 422
        assert "division" in response.json()["detail"]
