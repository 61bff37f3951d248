"""PO files saved by the tools translators use import back, and change nothing they
did not change: Babel, polib, translate-toolkit (which Weblate uses) and GNU gettext's
msgcat, msgmerge and msgattrib, on real exports of the demo library (stale entries with
a multi-line previous source, a translation calling the plural filter, chat messages).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polib
import pytest
from babel.messages import pofile as babel_pofile
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from translate.storage import po as ttk_po

from registry.demo import seed_demo
from registry.translations import po

from factories import unique_name

PO_TYPE = {"content-type": "text/x-gettext-translation"}
STALE = "summarize/article@2"
PLURAL = "support/greeting@1"
CHAT = "support/assistant@1#0:system"
NEW_SUMMARY = (
    '{% include "shared/tone-of-voice@production" %}\n'
    "Résumez l'article ci-dessous pour {{ audience }} en {{ max_words }} mots au plus. "
    "Commencez par le fait le plus important.\n"
    "\n"
    "{{ article }}\n"
)


def gnu(tool: str, *args: str) -> None:
    path = shutil.which(tool)
    assert path, f"GNU gettext's {tool} is required (apt-get install gettext)"
    subprocess.run([path, *args], check=True, capture_output=True)


def by_babel(data: bytes, tmp_path: Path) -> bytes:
    catalog = babel_pofile.read_po(io.BytesIO(data))
    out = io.BytesIO()
    babel_pofile.write_po(out, catalog)
    return out.getvalue()


def by_polib(data: bytes, tmp_path: Path) -> bytes:
    path = tmp_path / "polib.po"
    polib.pofile(data.decode()).save(str(path))
    return path.read_bytes()


def by_translate_toolkit(data: bytes, tmp_path: Path) -> bytes:
    return bytes(ttk_po.pofile.parsestring(data))


def by_msgcat(data: bytes, tmp_path: Path) -> bytes:
    (tmp_path / "in.po").write_bytes(data)
    gnu("msgcat", str(tmp_path / "in.po"), "-o", str(tmp_path / "out.po"))
    return (tmp_path / "out.po").read_bytes()


def by_msgmerge(data: bytes, tmp_path: Path) -> bytes:
    # A translator's file merged with the export as the reference, as after a new export.
    (tmp_path / "in.po").write_bytes(data)
    gnu("msgmerge", "--quiet", "--previous", str(tmp_path / "in.po"), str(tmp_path / "in.po"),
        "-o", str(tmp_path / "out.po"))  # fmt: skip
    return (tmp_path / "out.po").read_bytes()


def by_msgattrib(data: bytes, tmp_path: Path) -> bytes:
    (tmp_path / "in.po").write_bytes(data)
    gnu("msgattrib", "--no-obsolete", str(tmp_path / "in.po"), "-o", str(tmp_path / "out.po"))
    return (tmp_path / "out.po").read_bytes()


TOOLS: dict[str, Callable[[bytes, Path], bytes]] = {
    "babel": by_babel,
    "polib": by_polib,
    "translate-toolkit": by_translate_toolkit,
    "msgcat": by_msgcat,
    "msgmerge": by_msgmerge,
    "msgattrib": by_msgattrib,
}


@pytest.fixture
def demo(session: Session, client: TestClient) -> None:
    seed_demo(session)


def export(client: TestClient, locale: str = "fr") -> bytes:
    response = client.get(
        "/v1/translations/export", params={"locale": locale, "include_approved": True}
    )
    assert response.status_code == 200, response.text
    return response.content


def upload(client: TestClient, data: bytes) -> Any:
    response = client.post("/v1/translations/import", content=data, headers=PO_TYPE)
    assert response.status_code == 200, response.text
    return response.json()


def without_dates(data: bytes) -> bytes:
    """The file without the header lines that carry the time of the export."""
    dated = (b'"POT-Creation-Date:', b'"PO-Revision-Date:')
    return b"\n".join(line for line in data.split(b"\n") if not line.startswith(dated))


def entries(data: bytes) -> dict[str, po.PoEntry]:
    return {entry.context: entry for entry in po.read_po(data).entries}


@pytest.mark.usefixtures("demo")
class TestDemoExport:
    """The export these tests start from has every kind of entry, and passes msgfmt."""

    def test_has_stale_plural_and_chat_entries(self, client: TestClient, tmp_path: Path) -> None:
        data = export(client)
        found = entries(data)

        stale = found[STALE]
        assert stale.fuzzy and stale.previous_source and stale.previous_source.count("\n") > 1
        assert "plural forms: one, many, other" in found[PLURAL].comments
        assert "plural(" in found[PLURAL].translation
        assert found[CHAT].translation
        (tmp_path / "fr.po").write_bytes(data)
        gnu("msgfmt", "--check", "-o", "/dev/null", str(tmp_path / "fr.po"))

    def test_polib_reads_the_multi_line_previous_source(self, client: TestClient) -> None:
        data = export(client)
        (entry,) = [e for e in polib.pofile(data.decode()) if e.msgctxt == STALE]

        assert entry.previous_msgid == entries(data)[STALE].previous_source
        assert entry.fuzzy

    def test_translate_toolkit_reads_the_multi_line_previous_source(
        self, client: TestClient
    ) -> None:
        data = export(client)
        (unit,) = [u for u in ttk_po.pofile.parsestring(data).units if u.getcontext() == STALE]

        assert unit.prev_source == entries(data)[STALE].previous_source
        assert unit.isfuzzy()


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("tool", TOOLS)
class TestSavedByTool:
    def test_untouched_file_imports_and_the_next_export_is_the_same(
        self, client: TestClient, tool: str, tmp_path: Path
    ) -> None:
        first = export(client)
        saved = TOOLS[tool](first, tmp_path)
        assert saved != first  # each tool rewrites something (wrapping, headers)
        if tool != "babel":  # Babel keeps "#|" lines only as "# |" translator comments
            previous = entries(first)[STALE].previous_source
            assert entries(saved)[STALE].previous_source == previous

        result = upload(client, saved)

        assert (result["updated"], result["warnings"]) == (0, [])
        assert without_dates(export(client)) == without_dates(first)

    def test_edited_file_imports_byte_exact(
        self, client: TestClient, tool: str, tmp_path: Path
    ) -> None:
        first = export(client)
        edited = [
            po.PoEntry(e.context, e.source, NEW_SUMMARY, comments=e.comments)
            if e.context == STALE
            else e
            for e in po.read_po(first).entries
        ]
        data = po.write_po(edited, locale="fr", registry_id=po.read_po(first).registry_id or "")

        result = upload(client, TOOLS[tool](data, tmp_path))

        assert result["updated"] == 1
        body = client.get("/v1/prompts/summarize/article/-/translations/fr").json()
        assert (body["template"], body["status"]) == (NEW_SUMMARY, "in_review")
        again = entries(export(client))[STALE]
        assert (again.translation, again.fuzzy) == (NEW_SUMMARY, False)


def edit_with_babel(data: bytes) -> bytes:
    catalog = babel_pofile.read_po(io.BytesIO(data))
    message = catalog.get(entries(data)[STALE].source, context=STALE)
    message.string = NEW_SUMMARY
    message.flags.discard("fuzzy")
    out = io.BytesIO()
    babel_pofile.write_po(out, catalog)
    return out.getvalue()


def edit_with_polib(data: bytes) -> bytes:
    catalog = polib.pofile(data.decode())
    (entry,) = [e for e in catalog if e.msgctxt == STALE]
    entry.msgstr = NEW_SUMMARY
    entry.flags.remove("fuzzy")
    entry.previous_msgid = None
    return str(catalog).encode()


def edit_with_translate_toolkit(data: bytes) -> bytes:
    store = ttk_po.pofile.parsestring(data)
    (unit,) = [u for u in store.units if u.getcontext() == STALE]
    unit.target = NEW_SUMMARY
    unit.markfuzzy(False)
    return bytes(store)


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize(
    "edit",
    [edit_with_babel, edit_with_polib, edit_with_translate_toolkit],
    ids=lambda f: f.__name__.removeprefix("edit_with_"),
)
def test_translation_edited_through_the_library_imports(
    client: TestClient, edit: Callable[[bytes], bytes]
) -> None:
    result = upload(client, edit(export(client)))

    assert result["updated"] == 1
    body = client.get("/v1/prompts/summarize/article/-/translations/fr").json()
    assert (body["template"], body["status"]) == (NEW_SUMMARY, "in_review")


SHORT_SOURCES = [
    "Thank you for your order, {{ who }}.",
    "Your parcel arrives tomorrow morning, {{ who }}.",
    "We are sorry about the delay, {{ who }}.",
    "Hello {{ who }}, how can we help you today?",
]
FRENCH = [
    "Merci pour votre commande, {{ who }}.",
    "Votre colis arrive demain matin, {{ who }}.",
    "Nous sommes désolés pour ce retard, {{ who }}.",
    "Bonjour {{ who }}, comment pouvons-nous vous aider aujourd'hui ?",
]
GERMAN = [
    "Danke für Ihre Bestellung, {{ who }}.",
    "Ihr Paket kommt morgen früh an, {{ who }}.",
    "Es tut uns leid wegen der Verspätung, {{ who }}.",
    "Hallo {{ who }}, wie können wir Ihnen heute helfen?",
]


class TestLanguageOfTheFile:
    """Each entry is too short for the style guide's language check (under 8 words);
    the file's text taken together is not."""

    @pytest.fixture
    def folder(self, client: TestClient) -> str:
        folder = unique_name("lang")
        for i, source in enumerate(SHORT_SOURCES):
            name = f"{folder}/p{i}"
            client.post("/v1/prompts", json={"name": name})
            body = {"template": source, "variables": [{"name": "who", "type": "string"}]}
            assert client.post(f"/v1/prompts/{name}/-/versions", json=body).status_code == 201
        return folder

    def translated(self, client: TestClient, folder: str, texts: list[str]) -> bytes:
        response = client.get("/v1/translations/export", params={"locale": "de", "prefix": folder})
        parsed = po.read_po(response.content)
        filled = [
            po.PoEntry(e.context, e.source, text, comments=e.comments)
            for e, text in zip(parsed.entries, texts, strict=True)
        ]
        return po.write_po(filled, locale="de", registry_id=parsed.registry_id or "")

    def test_french_file_labelled_german_is_imported_with_a_warning(
        self, client: TestClient, folder: str
    ) -> None:
        result = upload(client, self.translated(client, folder, FRENCH))

        assert result["detected_language"] == "fr"
        (warning,) = [w for w in result["warnings"] if w["loc"] == ["body", "Language"]]
        assert "French" in warning["message"] and "German" in warning["message"]

    def test_german_file_says_so_without_a_warning(self, client: TestClient, folder: str) -> None:
        result = upload(client, self.translated(client, folder, GERMAN))

        assert (result["detected_language"], result["warnings"]) == ("de", [])
