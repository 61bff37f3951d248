"""Only text a reviewer approved is served; what a translator wrote goes to the PO files.

``allow_stale`` serves the last approved text of an older source, never a draft or text
in review; ``preview`` serves drafts and text in review of the current source.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from registry import migrate
from registry.app import create_app
from registry.config import Settings
from registry.translations import po

from conftest import admin_token, bearer
from factories import unique_name

WHO = [{"name": "who", "type": "string"}]
V1 = "Hello {{ who }}."
V2 = "Hello {{ who }}, welcome."
V3 = "Hello {{ who }}, welcome back."


def publish(client: TestClient, template: str, *, name: str | None = None, **extra: Any) -> str:
    name = name or unique_name("i18n/approved")
    if client.get(f"/v1/prompts/{name}").status_code == 404:
        assert client.post("/v1/prompts", json={"name": name}).status_code == 201
    body = {"template": template, "variables": WHO, **extra}
    response = client.post(f"/v1/prompts/{name}/-/versions", json=body)
    assert response.status_code == 201, response.text
    moved = client.put(
        f"/v1/prompts/{name}/-/labels/production", json={"version": response.json()["number"]}
    )
    assert moved.status_code == 200, moved.text
    return name


def submit(client: TestClient, name: str, locale: str, text: str, status: str = "draft") -> None:
    response = client.put(
        f"/v1/prompts/{name}/-/translations/{locale}", json={"template": text, "status": status}
    )
    assert response.status_code in (200, 201), response.text


def approve(client: TestClient, name: str, locale: str) -> None:
    response = client.post(
        f"/v1/prompts/{name}/-/translations/{locale}/review", json={"action": "approve"}
    )
    assert response.status_code == 200, response.text


def served(client: TestClient, name: str, locale: str, **options: bool) -> tuple[str, Any, Any]:
    """(served text, locale, translation status) from resolve; render must agree."""
    resolved = client.get(
        f"/v1/prompts/{name}/-/resolve", params={"locale": locale, **options}
    ).json()
    rendered = client.post(
        f"/v1/prompts/{name}/-/render",
        json={"variables": {"who": "Ada"}, "locale": locale, **options},
    ).json()
    template = resolved["template"].replace("{{ who }}", "Ada")
    assert (rendered["text"], rendered["locale"]) == (template, resolved["locale"])
    return template, resolved["locale"], resolved["translation_status"]


def export(client: TestClient, name: str, locale: str) -> po.PoEntry:
    response = client.get("/v1/translations/export", params={"locale": locale, "prefix": name})
    assert response.status_code == 200, response.text
    (entry,) = po.read_po(response.content).entries
    return entry


class TestAllowStale:
    def test_serves_the_approved_text_not_the_one_in_review(self, client: TestClient) -> None:
        name = publish(client, V1)
        submit(client, name, "fr", "Bonjour {{ who }}.")
        approve(client, name, "fr")
        submit(client, name, "fr", "Salut {{ who }}.", status="in_review")
        publish(client, V2, name=name)
        assert served(client, name, "fr", allow_stale=True) == ("Bonjour Ada.", "fr", "stale")
        assert served(client, name, "fr") == ("Hello Ada, welcome.", "en", None)
        # The translator's last text is what the PO file offers to work on, fuzzy.
        entry = export(client, name, "fr")
        assert (entry.translation, entry.fuzzy, entry.previous_source) == (
            "Salut {{ who }}.",
            True,
            V1,
        )

    def test_new_text_for_the_new_source_keeps_the_approved_text_served(
        self, client: TestClient
    ) -> None:
        name = publish(client, V1)
        submit(client, name, "fr", "Bonjour {{ who }}.")
        approve(client, name, "fr")
        publish(client, V2, name=name)
        submit(client, name, "fr", "Bonjour {{ who }}, bienvenue.", status="in_review")
        assert served(client, name, "fr", allow_stale=True) == ("Bonjour Ada.", "fr", "stale")
        assert served(client, name, "fr") == ("Hello Ada, welcome.", "en", None)
        assert served(client, name, "fr", preview=True) == (
            "Bonjour Ada, bienvenue.",
            "fr",
            "in_review",
        )

    def test_a_draft_never_approved_is_never_served(self, client: TestClient) -> None:
        name = publish(client, V1)
        submit(client, name, "de", "Hallo {{ who }}.")
        publish(client, V2, name=name)
        assert served(client, name, "de", allow_stale=True) == ("Hello Ada, welcome.", "en", None)
        assert served(client, name, "de", allow_stale=True, preview=True)[1] == "en"
        entry = export(client, name, "de")
        assert (entry.translation, entry.fuzzy) == ("Hallo {{ who }}.", True)

    def test_approving_for_the_new_source_serves_it_normally(self, client: TestClient) -> None:
        name = publish(client, V1)
        submit(client, name, "fr", "Bonjour {{ who }}.")
        approve(client, name, "fr")
        publish(client, V2, name=name)
        submit(client, name, "fr", "Bonjour {{ who }}, bienvenue.")
        assert served(client, name, "fr", allow_stale=True) == ("Bonjour Ada.", "fr", "stale")
        approve(client, name, "fr")
        expected = ("Bonjour Ada, bienvenue.", "fr", "approved")
        assert served(client, name, "fr") == expected
        assert served(client, name, "fr", allow_stale=True) == expected

    def test_several_source_versions_in_a_row(self, client: TestClient) -> None:
        name = publish(client, V1)
        submit(client, name, "fr", "Bonjour {{ who }}.")
        approve(client, name, "fr")
        publish(client, V2, name=name)
        submit(client, name, "fr", "Bonjour {{ who }}, bienvenue.")
        publish(client, V3, name=name)
        # A version that changes only the config keeps the stale approval as it is.
        publish(client, V3, name=name, config={"temperature": 0.2})
        assert served(client, name, "fr", allow_stale=True) == ("Bonjour Ada.", "fr", "stale")
        assert served(client, name, "fr") == ("Hello Ada, welcome back.", "en", None)
        entry = export(client, name, "fr")
        assert (entry.translation, entry.fuzzy, entry.previous_source) == (
            "Bonjour {{ who }}, bienvenue.",
            True,
            V2,
        )
        submit(client, name, "fr", "Bon retour, {{ who }}.")
        approve(client, name, "fr")
        assert served(client, name, "fr") == ("Bon retour, Ada.", "fr", "approved")


class TestUpgrade:
    def test_stale_translations_get_back_their_last_approved_text(self, migrated_url: str) -> None:
        # Before 0008_stale_approved_text a new source dropped the approved text, as the
        # downgrade does; the upgrade finds it on the earlier version.
        with app_client(migrated_url) as client:
            name = publish(client, V1)
            submit(client, name, "fr", "Bonjour {{ who }}.")
            approve(client, name, "fr")
            publish(client, V2, name=name)
            submit(client, name, "fr", "Bonjour {{ who }}, bienvenue.")
            publish(client, V3, name=name)
            submit(client, name, "de", "Hallo {{ who }}.")
            publish(client, "Hi {{ who }}.", name=name)
        migrate.downgrade(migrated_url, "0007_key_folders")
        migrate.upgrade(migrated_url)
        with app_client(migrated_url) as client:
            assert served(client, name, "fr", allow_stale=True) == ("Bonjour Ada.", "fr", "stale")
            assert served(client, name, "fr") == ("Hi Ada.", "en", None)
            assert served(client, name, "de", allow_stale=True) == ("Hi Ada.", "en", None)


@contextmanager
def app_client(url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=url))
    with TestClient(app, raise_server_exceptions=False, headers=bearer(admin_token(url))) as client:
        yield client
