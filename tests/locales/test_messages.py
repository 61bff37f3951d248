"""The registry's own messages: complete, well-formed catalogs, served in the caller's language."""

from __future__ import annotations

import os
import re
import shutil
import string
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry.app import create_app
from registry.config import Settings
from registry.db import Database
from registry.locales import messages
from registry.locales.messages import N_, _, _n, available_locales, current_locale, use_locale

from factories import make_prompt

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
TEMPLATE = LOCALES / "messages.pot"
LANGUAGES = ("fr", "de", "es", "ja")

MsgId = str | tuple[str, ...]


# ------------------------------------------------------------------ the checks


def _extraction_keywords() -> dict[str, object]:
    """The keywords `make messages` extracts, read from the Makefile so both agree."""
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(r"^MESSAGE_KEYWORDS\s*:?=\s*(.+)$", makefile, re.MULTILINE)
    assert match, "the Makefile defines no MESSAGE_KEYWORDS"
    return dict(parse_keywords(match[1].split()))


def marked_messages(directory: Path) -> set[MsgId]:
    """The msgids marked in the Python code under ``directory``, as `make messages` sees them."""
    with (ROOT / "babel.cfg").open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    found = extract_from_dir(
        directory,
        method_map,
        options_map,
        keywords=_extraction_keywords(),
        comment_tags=("TRANSLATORS:",),
    )
    return {message for _file, _line, message, _comments, _context in found}


def template_messages() -> set[MsgId]:
    with TEMPLATE.open("rb") as pot:
        return {m.id for m in read_po(pot) if m.id}


def catalog_problems(po: Path, template: set[MsgId]) -> list[str]:
    """Every msgid of the template that the catalog does not translate, or only fuzzily."""
    with po.open("rb") as source:
        catalog = read_po(source)
    problems = []
    for msgid in sorted(template, key=str):
        entry = catalog.get(msgid)
        if entry is None or entry.id != msgid:
            problems.append(f"missing: {msgid!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        elif not all(entry.string if isinstance(entry.string, tuple) else (entry.string,)):
            problems.append(f"untranslated: {msgid!r}")
    return problems


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a message; positional fields count as malformed."""
    return {
        field or "<positional>"
        for _t, field, _s, _c in string.Formatter().parse(text)
        if field is not None
    }


def placeholder_problems(po: Path) -> list[str]:
    with po.open("rb") as source:
        catalog = read_po(source)
    problems = []
    for entry in catalog:
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        expected = set().union(*(placeholders(i) for i in ids))
        for text in strings:
            try:
                found = placeholders(text)
                text.format(**dict.fromkeys(found, "x"))
            except (ValueError, KeyError, IndexError) as exc:
                problems.append(f"{entry.id!r}: {text!r} is not a valid format string ({exc})")
                continue
            if found != expected:
                problems.append(
                    f"{entry.id!r}: {text!r} has {sorted(found)}, not {sorted(expected)}"
                )
    return problems


def catalog(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


class TestCatalogs:
    def test_every_marked_message_is_in_the_template(self) -> None:
        missing = marked_messages(ROOT / "registry") - template_messages()
        assert not missing, f"run `make messages`, then translate: {sorted(missing, key=str)}"

    def test_the_template_has_no_message_the_code_dropped(self) -> None:
        stale = template_messages() - marked_messages(ROOT / "registry")
        assert not stale, f"run `make messages`: {sorted(stale, key=str)}"

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_every_message_is_translated(self, language: str) -> None:
        assert catalog_problems(catalog(language), template_messages()) == []

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_translations_keep_the_placeholders(self, language: str) -> None:
        assert placeholder_problems(catalog(language)) == []

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_msgfmt_accepts_the_catalog(self, language: str) -> None:
        msgfmt = shutil.which("msgfmt")
        assert msgfmt, "GNU gettext's msgfmt is required (make test installs it)"
        result = subprocess.run(
            [msgfmt, "--check", "--output-file", os.devnull, str(catalog(language))],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr

    def test_the_served_languages_are_the_catalogs(self) -> None:
        assert set(available_locales()) == {"en", *LANGUAGES}


class TestTheChecksBite:
    """The checks above fail on the mistakes they exist for."""

    def test_a_marked_message_missing_from_the_template_is_found(self, tmp_path: Path) -> None:
        (tmp_path / "module.py").write_text(
            "from registry.locales.messages import N_, _, _n\n"
            'A = N_("Not found")\n'
            'B = _("a message nobody extracted: {what}")\n'
            'C = _n("{n} new thing", "{n} new things", 2)\n'
        )
        marked = marked_messages(tmp_path)
        assert marked - template_messages() == {
            "a message nobody extracted: {what}",
            ("{n} new thing", "{n} new things"),
        }

    def test_missing_fuzzy_and_bad_entries_are_found(self, tmp_path: Path) -> None:
        po = tmp_path / "messages.po"
        po.write_text(
            'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
            '#, fuzzy\nmsgid "Not found"\nmsgstr "Introuvable"\n\n'
            'msgid "Conflict"\nmsgstr ""\n\n'
            'msgid "{name} is required"\nmsgstr "{nom} est obligatoire"\n',
            encoding="utf-8",
        )
        template = {"Not found", "Conflict", "Render failed", "{name} is required"}
        assert catalog_problems(po, template) == [
            "untranslated: 'Conflict'",
            "fuzzy: 'Not found'",
            "missing: 'Render failed'",
        ]
        assert len(placeholder_problems(po)) == 1


# ------------------------------------------------------------ the runtime API


class TestTranslate:
    def test_english_is_the_source(self) -> None:
        assert current_locale() == "en"
        assert _("Not found") == "Not found"

    @pytest.mark.parametrize(
        ("locale", "expected"),
        [
            ("de", "Nicht gefunden"),
            ("fr", "Introuvable"),
            ("es", "No encontrado"),
            ("ja", "見つかりません"),
            ("fr-CA", "Introuvable"),  # through the CLDR fallback chain
            ("de_AT", "Nicht gefunden"),
            ("ko", "Not found"),  # no catalog: English
        ],
    )
    def test_use_locale(self, locale: str, expected: str) -> None:
        with use_locale(locale):
            assert _("Not found") == expected
        assert _("Not found") == "Not found"

    def test_placeholders_are_formatted_after_translation(self) -> None:
        with use_locale("de"):
            message = _("{name} is required").format(name=repr("who"))
        assert message == "die Variable 'who' ist erforderlich"

    def test_marked_messages_are_translated_where_they_are_shown(self) -> None:
        title = N_("Render failed")
        assert title == "Render failed"
        with use_locale("es"):
            assert _(title) == "Error de renderizado"

    @pytest.mark.parametrize(
        ("locale", "count", "expected"),
        [
            ("fr", 1, "envoyez au plus 1 octet"),
            ("fr", 0, "envoyez au plus 0 octet"),  # French singular covers 0
            ("fr", 2, "envoyez au plus 2 octets"),
            ("de", 1, "senden Sie höchstens 1 Byte"),
            ("de", 0, "senden Sie höchstens 0 Bytes"),
            ("ja", 5, "5 バイト以下で送信してください"),
            ("en", 1, "send at most 1 byte"),
        ],
    )
    def test_plurals_follow_the_locale(self, locale: str, count: int, expected: str) -> None:
        with use_locale(locale):
            message = _n("send at most {max_bytes} byte", "send at most {max_bytes} bytes", count)
        assert message.format(max_bytes=count) == expected

    def test_each_thread_has_its_own_locale(self) -> None:
        seen: dict[str, str] = {}
        barrier = threading.Barrier(2)

        def worker(locale: str) -> None:
            with use_locale(locale):
                barrier.wait()
                seen[locale] = _("Not found")

        threads = [threading.Thread(target=worker, args=(loc,)) for loc in ("de", "ja")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert seen == {"de": "Nicht gefunden", "ja": "見つかりません"}


@pytest.fixture
def scratch_locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A locales/ directory of its own holding a copy of the German catalog."""
    po = tmp_path / "de" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    shutil.copy(catalog("de"), po)
    monkeypatch.setattr(messages, "LOCALES_DIR", tmp_path)
    monkeypatch.setattr(messages, "_translations", {})
    messages.available_locales.cache_clear()
    yield tmp_path
    messages.available_locales.cache_clear()


class TestCompilation:
    def test_a_missing_mo_is_compiled(self, scratch_locales: Path) -> None:
        mo = scratch_locales / "de" / "LC_MESSAGES" / "messages.mo"
        assert not mo.exists()
        assert available_locales() == ("en", "de")
        with use_locale("de"):
            assert _("Not found") == "Nicht gefunden"
        assert mo.is_file()

    def test_an_mo_older_than_its_po_is_recompiled(self, scratch_locales: Path) -> None:
        po = scratch_locales / "de" / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        messages.load_catalogs()
        assert mo.is_file()
        po.write_text(
            po.read_text(encoding="utf-8").replace('"Nicht gefunden"', '"Nicht vorhanden"'),
            encoding="utf-8",
        )
        stamp = mo.stat().st_mtime_ns
        os.utime(po, ns=(stamp + 10**9, stamp + 10**9))
        messages._translations.clear()
        with use_locale("de"):
            assert _("Not found") == "Nicht vorhanden"
        assert mo.stat().st_mtime_ns > stamp

    def test_an_up_to_date_mo_is_used_as_it_is(self, scratch_locales: Path) -> None:
        po = scratch_locales / "de" / "LC_MESSAGES" / "messages.po"
        messages.load_catalogs()
        # The .po is older than the .mo, so the edit is not compiled.
        po.write_text(po.read_text(encoding="utf-8").replace("Nicht gefunden", "X"), "utf-8")
        os.utime(po, ns=(0, 0))
        messages._translations.clear()
        with use_locale("de"):
            assert _("Not found") == "Nicht gefunden"


# ---------------------------------------------------------------- through the API


def problem(response: object, status: int, language: str) -> dict[str, object]:
    from httpx import Response

    assert isinstance(response, Response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["content-language"] == language
    assert "accept-language" in response.headers["vary"].lower()
    return dict(response.json())


class TestServedMessages:
    def test_unknown_prompt_in_german(self, client: TestClient) -> None:
        response = client.get("/v1/prompts/no/such-prompt", headers={"Accept-Language": "de"})
        body = problem(response, 404, "de")
        assert body["title"] == "Nicht gefunden"

    def test_unknown_prompt_detail_in_german(self, client: TestClient) -> None:
        response = client.get("/v1/prompts/no/such-prompt", headers={"Accept-Language": "de"})
        body = problem(response, 404, "de")
        assert body["detail"] != "no prompt is named 'no/such-prompt'"
        assert "'no/such-prompt'" in str(body["detail"])

    def test_unknown_route_in_german(self, client: TestClient) -> None:
        response = client.get("/v2/nothing", headers={"Accept-Language": "de"})
        body = problem(response, 404, "de")
        assert (body["title"], body["detail"]) == (
            "Nicht gefunden",
            "unter /v2/nothing gibt es nichts",
        )

    def test_regional_french_is_served_french(self, client: TestClient) -> None:
        response = client.get("/v2/nothing", headers={"Accept-Language": "fr-CA, fr;q=0.9"})
        body = problem(response, 404, "fr")
        assert body["title"] == "Introuvable"
        assert body["detail"] == "il n’y a rien à l’adresse /v2/nothing"

    def test_japanese(self, client: TestClient) -> None:
        response = client.delete("/v1/prompts", headers={"Accept-Language": "ja"})
        body = problem(response, 405, "ja")
        assert body["title"] == "許可されていないメソッド"
        assert str(body["detail"]).startswith("/v1/prompts では DELETE を使用できません。")

    @pytest.mark.parametrize("header", ["ko", "ko-KR, zh;q=0.5", "*", ""])
    def test_unsupported_languages_get_english(self, client: TestClient, header: str) -> None:
        response = client.get("/v2/nothing", headers={"Accept-Language": header})
        body = problem(response, 404, "en")
        assert (body["title"], body["detail"]) == ("Not found", "there is nothing at /v2/nothing")

    def test_the_best_weighted_language_wins(self, client: TestClient) -> None:
        header = "ko;q=1, es;q=0.4, de;q=0.8"
        body = problem(client.get("/v2/nothing", headers={"Accept-Language": header}), 404, "de")
        assert body["title"] == "Nicht gefunden"

    def test_missing_field(self, client: TestClient) -> None:
        response = client.post("/v1/prompts", json={}, headers={"Accept-Language": "de"})
        body = problem(response, 422, "de")
        assert body["title"] == "Ungültige Eingabe"
        assert body["errors"] == [
            {"loc": ["body", "name"], "message": "dieses Feld ist erforderlich"}
        ]
        assert body["detail"] == "die Anfrage ist ungültig: body.name: dieses Feld ist erforderlich"

    def test_pattern_mismatch_keeps_the_pattern(self, client: TestClient) -> None:
        response = client.post(
            "/v1/prompts", json={"name": "Bad Name"}, headers={"Accept-Language": "fr"}
        )
        body = problem(response, 422, "fr")
        errors = body["errors"]
        assert isinstance(errors, list)
        message = errors[0]["message"]
        assert message.startswith("doit correspondre au motif ^")
        assert "[a-z0-9][a-z0-9._-]*" in message

    @pytest.mark.parametrize(
        ("payload", "expected"),
        [
            ({"name": "a", "colour": "red"}, "ce champ n’est pas autorisé ici"),
            (
                {"name": "a", "kind": "essay"},
                "doit être l’une de ces valeurs\u00a0: 'text' ou 'chat'",
            ),
            ({"name": "a", "tags": ["x" * 65]}, "doit comporter au plus 64 caractères"),
            ({"name": 3}, "doit être une chaîne de caractères"),
        ],
    )
    def test_other_validation_errors(
        self, client: TestClient, payload: dict[str, object], expected: str
    ) -> None:
        response = client.post("/v1/prompts", json=payload, headers={"Accept-Language": "fr"})
        errors = problem(response, 422, "fr")["errors"]
        assert isinstance(errors, list)
        assert errors[0]["message"] == expected

    def test_query_validation(self, client: TestClient) -> None:
        response = client.get("/v1/prompts?limit=500", headers={"Accept-Language": "es"})
        errors = problem(response, 422, "es")["errors"]
        assert errors == [{"loc": ["query", "limit"], "message": "debe ser menor o igual que 200"}]

    def test_malformed_json(self, client: TestClient) -> None:
        response = client.post(
            "/v1/prompts",
            content=b"{not json",
            headers={"content-type": "application/json", "Accept-Language": "ja"},
        )
        body = problem(response, 422, "ja")
        assert str(body["detail"]).startswith("リクエストが無効です：")

    def test_oversized_body(self, client: TestClient) -> None:
        response = client.post(
            "/v1/prompts", content=b"x" * 70_000, headers={"Accept-Language": "es"}
        )
        body = problem(response, 413, "es")
        assert body["title"] == "Cuerpo de la solicitud demasiado grande"
        assert body["detail"] == "el cuerpo de la solicitud ocupa más de 65536 bytes"

    def test_render_error_from_a_sync_endpoint(self, client: TestClient, session: Session) -> None:
        # The render endpoint is sync: it runs in Starlette's threadpool, which must see
        # the request's locale.
        name = make_prompt(session, template="Hello {{ who }}")
        response = client.post(
            f"/v1/prompts/{name}/-/render",
            json={"variables": {}},
            headers={"Accept-Language": "de"},
        )
        body = problem(response, 422, "de")
        assert body["title"] == "Rendern fehlgeschlagen"
        assert body["errors"] == [
            {"loc": ["variables", "who"], "message": "die Variable 'who' ist erforderlich"}
        ]
        assert body["detail"] == (
            "die Variablen passen nicht zur Deklaration: die Variable 'who' ist erforderlich"
        )

    def test_template_error_in_japanese(self, client: TestClient, session: Session) -> None:
        name = make_prompt(session)
        response = client.post(
            f"/v1/prompts/{name}/-/versions",
            json={"template": '{% extends "x" %}'},
            headers={"Accept-Language": "ja"},
        )
        body = problem(response, 422, "ja")
        assert body["title"] == "無効なテンプレート"
        errors = body["errors"]
        assert isinstance(errors, list)
        assert errors[0]["message"] == (
            "{% extends %} はサポートされていません。"
            "プロンプトの組み立てには {% include %} を使用してください"
        )

    def test_translation_check_failure_in_german(
        self, client: TestClient, session: Session
    ) -> None:
        name = make_prompt(session, template="Hello {{ who }},\nwelcome to our shop.")
        response = client.put(
            f"/v1/prompts/{name}/-/translations/fr",
            json={"template": "Bonjour, bienvenue chez nous."},
            headers={"Accept-Language": "de"},
        )
        body = problem(response, 422, "de")
        assert body["title"] == "Ungültige Eingabe"
        assert body["errors"] == [
            {"loc": ["body", "template"], "message": "in der Übersetzung fehlende Variable: who"},
            {
                "loc": ["body", "template"],
                "message": "der Ausgangstext hat 1 Zeilenumbruch, die Übersetzung 0",
            },
        ]
        assert body["detail"] == (
            "die Übersetzung passt nicht zum Ausgangstext: "
            "in der Übersetzung fehlende Variable: who; "
            "der Ausgangstext hat 1 Zeilenumbruch, die Übersetzung 0"
        )

    def test_variables_mismatch_on_publish_in_japanese(
        self, client: TestClient, session: Session
    ) -> None:
        name = make_prompt(session)
        response = client.post(
            f"/v1/prompts/{name}/-/versions",
            json={
                "template": "Hello {{ who }} from {{ shop }}",
                "variables": [{"name": "who"}, {"name": "unused"}],
            },
            headers={"Accept-Language": "ja"},
        )
        body = problem(response, 422, "ja")
        assert body["title"] == "無効な入力"
        used = (
            "変数 'shop' はテンプレートで使用されていますが、宣言されていません。"
            "variables に追加してください"
        )
        unused = "変数 'unused' は宣言されていますが、テンプレートで使用されていません"
        assert body["errors"] == [
            {"loc": ["body", "variables"], "message": used},
            {"loc": ["body", "variables", 1], "message": unused},
        ]
        assert body["detail"] == f"宣言された変数がテンプレートと一致しません：{used}; {unused}"

    def test_validator_message_in_french(self, client: TestClient, session: Session) -> None:
        # Pydantic runs the validators inside the request, in the request's locale.
        name = make_prompt(session)
        response = client.post(
            f"/v1/prompts/{name}/-/versions",
            json={"template": "{{ who }}", "variables": [{"name": "who"}, {"name": "who"}]},
            headers={"Accept-Language": "fr"},
        )
        errors = problem(response, 422, "fr")["errors"]
        assert errors == [
            {
                "loc": ["body"],
                "message": "valeur non valide\u00a0: variable déclarée deux fois\u00a0: who",
            }
        ]

    def test_po_import_refusal_in_spanish(self, client: TestClient, session: Session) -> None:
        name = make_prompt(session, template="Hello {{ who }}, welcome to our shop.")
        exported = client.get("/v1/translations/export", params={"locale": "es", "prefix": name})
        assert exported.status_code == 200, exported.text
        # The translator dropped the variable: the file's only entry is refused.
        head, empty, tail = exported.text.rpartition('msgstr ""')
        assert empty, exported.text
        edited = f'{head}msgstr "Hola, bienvenido a nuestra tienda."{tail}'
        response = client.post(
            "/v1/translations/import",
            content=edited.encode(),
            headers={"content-type": "text/x-gettext-translation", "Accept-Language": "es"},
        )
        body = problem(response, 422, "es")
        assert body["title"] == "Entrada no válida"
        assert body["detail"] == (
            "se ha rechazado la importación: 1 entrada incorrecta; no se ha cambiado nada"
        )
        errors = body["errors"]
        assert isinstance(errors, list)
        assert [e["message"] for e in errors] == ["variable que falta en la traducción: who"]
        assert client.get(f"/v1/prompts/{name}/-/translations/es").status_code == 404

    def test_unexpected_errors(self, settings: Settings, database: Database) -> None:
        # The handler of unexpected errors runs outside the middleware, in Starlette's
        # outermost layer; it negotiates the language itself.
        app = create_app(settings, db=database)

        @app.get("/boom")
        def boom() -> None:
            raise RuntimeError("boom")

        with TestClient(app, raise_server_exceptions=False) as test_client:
            response = test_client.get("/boom", headers={"Accept-Language": "es"})
        body = problem(response, 500, "es")
        assert (body["title"], body["detail"]) == (
            "Error interno",
            "se ha producido un error inesperado; ha quedado registrado",
        )

    def test_english_is_unchanged_without_a_header(self, client: TestClient) -> None:
        body = problem(client.post("/v1/prompts", json={}), 422, "en")
        assert body["errors"] == [{"loc": ["body", "name"], "message": "this field is required"}]

    def test_successful_responses_carry_no_content_language(self, client: TestClient) -> None:
        response = client.get("/healthz", headers={"Accept-Language": "de"})
        assert response.status_code == 200
        assert "content-language" not in response.headers

    def test_the_locale_does_not_leak_between_requests(self, client: TestClient) -> None:
        problem(client.get("/v2/nothing", headers={"Accept-Language": "ja"}), 404, "ja")
        body = problem(client.get("/v2/nothing"), 404, "en")
        assert body["title"] == "Not found"
