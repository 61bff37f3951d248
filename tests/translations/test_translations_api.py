"""Translations through the API: submit, checks, review, staleness, serving with fallback."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from factories import unique_name

WHO = [{"name": "who", "type": "string"}]


def make(
    client: TestClient,
    template: str | None = "Hello {{ who }}, welcome to our shop.",
    *,
    name: str | None = None,
    kind: str = "text",
    messages: list[dict[str, str]] | None = None,
    variables: list[dict[str, Any]] | None = None,
    source_locale: str = "en",
    label: str | None = "production",
) -> str:
    name = name or unique_name("i18n/p")
    if client.get(f"/v1/prompts/{name}").status_code == 404:
        created = client.post(
            "/v1/prompts", json={"name": name, "kind": kind, "source_locale": source_locale}
        )
        assert created.status_code == 201, created.text
    body: dict[str, Any] = {"variables": WHO if variables is None else variables}
    if kind == "text":
        body["template"] = template
    else:
        body["messages"] = messages
    response = client.post(f"/v1/prompts/{name}/-/versions", json=body)
    assert response.status_code in (200, 201), response.text
    if label:
        client.put(
            f"/v1/prompts/{name}/-/labels/{label}", json={"version": response.json()["number"]}
        )
    return name


def translate(client: TestClient, name: str, locale: str, template: str, **extra: Any) -> Any:
    return client.put(
        f"/v1/prompts/{name}/-/translations/{locale}", json={"template": template, **extra}
    )


def approve(client: TestClient, name: str, locale: str, **extra: Any) -> Any:
    response = client.post(
        f"/v1/prompts/{name}/-/translations/{locale}/review",
        json={"action": "approve", **extra},
    )
    assert response.status_code == 200, response.text
    return response


def resolve(client: TestClient, name: str, **params: Any) -> Any:
    return client.get(f"/v1/prompts/{name}/-/resolve", params=params)


class TestSubmit:
    def test_draft_then_approve(self, client: TestClient) -> None:
        name = make(client)
        created = translate(client, name, "fr", "Bonjour {{ who }}, bienvenue dans notre boutique.")
        assert created.status_code == 201
        assert created.json()["status"] == "draft"
        assert created.json()["revision"] == 1
        approved = approve(client, name, "fr", note="looks right").json()
        assert approved["status"] == "approved"
        assert [r["status"] for r in approved["revisions"]] == ["approved", "draft"]

    def test_locale_spellings_are_canonical(self, client: TestClient) -> None:
        name = make(client)
        for spelling in ["pt-BR", "pt_br", "PT-br"]:
            response = translate(client, name, spelling, "Olá {{ who }}, bem-vindo à nossa loja.")
            assert response.json()["locale"] == "pt_BR"
        listed = client.get(f"/v1/prompts/{name}/-/translations").json()
        assert [t["locale"] for t in listed] == ["pt_BR"]

    def test_unknown_locale_is_named_with_suggestions(self, client: TestClient) -> None:
        name = make(client)
        response = translate(client, name, "en--US", "x {{ who }}")
        assert response.status_code == 422
        assert "'en--US'" in response.json()["detail"]
        assert "en_US" in response.json()["detail"]
        assert translate(client, name, "xx-YY", "x {{ who }}").status_code == 422

    def test_source_locale_cannot_be_translated(self, client: TestClient) -> None:
        name = make(client)
        response = translate(client, name, "en", "Hi {{ who }}")
        assert response.status_code == 422
        assert "source locale" in response.json()["detail"]

    def test_nothing_is_overwritten(self, client: TestClient) -> None:
        name = make(client)
        translate(client, name, "de", "Hallo {{ who }}, willkommen in unserem Laden.")
        translate(client, name, "de", "Guten Tag {{ who }}, willkommen in unserem Geschäft.")
        body = client.get(f"/v1/prompts/{name}/-/translations/de").json()
        assert body["revision"] == 2
        assert [r["texts"][0][:5] for r in body["revisions"]] == ["Guten", "Hallo"]

    def test_same_text_twice_adds_no_revision(self, client: TestClient) -> None:
        name = make(client)
        translate(client, name, "de", "Hallo {{ who }}, willkommen in unserem Laden.")
        again = translate(client, name, "de", "Hallo {{ who }}, willkommen in unserem Laden.")
        assert again.status_code == 200
        assert again.json()["revision"] == 1


class TestChecks:
    def test_variables_must_match(self, client: TestClient) -> None:
        name = make(client)
        response = translate(client, name, "fr", "Bonjour {{ qui }}, bienvenue chez nous.")
        assert response.status_code == 422
        messages = [e["message"] for e in response.json()["errors"]]
        assert any("missing from the translation: who" in m for m in messages)
        assert any("not in the source: qui" in m for m in messages)

    def test_includes_must_match(self, client: TestClient) -> None:
        part = make(client, "part", variables=[])
        name = make(client, f'{{% include "{part}" %}} Hello {{{{ who }}}}')
        response = translate(client, name, "fr", "Bonjour {{ who }}")
        assert response.status_code == 422
        assert "include the same prompts" in response.json()["detail"]

    def test_syntax_must_compile(self, client: TestClient) -> None:
        name = make(client)
        response = translate(client, name, "fr", "Bonjour {% if who %}{{ who }}")
        assert response.status_code == 422
        assert response.json()["errors"][0]["line"] == 1

    def test_newlines_and_emptiness(self, client: TestClient) -> None:
        name = make(client, "Line one {{ who }}\nLine two")
        response = translate(client, name, "fr", "Ligne un {{ who }} ligne deux")
        assert response.status_code == 422
        assert "line break" in response.json()["detail"]
        assert translate(client, name, "fr", "  ").status_code == 422

    def test_warnings_do_not_block(self, client: TestClient) -> None:
        name = make(client)
        same = translate(client, name, "fr", "Hello {{ who }}, welcome to our shop.")
        assert same.status_code == 201
        assert "identical" in same.json()["warnings"][0]["message"]
        short = translate(client, name, "de", "Hi {{ who }}")
        assert short.status_code == 201
        assert "length" in short.json()["warnings"][0]["message"]

    def test_chat_messages_and_roles(self, client: TestClient) -> None:
        messages = [
            {"role": "system", "content": "You help {{ who }} with orders."},
            {"role": "user", "content": "Where is my parcel?"},
        ]
        name = make(client, kind="chat", messages=messages)
        url = f"/v1/prompts/{name}/-/translations/fr"
        one = client.put(url, json={"messages": messages[:1]})
        assert one.status_code == 422
        assert "the source has 2 messages, the translation 1" in one.json()["detail"]
        swapped = client.put(
            url,
            json={
                "messages": [
                    {"role": "user", "content": "Vous aidez {{ who }} avec ses commandes."},
                    {"role": "system", "content": "Où est mon colis ?"},
                ]
            },
        )
        assert swapped.status_code == 422
        assert "roles" in swapped.json()["detail"]
        good = client.put(
            url,
            json={
                "messages": [
                    {"role": "system", "content": "Vous aidez {{ who }} avec ses commandes."},
                    {"role": "user", "content": "Où est mon colis ?"},
                ]
            },
        )
        assert good.status_code == 201
        assert client.put(url, json={"template": "x"}).status_code == 409


class TestReview:
    def test_transitions(self, client: TestClient) -> None:
        name = make(client)
        translate(client, name, "es", "Hola {{ who }}, bienvenido a nuestra tienda.")
        url = f"/v1/prompts/{name}/-/translations/es/review"
        assert client.post(url, json={"action": "submit"}).json()["status"] == "in_review"
        assert client.post(url, json={"action": "reject", "note": "tone"}).json()["status"] == (
            "rejected"
        )
        refused = client.post(url, json={"action": "approve"})
        assert refused.status_code == 409
        assert "submit" in refused.json()["detail"]
        assert client.post(url, json={"action": "submit"}).json()["status"] == "in_review"
        assert client.post(url, json={"action": "approve"}).json()["status"] == "approved"
        assert client.post(url, json={"action": "approve"}).status_code == 409

    def test_missing_translation_is_404(self, client: TestClient) -> None:
        name = make(client)
        response = client.post(
            f"/v1/prompts/{name}/-/translations/it/review", json={"action": "approve"}
        )
        assert response.status_code == 404


class TestStale:
    def test_new_version_carries_translations_forward_as_stale(self, client: TestClient) -> None:
        name = make(client, "Hello {{ who }}, welcome to our shop.")
        translate(client, name, "fr", "Bonjour {{ who }}, bienvenue dans notre boutique.")
        approve(client, name, "fr")
        make(client, "Hello {{ who }}, welcome to our new shop.", name=name)
        stale = client.get(f"/v1/prompts/{name}/-/translations/fr").json()
        assert (stale["version"], stale["status"]) == (2, "stale")
        assert stale["template"] == "Bonjour {{ who }}, bienvenue dans notre boutique."
        assert "-Hello {{ who }}, welcome to our shop." in stale["source_diff"]
        assert "+Hello {{ who }}, welcome to our new shop." in stale["source_diff"]
        assert stale["revisions"][0]["note"] == "carried forward from version 1"
        # Version 1 keeps its approved translation.
        old = client.get(f"/v1/prompts/{name}/-/translations/fr", params={"version": 1}).json()
        assert old["status"] == "approved"

    def test_stale_is_served_only_when_allowed(self, client: TestClient) -> None:
        name = make(client, "Hello {{ who }}, welcome to our shop.")
        translate(client, name, "fr", "Bonjour {{ who }}, bienvenue dans notre boutique.")
        approve(client, name, "fr")
        make(client, "Hello {{ who }}, welcome to our new shop.", name=name)
        plain = resolve(client, name, locale="fr").json()
        assert (plain["locale"], plain["locale_match"]) == ("en", "source")
        allowed = resolve(client, name, locale="fr", allow_stale=True).json()
        assert (allowed["locale"], allowed["translation_status"]) == ("fr", "stale")

    def test_unchanged_source_keeps_approval(self, client: TestClient) -> None:
        name = make(client, "Hello {{ who }}, welcome to our shop.")
        translate(client, name, "fr", "Bonjour {{ who }}, bienvenue dans notre boutique.")
        approve(client, name, "fr")
        client.post(
            f"/v1/prompts/{name}/-/versions",
            json={
                "template": "Hello {{ who }}, welcome to our shop.",
                "variables": WHO,
                "config": {"temperature": 0.1},
            },
        )
        assert client.get(f"/v1/prompts/{name}/-/translations/fr").json()["status"] == "approved"

    def test_approving_stale_text_checks_the_new_source(self, client: TestClient) -> None:
        name = make(client, "Hello {{ who }}, welcome to our shop.")
        translate(client, name, "fr", "Bonjour {{ who }}, bienvenue dans notre boutique.")
        make(
            client,
            "Hello {{ who }}, welcome to {{ shop }}.",
            name=name,
            variables=[*WHO, {"name": "shop"}],
        )
        response = client.post(
            f"/v1/prompts/{name}/-/translations/fr/review", json={"action": "approve"}
        )
        assert response.status_code == 422
        assert "shop" in response.json()["detail"]


class TestServing:
    def test_exact_fallback_and_source(self, client: TestClient) -> None:
        name = make(client)
        translate(client, name, "es", "Hola {{ who }}, bienvenido a nuestra tienda.")
        approve(client, name, "es")
        exact = resolve(client, name, locale="es")
        assert exact.json()["locale_match"] == "exact"
        assert exact.headers["content-language"] == "es"
        assert exact.headers["vary"] == "Accept-Language"
        mexico = resolve(client, name, locale="es-MX").json()
        assert (mexico["requested_locale"], mexico["locale"], mexico["locale_match"]) == (
            "es_MX",
            "es",
            "fallback",
        )
        german = resolve(client, name, locale="de").json()
        assert (german["locale"], german["locale_match"]) == ("en", "source")
        # Nothing asked for: the source, which is not an exact match of anything.
        source = resolve(client, name).json()
        assert (source["locale"], source["locale_match"]) == ("en", "source")
        asked = resolve(client, name, locale="en").json()
        assert (asked["locale"], asked["locale_match"]) == ("en", "exact")

    def test_accept_language_with_q_values(self, client: TestClient) -> None:
        name = make(client)
        translate(client, name, "fr", "Bonjour {{ who }}, bienvenue dans notre boutique.")
        approve(client, name, "fr")
        response = client.get(
            f"/v1/prompts/{name}/-/resolve",
            headers={"Accept-Language": "fr-CA, fr;q=0.9, en;q=0.5"},
        )
        body = response.json()
        assert (body["requested_locale"], body["locale"], body["locale_match"]) == (
            "fr_CA",
            "fr",
            "fallback",
        )
        assert response.headers["content-language"] == "fr"
        german_first = client.get(
            f"/v1/prompts/{name}/-/resolve", headers={"Accept-Language": "de, fr;q=0.8"}
        ).json()
        assert german_first["locale"] == "fr"

    def test_traditional_chinese_never_gets_simplified(self, client: TestClient) -> None:
        name = make(client)
        translate(client, name, "zh", "你好 {{ who }}，欢迎光临我们的商店。")
        approve(client, name, "zh")
        body = resolve(client, name, locale="zh-Hant-TW").json()
        assert (body["locale"], body["locale_match"]) == ("en", "source")
        assert resolve(client, name, locale="zh-CN").json()["locale"] == "zh"

    def test_drafts_only_on_preview(self, client: TestClient) -> None:
        name = make(client)
        translate(client, name, "ja", "ようこそ {{ who }} さん、私たちの店へ。")
        assert resolve(client, name, locale="ja").json()["locale"] == "en"
        preview = resolve(client, name, locale="ja", preview=True).json()
        assert (preview["locale"], preview["translation_status"]) == ("ja", "draft")

    def test_editing_an_approved_translation_keeps_it_live(self, client: TestClient) -> None:
        name = make(client)
        translate(client, name, "fr", "Bonjour {{ who }}, bienvenue dans notre boutique.")
        approve(client, name, "fr")
        translate(client, name, "fr", "Salut {{ who }}, bienvenue dans notre boutique !")
        served = resolve(client, name, locale="fr").json()
        assert served["template"].startswith("Bonjour")
        assert served["translation_status"] == "approved"
        assert (
            resolve(client, name, locale="fr", preview=True).json()["template"].startswith("Salut")
        )

    def test_render_in_locale_uses_locale_filters(self, client: TestClient) -> None:
        name = make(
            client,
            "{{ n | plural(one='# file', other='# files') }} for {{ who }}",
            variables=[*WHO, {"name": "n", "type": "integer"}],
        )
        translate(
            client,
            name,
            "ru",
            "{{ n | plural(one='# файл', few='# файла', many='# файлов', other='# файла') }} "
            "для {{ who }}",
        )
        approve(client, name, "ru")
        rendered = client.post(
            f"/v1/prompts/{name}/-/render",
            json={"variables": {"who": "Аня", "n": 5}, "locale": "ru"},
        )
        assert rendered.json()["text"] == "5 файлов для Аня"
        assert rendered.headers["content-language"] == "ru"
        english = client.post(
            f"/v1/prompts/{name}/-/render", json={"variables": {"who": "Ann", "n": 1}}
        ).json()
        assert english["text"] == "1 file for Ann"

    def test_components_resolve_in_the_same_locale(self, client: TestClient) -> None:
        tone = make(client, "Be kind and brief in every answer.", variables=[])
        name = make(client, f'{{% include "{tone}" %}} Hello {{{{ who }}}}, how are you?')
        translate(client, tone, "fr", "Soyez aimable et bref dans chaque réponse.")
        approve(client, tone, "fr")
        body = resolve(client, name, locale="fr-CA").json()
        assert (body["locale"], body["locale_match"]) == ("en", "source")
        component = body["components"][0]
        assert (component["locale"], component["locale_match"]) == ("fr", "fallback")
        rendered = client.post(
            f"/v1/prompts/{name}/-/render", json={"variables": {"who": "Zoé"}, "locale": "fr"}
        ).json()
        assert (
            rendered["text"] == "Soyez aimable et bref dans chaque réponse. Hello Zoé, how are you?"
        )

    def test_etag_changes_when_a_translation_is_approved(self, client: TestClient) -> None:
        name = make(client)
        before = resolve(client, name, locale="fr").headers["etag"]
        translate(client, name, "fr", "Bonjour {{ who }}, bienvenue dans notre boutique.")
        assert resolve(client, name, locale="fr").headers["etag"] == before
        approve(client, name, "fr")
        assert resolve(client, name, locale="fr").headers["etag"] != before

    @pytest.mark.parametrize("bad", ["zz", "en--US", "123"])
    def test_bad_locale_is_422(self, client: TestClient, bad: str) -> None:
        name = make(client)
        response = resolve(client, name, locale=bad)
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["query", "locale"]

    def test_unparseable_accept_language_entries_are_ignored(self, client: TestClient) -> None:
        name = make(client)
        response = client.get(
            f"/v1/prompts/{name}/-/resolve", headers={"Accept-Language": "!!, xx-YY;q=0.5"}
        )
        assert response.status_code == 200
        assert response.json()["locale"] == "en"

    def test_source_locale_other_than_english(self, client: TestClient) -> None:
        name = make(client, "Bonjour {{ who }}, bienvenue chez nous.", source_locale="fr-FR")
        assert client.get(f"/v1/prompts/{name}").json()["source_locale"] == "fr_FR"
        body = resolve(client, name, locale="fr").json()
        assert (body["locale"], body["locale_match"]) == ("fr_FR", "source")
