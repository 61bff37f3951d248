"""The translator's and reviewer's workflow through the API: bulk review, the overview of
every locale, translator notes, withdrawal, untranslatable units, filter arguments that
can never work, regional locales and when a translation last changed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from registry.translations import po

from factories import unique_name

WHO = [{"name": "who", "type": "string"}]
HELLO = "Hello {{ who }}, welcome to our shop."
BONJOUR = "Bonjour {{ who }}, bienvenue dans notre boutique."
HALLO = "Hallo {{ who }}, willkommen in unserem Laden."


def publish(client: TestClient, name: str, template: str = HELLO, **body: Any) -> Any:
    if client.get(f"/v1/prompts/{name}").status_code == 404:
        kind = "chat" if "messages" in body else "text"
        assert client.post("/v1/prompts", json={"name": name, "kind": kind}).status_code == 201
    if "messages" not in body:
        body["template"] = template
    response = client.post(f"/v1/prompts/{name}/-/versions", json={"variables": WHO, **body})
    return response


def made(client: TestClient, name: str, template: str = HELLO, **body: Any) -> str:
    response = publish(client, name, template, **body)
    assert response.status_code in (200, 201), response.text
    return name


def translate(client: TestClient, name: str, locale: str, text: str = BONJOUR, **extra: Any) -> Any:
    response = client.put(
        f"/v1/prompts/{name}/-/translations/{locale}", json={"template": text, **extra}
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def review(client: TestClient, name: str, locale: str, action: str, **headers: str) -> Any:
    return client.post(
        f"/v1/prompts/{name}/-/translations/{locale}/review",
        json={"action": action},
        headers=headers,
    )


def resolve(client: TestClient, name: str, locale: str) -> Any:
    return client.get(f"/v1/prompts/{name}/-/resolve", params={"locale": locale, "label": "latest"})


def status_of(client: TestClient, name: str, locale: str) -> str:
    response = client.get(f"/v1/prompts/{name}/-/translations/{locale}")
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def audit_actions(client: TestClient, name: str) -> list[str]:
    events = client.get("/v1/audit", params={"prompt": name, "limit": 100})
    assert events.status_code == 200, events.text
    return [e["action"] for e in events.json()["items"]]


class TestBulkReview:
    def test_approves_what_is_in_review_under_a_folder(self, client: TestClient) -> None:
        root = unique_name("bulk")
        one, two, three = (made(client, f"{root}/{n}") for n in ("one", "two", "three"))
        translate(client, one, "fr", status="in_review")
        translate(client, two, "fr", status="in_review")
        translate(client, three, "fr")  # a draft: not selected by default
        response = client.post(
            "/v1/translations/review",
            json={"action": "approve", "locale": "fr", "prefix": root, "note": "all good"},
        )
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["locale"] == "fr"
        assert [(r["prompt"], r["status"]) for r in answer["reviewed"]] == [
            (one, "approved"),
            (two, "approved"),
        ]
        assert status_of(client, three, "fr") == "draft"
        # Each one is audited as a single review is, with its note.
        for name in (one, two):
            assert audit_actions(client, name)[0] == "translation.approve"
            got = client.get(f"/v1/prompts/{name}/-/translations/fr").json()
            assert got["revisions"][0]["note"] == "all good"
        assert "translation.approve" not in audit_actions(client, three)

    def test_one_that_cannot_be_reviewed_changes_nothing(self, client: TestClient) -> None:
        root = unique_name("bulk")
        ready, done, untranslated = (made(client, f"{root}/{n}") for n in ("a", "b", "c"))
        translate(client, ready, "fr", status="in_review")
        translate(client, done, "fr")
        assert review(client, done, "fr", "approve").status_code == 200
        before = audit_actions(client, ready)
        response = client.post(
            "/v1/translations/review",
            json={"action": "approve", "locale": "fr", "prompts": [ready, done, untranslated]},
        )
        assert response.status_code == 409, response.text
        problem = response.json()
        assert "2 translations cannot be reviewed; nothing was changed" in problem["detail"]
        by_loc = {tuple(e["loc"]): e["message"] for e in problem["errors"]}
        assert set(by_loc) == {("body", "prompts", 1), ("body", "prompts", 2)}
        assert "approved cannot be approved" in by_loc[("body", "prompts", 1)]
        assert "has no fr translation" in by_loc[("body", "prompts", 2)]
        assert status_of(client, ready, "fr") == "in_review"
        assert audit_actions(client, ready) == before

    def test_all_or_nothing_with_real_commits(self, committing_client: TestClient) -> None:
        client = committing_client
        root = unique_name("bulk")
        names = [made(client, f"{root}/{n}") for n in ("a", "b", "c")]
        for name in names:
            translate(client, name, "de", HALLO, status="in_review")
        # The last one's text no longer fits its source once a new version is published.
        made(client, names[2], "Hello {{ who }}, welcome!\nSee you soon.")
        stale = client.get(f"/v1/prompts/{names[2]}/-/translations/de").json()
        assert stale["status"] == "stale"
        response = client.post(
            "/v1/translations/review",
            json={"action": "approve", "locale": "de", "prompts": names},
        )
        assert response.status_code == 409, response.text
        assert [e["loc"] for e in response.json()["errors"]] == [["body", "prompts", 2]]
        assert [status_of(client, n, "de") for n in names[:2]] == ["in_review", "in_review"]
        served = resolve(client, names[0], "de")
        assert served.json()["locale_match"] == "source"

    def test_translators_submit_only_their_locales_and_never_approve(
        self, client: TestClient, make_key: Callable[..., dict[str, str]]
    ) -> None:
        root = unique_name("bulk")
        name = made(client, f"{root}/p")
        translate(client, name, "fr")
        translator = make_key("translator", locales=("fr",))
        body = {"action": "approve", "locale": "fr", "prompts": [name]}
        refused = client.post("/v1/translations/review", json=body, headers=translator)
        assert refused.status_code == 403, refused.text
        other = {**body, "action": "submit", "locale": "de"}
        refused = client.post("/v1/translations/review", json=other, headers=translator)
        assert refused.status_code == 403
        assert "may translate only into fr" in refused.json()["detail"]
        submitted = client.post(
            "/v1/translations/review", json={**body, "action": "submit"}, headers=translator
        )
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["reviewed"][0]["status"] == "in_review"

    def test_a_folder_key_reviews_only_its_folder(
        self, client: TestClient, make_key: Callable[..., dict[str, str]]
    ) -> None:
        root = unique_name("bulk")
        mine = made(client, f"{root}/mine/p")
        theirs = made(client, f"{root}/theirs/p")
        for name in (mine, theirs):
            translate(client, name, "fr", status="in_review")
        reviewer = make_key("reviewer", folder=f"{root}/mine/", read_folders=(f"{root}/theirs/",))
        named = client.post(
            "/v1/translations/review",
            json={"action": "approve", "locale": "fr", "prompts": [mine, theirs]},
            headers=reviewer,
        )
        assert named.status_code == 403, named.text
        assert [e["loc"] for e in named.json()["errors"]] == [["body", "prompts", 1]]
        # By folder, what the key may only read is not selected.
        selected = client.post(
            "/v1/translations/review",
            json={"action": "approve", "locale": "fr", "prefix": root},
            headers=reviewer,
        )
        assert selected.status_code == 200, selected.text
        assert [r["prompt"] for r in selected.json()["reviewed"]] == [mine]
        assert status_of(client, theirs, "fr") == "in_review"

    def test_prompts_and_prefix_are_one_or_the_other(self, client: TestClient) -> None:
        response = client.post(
            "/v1/translations/review",
            json={"action": "approve", "locale": "fr", "prompts": ["a"], "prefix": "b"},
        )
        assert response.status_code == 422, response.text


class TestOverview:
    def test_every_prompt_against_every_locale(self, client: TestClient) -> None:
        root = unique_name("overview")
        one, two = made(client, f"{root}/a/one"), made(client, f"{root}/b/two")
        translate(client, one, "fr")
        assert review(client, one, "fr", "approve").status_code == 200
        translate(client, two, "de", HALLO, status="in_review")
        response = client.get("/v1/translations/queue", params={"prefix": root})
        assert response.status_code == 200, response.text
        overview = response.json()
        assert {row["prompt"]: row["states"] for row in overview["prompts"]} == {
            one: {"de": "missing", "fr": "approved"},
            two: {"de": "in_review", "fr": "missing"},
        }
        progress = {p["locale"]: p for p in overview["locales"]}
        assert progress["fr"]["completeness"] == 0.5
        assert progress["de"]["counts"] == {"in_review": 1, "missing": 1}
        # With a locale, the answer is the single-locale queue it always was.
        single = client.get("/v1/translations/queue", params={"prefix": root, "locale": "fr"})
        assert set(single.json()) == {"locale", "items", "prompts", "folders", "total"}

    def test_a_folder_key_sees_only_its_folder(
        self, client: TestClient, make_key: Callable[..., dict[str, str]]
    ) -> None:
        root = unique_name("overview")
        mine, theirs = made(client, f"{root}/mine/p"), made(client, f"{root}/theirs/p")
        translate(client, theirs, "it", "Ciao {{ who }}, benvenuto nel nostro negozio.")
        reader = make_key("reader", folder=f"{root}/mine/")
        overview = client.get("/v1/translations/queue", headers=reader).json()
        assert [row["prompt"] for row in overview["prompts"]] == [mine]
        assert overview["locales"] == []


class TestNotes:
    def test_a_note_is_kept_with_its_revision_and_shown(self, client: TestClient) -> None:
        name = made(client, unique_name("notes/p"))
        translate(client, name, "fr", status="in_review", note="tu or vous? I chose vous")
        got = client.get(f"/v1/prompts/{name}/-/translations/fr").json()
        assert got["note"] == "tu or vous? I chose vous"
        assert got["revisions"][0]["note"] == "tu or vous? I chose vous"

    def test_po_translator_comments_become_the_note(self, client: TestClient) -> None:
        root = unique_name("notes")
        name = made(client, f"{root}/p")
        exported = client.get(
            "/v1/translations/export", params={"locale": "fr", "prefix": root}
        ).content
        parsed = po.read_po(exported)
        filled = po.write_po(
            [
                po.PoEntry(context=e.context, source=e.source, translation=BONJOUR)
                for e in parsed.entries
            ],
            locale="fr",
            registry_id=parsed.registry_id or "",
        ).decode()
        # A translator comment, as Poedit and every PO editor writes it.
        filled = filled.replace("msgctxt ", "# Formal register, as the brand asks.\nmsgctxt ", 1)
        imported = client.post(
            "/v1/translations/import",
            content=filled.encode(),
            headers={"content-type": "text/x-gettext-translation"},
        )
        assert imported.status_code == 200, imported.text
        got = client.get(f"/v1/prompts/{name}/-/translations/fr").json()
        assert got["status"] == "in_review"
        assert got["note"] == "Formal register, as the brand asks."


class TestWithdraw:
    def test_a_translator_withdraws_its_draft(
        self, client: TestClient, make_key: Callable[..., dict[str, str]]
    ) -> None:
        name = made(client, unique_name("withdraw/p"))
        translate(client, name, "fr")
        translate(client, name, "fr", "Salut {{ who }}, bienvenue dans notre boutique.")
        translator = make_key("translator", locales=("fr",))
        response = client.delete(f"/v1/prompts/{name}/-/translations/fr", headers=translator)
        assert response.status_code == 204, response.text
        assert client.get(f"/v1/prompts/{name}/-/translations/fr").status_code == 404
        events = client.get("/v1/audit", params={"prompt": name, "limit": 1}).json()["items"]
        assert events[0]["action"] == "translation.withdraw"
        assert events[0]["before"]["texts"] == ["Salut {{ who }}, bienvenue dans notre boutique."]
        assert events[0]["after"] is None
        # Gone means gone: the locale can be translated afresh.
        assert translate(client, name, "fr")["revision"] == 1

    def test_approved_text_is_withdrawn_by_reviewers_and_stops_being_served(
        self, client: TestClient, make_key: Callable[..., dict[str, str]]
    ) -> None:
        name = made(client, unique_name("withdraw/p"))
        translate(client, name, "fr")
        assert review(client, name, "fr", "approve").status_code == 200
        served = resolve(client, name, "fr")
        assert served.json()["locale_match"] == "exact"
        # Resolved twice, so the answer is kept and must be found out of date.
        assert resolve(client, name, "fr").json()["locale_match"] == "exact"
        url = f"/v1/prompts/{name}/-/translations/fr"
        for role, locales in (("translator", ("fr",)), ("editor", ())):
            refused = client.delete(url, headers=make_key(role, locales=locales))
            assert refused.status_code == 403, refused.text
            assert "needs the reviewer role" in refused.json()["detail"]
        reviewer = make_key("reviewer")
        stale_tag = client.delete(url, headers={**reviewer, "If-Match": '"0-0"'})
        assert stale_tag.status_code == 412
        assert client.delete(url, headers=reviewer).status_code == 204
        after = resolve(client, name, "fr")
        assert after.json()["locale_match"] == "source"
        assert after.headers["etag"] != served.headers["etag"]

    def test_others_locales_and_missing_translations(
        self, client: TestClient, make_key: Callable[..., dict[str, str]]
    ) -> None:
        name = made(client, unique_name("withdraw/p"))
        translate(client, name, "de", HALLO)
        url = f"/v1/prompts/{name}/-/translations"
        german = client.delete(f"{url}/de", headers=make_key("translator", locales=("fr",)))
        assert german.status_code == 403
        assert client.delete(f"{url}/fr").status_code == 404


class TestUntranslatableUnits:
    def test_a_message_that_is_only_a_variable_is_not_exported(self, client: TestClient) -> None:
        root = unique_name("units")
        messages = [
            {"role": "system", "content": "You answer questions about orders for {{ who }}."},
            {"role": "user", "content": "{{ question }}"},
        ]
        variables = [*WHO, {"name": "question", "type": "string"}]
        name = made(client, f"{root}/chat", messages=messages, variables=variables)
        queue = client.get("/v1/translations/queue", params={"locale": "fr", "prefix": root})
        assert queue.json()["prompts"][0]["units"] == 1
        exported = client.get("/v1/translations/export", params={"locale": "fr", "prefix": root})
        parsed = po.read_po(exported.content)
        assert [e.context for e in parsed.entries] == [f"{name}@1#0:system"]
        french = "Vous répondez aux questions sur les commandes de {{ who }}."
        filled = po.write_po(
            [
                po.PoEntry(context=e.context, source=e.source, translation=french)
                for e in parsed.entries
            ],
            locale="fr",
            registry_id=parsed.registry_id or "",
        )
        imported = client.post(
            "/v1/translations/import",
            content=filled,
            headers={"content-type": "text/x-gettext-translation"},
        )
        assert imported.status_code == 200, imported.text
        assert imported.json()["updated"] == 1
        got = client.get(f"/v1/prompts/{name}/-/translations/fr").json()
        assert [m["content"] for m in got["messages"]] == [french, "{{ question }}"]


class TestFilterArguments:
    def test_arguments_that_can_never_work_are_refused_at_publish(self, client: TestClient) -> None:
        name = unique_name("filters/p")
        cases = {
            "Total: {{ who | currency('XYZ') }}": "ISO 4217",
            "{{ who }}\n{{ [who] | format_list('bogus') }}": "style must be one of",
            "On {{ who | date('longest') }}": "cannot use the format 'longest'",
            "{{ who | date('short', 3) }}": "does not take these arguments",
            "{% filter currency('XYZ') %}{{ who }}{% endfilter %}": "ISO 4217",
            "{{ who |\n  currency('XYZ') }}": "ISO 4217",
        }
        for template, words in cases.items():
            response = publish(client, name, template)
            assert response.status_code == 422, (template, response.text)
            errors = response.json()["errors"]
            assert any(words in e["message"] for e in errors), (template, errors)
            assert errors[0]["loc"] == ["body", "template"]
        # The second line is named.
        response = publish(client, name, "{{ who }}\n{{ [who] | format_list('bogus') }}")
        assert response.json()["errors"][0]["line"] == 2
        # Arguments that work, or that only the render knows, are fine.
        for template in (
            "{{ who | currency('eur', format_type='accounting') }} {{ who | date('EEEE d MMMM') }}",
            "{{ [who] | format_list(style='or') }} {{ who | currency(who) }}",
        ):
            response = publish(client, name, template)
            assert response.status_code == 201, (template, response.text)

    def test_a_translation_with_such_an_argument_is_refused(self, client: TestClient) -> None:
        name = made(client, unique_name("filters/p"), "Total: {{ who | currency('EUR') }}")
        response = client.put(
            f"/v1/prompts/{name}/-/translations/fr",
            json={"template": "Total : {{ who | currency('EUROS') }}"},
        )
        assert response.status_code == 422, response.text
        assert "ISO 4217" in response.text


class TestRegionalLocales:
    def test_a_key_for_a_language_writes_its_regions(
        self, client: TestClient, make_key: Callable[..., dict[str, str]]
    ) -> None:
        name = made(client, unique_name("regions/p"))
        url = f"/v1/prompts/{name}/-/translations"
        french = make_key("translator", locales=("fr",))
        for locale in ("fr-CA", "fr-CH"):
            response = client.put(f"{url}/{locale}", json={"template": BONJOUR}, headers=french)
            assert response.status_code == 201, response.text
        spanish = make_key("translator", locales=("es",))
        latin = client.put(
            f"{url}/es-MX",
            json={"template": "Hola {{ who }}, bienvenido a nuestra tienda."},
            headers=spanish,
        )
        assert latin.status_code == 201, latin.text
        swiss = make_key("translator", locales=("fr-CH",))
        refused = client.put(f"{url}/fr-CA", json={"template": BONJOUR}, headers=swiss)
        assert refused.status_code == 403


class TestUpdatedAt:
    def test_it_moves_with_every_change(self, client: TestClient) -> None:
        name = made(client, unique_name("updated/p"))
        created = translate(client, name, "fr")
        approved = review(client, name, "fr", "approve").json()
        assert datetime.fromisoformat(approved["updated_at"]) > datetime.fromisoformat(
            created["updated_at"]
        )
