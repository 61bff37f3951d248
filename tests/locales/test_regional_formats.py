"""Numbers, dates and currencies are written for the locale asked for when the text is in
its language, and for the served locale when the text is in another language.

``de-CH`` served the German text writes Swiss numbers; ``it`` served the English source
writes English ones, so the figures match the words around them. The expected outputs
come from Babel directly, so the tests follow whatever CLDR data Babel ships.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from babel import dates, numbers
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry import Client
from registry.locales.tags import format_locale

from factories import make_prompt

FIGURES = "{{ amount | number }}, {{ price | currency('EUR') }}, {{ day | date('medium') }}"
VARIABLES = [
    {"name": "amount", "type": "number"},
    {"name": "price", "type": "number"},
    {"name": "day", "type": "string"},
]
VALUES = {"amount": 1234567.891, "price": 1234.5, "day": "2026-03-05"}
# The words before the figures in each text; the English source serves every other locale.
WORDS = {
    "en": "Total: ",
    "de": "Summe: ",
    "fr": "Total : ",
    "es": "Importe: ",
    "pt": "Valor: ",
    "zh_Hant": "總計：",
}

# Accept-Language → (served locale, formatting locale).
TABLE = [
    ("de-CH", "de", "de_CH"),
    ("de-AT", "de", "de_AT"),
    ("en-IN", "en", "en_IN"),
    ("en-AU", "en", "en_AU"),
    ("fr-CA", "fr", "fr_CA"),
    ("es-MX", "es", "es_MX"),
    ("pt-BR", "pt", "pt_BR"),
    ("zh-Hant-TW", "zh_Hant", "zh_Hant_TW"),
    # Another language: the English source is served, and written as English.
    ("it", "en", "en"),
    ("ja", "en", "en"),
]


def expected(served: str, formatting: str) -> str:
    parts = [
        numbers.format_decimal(Decimal("1234567.891"), locale=formatting),
        numbers.format_currency(Decimal("1234.5"), "EUR", locale=formatting),
        dates.format_date(dt.date(2026, 3, 5), "medium", locale=formatting),
    ]
    return WORDS[served] + ", ".join(parts)


@pytest.fixture
def invoice(session: Session, client: TestClient) -> str:
    name = make_prompt(session, template=WORDS["en"] + FIGURES, variables=VARIABLES)
    for locale, words in WORDS.items():
        if locale == "en":
            continue
        submitted = client.put(
            f"/v1/prompts/{name}/-/translations/{locale}", json={"template": words + FIGURES}
        )
        assert submitted.status_code in (200, 201), submitted.text
        approved = client.post(
            f"/v1/prompts/{name}/-/translations/{locale}/review", json={"action": "approve"}
        )
        assert approved.status_code == 200, approved.text
    return name


class TestFormatLocale:
    @pytest.mark.parametrize(("requested", "served", "formatting"), TABLE)
    def test_the_table(self, requested: str, served: str, formatting: str) -> None:
        assert format_locale(requested, served) == formatting

    def test_a_regional_parent_formats_for_the_locale_asked_for(self) -> None:
        assert format_locale("es_MX", "es_419") == "es_MX"
        assert format_locale("en_AU", "en_001") == "en_AU"

    def test_the_same_language_in_another_script_formats_for_the_served_one(self) -> None:
        # zh is Simplified Chinese; its dates are not written as Taiwan writes them.
        assert format_locale("zh_Hant_TW", "zh") == "zh"
        assert format_locale("sr_Latn", "sr") == "sr"

    def test_a_parent_in_another_language_formats_for_the_served_one(self) -> None:
        # CLDR's parent of hi_Latn is en_IN: the text served is English.
        assert format_locale("hi_Latn", "en_IN") == "en_IN"


class TestRender:
    @pytest.mark.parametrize(("header", "served", "formatting"), TABLE)
    def test_the_server_formats_for_the_formatting_locale(
        self, client: TestClient, invoice: str, header: str, served: str, formatting: str
    ) -> None:
        response = client.post(
            f"/v1/prompts/{invoice}/-/render",
            json={"variables": VALUES},
            headers={"Accept-Language": header},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["locale"] == served
        assert body["text"] == expected(served, formatting)

    def test_the_answer_names_no_formatting_locale(self, client: TestClient, invoice: str) -> None:
        response = client.post(
            f"/v1/prompts/{invoice}/-/render",
            json={"variables": VALUES},
            headers={"Accept-Language": "de-CH"},
        )
        body = response.json()
        assert (body["locale"], body["requested_locale"]) == ("de", "de_CH")
        assert "format_locale" not in body

    @pytest.mark.parametrize(("header", "served", "formatting"), TABLE)
    def test_the_sdk_renders_what_the_server_renders(
        self, client: TestClient, invoice: str, header: str, served: str, formatting: str
    ) -> None:
        with Client(http_client=client) as sdk:
            prompt = sdk.get(invoice, locale=header)
            assert prompt.locale == served
            assert prompt.render(**VALUES) == expected(served, formatting)
