"""The plural filter's forms against the CLDR plural categories of the locale."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry.translations import checks, po

from factories import make_prompt

SOURCE = "You have {{ n | plural(one='# open ticket', other='# open tickets') }}."
N = [{"name": "n", "type": "integer"}]
PO_TYPE = {"content-type": "text/x-gettext-translation"}

RU_ONE_OTHER = "У вас {{ n | plural(one='# открытый тикет', other='# открытых тикетов') }}."
RU_ALL = (
    "У вас {{ n | plural(one='# открытый тикет', few='# открытых тикета', "
    "many='# открытых тикетов', other='# открытого тикета') }}."
)
JA_FEW = "未解決のチケットが {{ n | plural(few='# 件', other='# 件') }} あります。"


def check(text: str, locale: str) -> list[checks.TranslationProblem]:
    return checks.check_translation([SOURCE], [text], locale=locale)


class TestCheckTranslation:
    def test_russian_with_one_and_other_lacks_few_and_many(self) -> None:
        (finding,) = check(RU_ONE_OTHER, "ru")

        assert finding.level == "warning"
        assert "few, many" in finding.message
        assert finding.line == 1

    def test_every_russian_form_is_clean(self) -> None:
        assert check(RU_ALL, "ru") == []

    def test_japanese_with_few_is_an_error(self) -> None:
        (finding,) = check(JA_FEW, "ja")

        assert finding.level == "error"
        assert "few" in finding.message and "its forms: other" in finding.message
        # Without a locale (the SDK checking structure only) the forms are not judged.
        assert checks.check_translation([SOURCE], [JA_FEW]) == []

    def test_a_form_no_locale_has_is_an_error(self) -> None:
        text = "{{ n | plural(one='# Datei', dual='# Dateien', other='# Dateien') }}"

        (finding,) = check(text, "de")

        assert (finding.level, "dual" in finding.message) == ("error", True)

    def test_missing_other_is_an_error(self) -> None:
        (finding,) = check("{{ n | plural(one='# fichier', many='# de fichiers') }}", "fr")

        assert finding.level == "error"
        assert "other" in finding.message

    def test_filter_block_and_later_lines(self) -> None:
        text = (
            "Bonjour.\n"
            "{% filter plural(one='un fichier', other='# fichiers') %}{{ n }}{% endfilter %}"
        )

        (finding,) = checks.check_plurals(text, "fr", ("template",))

        assert (finding.level, finding.line) == ("warning", 2)
        assert "many" in finding.message

    def test_forms_from_a_mapping_are_not_judged(self) -> None:
        assert checks.check_plurals("{{ n | plural(**forms) }}", "ru", ("template",)) == []

    def test_each_chat_message_is_checked(self) -> None:
        found = checks.check_translation(
            ["Hi.", SOURCE],
            ["Привет.", RU_ONE_OTHER],
            source_roles=["system", "user"],
            roles=["system", "user"],
            locale="ru",
        )

        assert [(f.level, f.loc) for f in found] == [
            ("warning", ("body", "messages", 1, "content"))
        ]

    @pytest.mark.parametrize(
        ("locale", "expected"),
        [
            ("en", ("one", "other")),
            ("ru", ("one", "few", "many", "other")),
            ("ja", ("other",)),
            ("ar", ("zero", "one", "two", "few", "many", "other")),
            ("pt-BR", ("one", "many", "other")),
        ],
    )
    def test_categories_come_from_cldr(self, locale: str, expected: tuple[str, ...]) -> None:
        assert checks.plural_categories(locale) == expected


@pytest.fixture
def ticket(session: Session) -> str:
    return make_prompt(session, template=SOURCE, variables=N)


def submit(client: TestClient, name: str, locale: str, text: str) -> Any:
    return client.put(f"/v1/prompts/{name}/-/translations/{locale}", json={"template": text})


class TestSubmit:
    def test_missing_forms_are_a_warning(self, client: TestClient, ticket: str) -> None:
        response = submit(client, ticket, "ru", RU_ONE_OTHER)

        assert response.status_code in (200, 201), response.text
        messages = [w["message"] for w in response.json()["warnings"]]
        assert any("few, many" in m for m in messages), messages

    def test_a_form_the_locale_lacks_is_refused(self, client: TestClient, ticket: str) -> None:
        response = submit(client, ticket, "ja", JA_FEW)

        assert response.status_code == 422
        assert "few" in response.json()["errors"][0]["message"]

    def test_approving_checks_the_forms_too(self, client: TestClient, ticket: str) -> None:
        submit(client, ticket, "ru", RU_ONE_OTHER)

        response = client.post(
            f"/v1/prompts/{ticket}/-/translations/ru/review", json={"action": "approve"}
        )

        assert response.status_code == 200, response.text
        assert any("few, many" in w["message"] for w in response.json()["warnings"]), response.text


def export(client: TestClient, locale: str, prefix: str) -> bytes:
    response = client.get("/v1/translations/export", params={"locale": locale, "prefix": prefix})
    assert response.status_code == 200, response.text
    return response.content


def translated(data: bytes, text: str) -> bytes:
    parsed = po.read_po(data)
    (entry,) = parsed.entries
    assert parsed.locale and parsed.registry_id
    filled = po.PoEntry(entry.context, entry.source, text, comments=entry.comments)
    return po.write_po([filled], locale=parsed.locale, registry_id=parsed.registry_id)


class TestPoFiles:
    def test_export_says_which_forms_each_entry_needs(
        self, client: TestClient, session: Session, ticket: str
    ) -> None:
        plain = make_prompt(session, name=f"{ticket}-plain", template="Hello {{ who }}")

        (entry,) = po.read_po(export(client, "ru", ticket)).entries
        (other,) = po.read_po(export(client, "ru", plain)).entries

        assert "plural forms: one, few, many, other" in entry.comments
        assert not any(c.startswith("plural forms") for c in other.comments)

    def test_import_warns_of_missing_forms(self, client: TestClient, ticket: str) -> None:
        data = translated(export(client, "ru", ticket), RU_ONE_OTHER)

        response = client.post("/v1/translations/import", content=data, headers=PO_TYPE)

        assert response.status_code == 200, response.text
        warnings = response.json()["warnings"]
        assert any("few, many" in w["message"] for w in warnings), warnings

    def test_import_refuses_a_form_the_locale_lacks(self, client: TestClient, ticket: str) -> None:
        data = translated(export(client, "ja", ticket), JA_FEW)

        response = client.post("/v1/translations/import", content=data, headers=PO_TYPE)

        assert response.status_code == 422
        (error,) = response.json()["errors"]
        assert "few" in error["message"]
        assert error["line"] == po.read_po(data).entries[0].lineno


class TestLint:
    def lint(self, client: TestClient, locale: str, **body: Any) -> list[dict[str, Any]]:
        response = client.post("/v1/lint", json={"locale": locale, "variables": N, **body})
        assert response.status_code == 200, response.text
        return [f for f in response.json()["findings"] if f["rule"] == checks.PLURAL_RULE]

    def test_missing_form_is_a_warning_with_its_position(self, client: TestClient) -> None:
        (finding,) = self.lint(client, "ru", template="Итог:\n" + RU_ONE_OTHER)

        assert finding["level"] == "warning"
        assert (finding["line"], finding["column"], finding["match"]) == (2, 14, "plural")
        # one and other are all an English source needs.
        assert self.lint(client, "en", template=SOURCE) == []

    def test_form_the_locale_lacks_is_an_error(self, client: TestClient) -> None:
        messages = [{"role": "system", "content": "Hi."}, {"role": "user", "content": JA_FEW}]

        (finding,) = self.lint(client, "ja", messages=messages)

        assert (finding["level"], finding["unit"], finding["role"]) == ("error", 1, "user")
