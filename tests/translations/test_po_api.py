"""The translator's round trip: export a PO file, edit it, import it back."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry.translations import po

from factories import unique_name

WHO = [{"name": "who", "type": "string"}]
PO_TYPE = {"content-type": "text/x-gettext-translation"}


def msgfmt_check(data: bytes, tmp_path: Path) -> None:
    """GNU msgfmt must accept the file (Debian's gettext; the Makefile installs it)."""
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "GNU gettext's msgfmt is required (apt-get install gettext)"
    path = tmp_path / "check.po"
    path.write_bytes(data)
    result = subprocess.run(
        [msgfmt, "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def folder(client: TestClient) -> str:
    """A folder with a text prompt, a chat prompt and an approved fr translation."""
    root = unique_name("po")
    for name, body in {
        f"{root}/greet": {"template": "Hello {{ who }},\nwelcome to our shop!", "variables": WHO},
        f"{root}/done": {"template": "Thank you for your order, {{ who }}.", "variables": WHO},
    }.items():
        client.post("/v1/prompts", json={"name": name, "description": "Greets a customer"})
        assert client.post(f"/v1/prompts/{name}/-/versions", json=body).status_code == 201
    chat = f"{root}/chat"
    client.post("/v1/prompts", json={"name": chat, "kind": "chat"})
    client.post(
        f"/v1/prompts/{chat}/-/versions",
        json={
            "messages": [
                {"role": "system", "content": 'You help {{ who }} with "orders" and 100% care.'},
                {"role": "user", "content": "Where is my parcel?"},
            ],
            "variables": WHO,
        },
    )
    client.put(
        f"/v1/prompts/{root}/done/-/translations/fr",
        json={"template": "Merci pour votre commande, {{ who }}."},
    )
    client.post(f"/v1/prompts/{root}/done/-/translations/fr/review", json={"action": "approve"})
    return root


def export(client: TestClient, locale: str, **params: Any) -> bytes:
    response = client.get("/v1/translations/export", params={"locale": locale, **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/x-gettext-translation")
    return response.content


def filled(data: bytes, translations: dict[str, str], *, keep_fuzzy: bool = True) -> bytes:
    """The file as a translator leaves it: msgstr filled in per msgctxt."""
    parsed = po.read_po(data)
    entries = [
        po.PoEntry(
            context=e.context,
            source=e.source,
            translation=translations.get(e.context, e.translation),
            fuzzy=e.fuzzy and keep_fuzzy,
            previous_source=e.previous_source,
            comments=e.comments,
        )
        for e in parsed.entries
    ]
    assert parsed.locale and parsed.registry_id
    return po.write_po(entries, locale=parsed.locale, registry_id=parsed.registry_id)


def upload(client: TestClient, data: bytes, **params: Any) -> Any:
    return client.post("/v1/translations/import", content=data, headers=PO_TYPE, params=params)


class TestExport:
    def test_queue_export_passes_msgfmt(
        self, client: TestClient, folder: str, tmp_path: Path
    ) -> None:
        data = export(client, "fr", prefix=folder)
        msgfmt_check(data, tmp_path)
        parsed = po.read_po(data)
        assert parsed.locale == "fr"
        contexts = [e.context for e in parsed.entries]
        assert contexts == [
            f"{folder}/chat@1#0:system",
            f"{folder}/chat@1#1:user",
            f"{folder}/greet@1",
        ]
        greet = parsed.entries[2]
        assert greet.source == "Hello {{ who }},\nwelcome to our shop!"
        assert greet.translation == ""
        assert any("Greets a customer" in c for c in greet.comments)
        assert any("who (string)" in c for c in greet.comments)

    def test_everything_includes_approved(self, client: TestClient, folder: str) -> None:
        data = export(client, "fr", prefix=folder, include_approved=True)
        entries = {e.context: e for e in po.read_po(data).entries}
        assert entries[f"{folder}/done@1"].translation == "Merci pour votre commande, {{ who }}."

    def test_stale_entries_are_fuzzy_with_previous_source(
        self, client: TestClient, folder: str, tmp_path: Path
    ) -> None:
        client.post(
            f"/v1/prompts/{folder}/done/-/versions",
            json={"template": "Thanks a lot for your order, {{ who }}.", "variables": WHO},
        )
        data = export(client, "fr", prefix=folder)
        msgfmt_check(data, tmp_path)
        assert b"#, fuzzy" in data
        assert b'#| msgid "Thank you for your order, {{ who }}."' in data
        stale = next(e for e in po.read_po(data).entries if e.context == f"{folder}/done@2")
        assert stale.fuzzy
        assert stale.previous_source == "Thank you for your order, {{ who }}."
        assert stale.translation == "Merci pour votre commande, {{ who }}."

    @pytest.mark.parametrize("locale", ["ru", "ar", "ja", "pt-BR", "zh-Hant-TW"])
    def test_plural_headers_for_many_locales(
        self, client: TestClient, folder: str, locale: str, tmp_path: Path
    ) -> None:
        msgfmt_check(export(client, locale, prefix=folder), tmp_path)


class TestImport:
    def test_round_trip_then_approve_and_serve(
        self, client: TestClient, folder: str, tmp_path: Path
    ) -> None:
        data = filled(
            export(client, "fr", prefix=folder),
            {
                f"{folder}/greet@1": "Bonjour {{ who }},\nbienvenue dans notre boutique !",
                f"{folder}/chat@1#0:system": "Vous aidez {{ who }} avec ses « commandes » à 100 %.",
                f"{folder}/chat@1#1:user": "Où est mon colis ?",
            },
        )
        msgfmt_check(data, tmp_path)
        result = upload(client, data).json()
        assert (result["locale"], result["updated"], result["untranslated"]) == ("fr", 2, 0)
        greet = client.get(f"/v1/prompts/{folder}/greet/-/translations/fr").json()
        assert greet["status"] == "in_review"
        assert greet["revisions"][0]["note"] == "imported from PO"
        client.post(
            f"/v1/prompts/{folder}/greet/-/translations/fr/review", json={"action": "approve"}
        )
        rendered = client.post(
            f"/v1/prompts/{folder}/greet/-/render",
            json={"variables": {"who": "Zoé"}, "locale": "fr", "label": "latest"},
        ).json()
        assert rendered["text"] == "Bonjour Zoé,\nbienvenue dans notre boutique !"
        chat = client.get(f"/v1/prompts/{folder}/chat/-/translations/fr").json()
        assert chat["messages"][1] == {"role": "user", "content": "Où est mon colis ?"}

    def test_hand_edited_file(self, client: TestClient, folder: str) -> None:
        text = export(client, "de", prefix=f"{folder}/greet").decode()
        # The header's msgstr must stay; only the entry after the header changes.
        header_end = text.index("\n\n") + 2
        edited = text[:header_end] + text[header_end:].replace(
            'msgstr ""\n',
            'msgstr ""\n"Hallo {{ who }},\\n"\n"willkommen in unserem Laden!"\n',
        )
        result = upload(client, edited.encode())
        assert result.status_code == 200, result.text
        body = client.get(f"/v1/prompts/{folder}/greet/-/translations/de").json()
        assert body["template"] == "Hallo {{ who }},\nwillkommen in unserem Laden!"

    def test_unchanged_entries_change_nothing(self, client: TestClient, folder: str) -> None:
        data = export(client, "fr", prefix=folder, include_approved=True)
        result = upload(client, data).json()
        assert (result["updated"], result["unchanged"], result["untranslated"]) == (0, 1, 2)
        done = client.get(f"/v1/prompts/{folder}/done/-/translations/fr").json()
        assert (done["status"], done["revision"]) == ("approved", 2)

    def test_fuzzy_entries_never_become_approved(self, client: TestClient, folder: str) -> None:
        client.post(
            f"/v1/prompts/{folder}/done/-/versions",
            json={"template": "Thanks a lot for your order, {{ who }}.", "variables": WHO},
        )
        exported = export(client, "fr", prefix=f"{folder}/done")
        unchanged = upload(client, exported).json()
        assert (unchanged["updated"], unchanged["unchanged"]) == (0, 1)
        assert (
            client.get(f"/v1/prompts/{folder}/done/-/translations/fr").json()["status"] == "stale"
        )
        edited = filled(
            exported, {f"{folder}/done@2": "Merci beaucoup, {{ who }}, pour votre commande."}
        )
        assert upload(client, edited).json()["updated"] == 1
        assert (
            client.get(f"/v1/prompts/{folder}/done/-/translations/fr").json()["status"] == "draft"
        )

    def test_clearing_fuzzy_confirms_stale_text(self, client: TestClient, folder: str) -> None:
        client.post(
            f"/v1/prompts/{folder}/done/-/versions",
            json={"template": "Thanks a lot for your order, {{ who }}.", "variables": WHO},
        )
        confirmed = filled(export(client, "fr", prefix=f"{folder}/done"), {}, keep_fuzzy=False)
        assert upload(client, confirmed).json()["updated"] == 1
        body = client.get(f"/v1/prompts/{folder}/done/-/translations/fr").json()
        assert (body["status"], body["source_diff"]) == ("in_review", "")

    def test_bad_entries_are_all_named_and_nothing_changes(
        self, client: TestClient, folder: str
    ) -> None:
        exported = export(client, "fr", prefix=folder)
        data = filled(
            exported,
            {
                f"{folder}/greet@1": "Bonjour {{ qui }},\nbienvenue !",
                f"{folder}/chat@1#0:system": "Vous aidez {{ who }}.",
                f"{folder}/chat@1#1:user": "{% if %}",
            },
        )
        response = upload(client, data)
        assert response.status_code == 422
        problem = response.json()
        assert "nothing was changed" in problem["detail"]
        lines = {e["loc"][1]: e["line"] for e in problem["errors"]}
        parsed = {e.context: e.lineno for e in po.read_po(data).entries}
        assert lines[f"{folder}/greet@1"] == parsed[f"{folder}/greet@1"]
        assert lines[f"{folder}/chat@1#1:user"] == parsed[f"{folder}/chat@1#1:user"]
        assert client.get(f"/v1/prompts/{folder}/chat/-/translations/fr").status_code == 404
        assert client.get(f"/v1/prompts/{folder}/greet/-/translations/fr").status_code == 404

    def test_changed_msgid_is_refused(self, client: TestClient, folder: str) -> None:
        text = export(client, "fr", prefix=f"{folder}/greet").decode()
        tampered = text.replace('"welcome to our shop!"', '"welcome to my shop!"').replace(
            'msgstr ""\n\n', 'msgstr "Bonjour {{ who }},\\nbienvenue !"\n\n'
        )
        response = upload(client, tampered.encode() + b"\n")
        assert response.status_code == 422
        assert "msgid differs" in response.json()["errors"][0]["message"]

    def test_wrong_locale_is_refused(self, client: TestClient, folder: str) -> None:
        data = export(client, "fr", prefix=folder)
        response = upload(client, data, locale="de")
        assert response.status_code == 422
        assert "for fr, not de" in response.json()["detail"]

    def test_file_of_another_registry_is_matched_by_source_text(
        self, client: TestClient, folder: str
    ) -> None:
        parsed = po.read_po(export(client, "fr", prefix=f"{folder}/greet"))
        entry = replace(
            parsed.entries[0], translation="Bonjour {{ who }},\nbienvenue dans notre boutique !"
        )
        other = po.write_po([entry], locale="fr", registry_id="another-registry")
        response = upload(client, other)
        assert response.status_code == 200, response.text
        assert [w["loc"] for w in response.json()["warnings"]] == [["body", "X-Registry-Id"]]
        # The same msgctxt over a different source text is refused, as for any stale file.
        tampered = replace(entry, source="Hello {{ who }},\nwelcome to another shop!")
        refused = upload(client, po.write_po([tampered], locale="fr", registry_id="another"))
        assert refused.status_code == 422
        assert "msgid differs" in refused.json()["errors"][0]["message"]

    @pytest.mark.parametrize(
        "data",
        [b"", b"just some text\nwith lines", b'{"json": true}', b"\xde\x12\x04\x95\x00\x00"],
    )
    def test_not_a_po_file(self, client: TestClient, data: bytes) -> None:
        response = upload(client, data)
        assert response.status_code == 422
        assert response.json()["type"] == "/problems/invalid-input"
