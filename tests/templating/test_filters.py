"""Locale-aware Jinja filters, rendered through the sandbox and compared with Babel."""

from __future__ import annotations

import contextvars
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from babel import Locale, dates, lists, numbers
from jinja2 import StrictUndefined
from jinja2.exceptions import TemplateRuntimeError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from registry.templating.filters import LOCALE_FILTERS, FilterError, render_locale

LOCALES = ["en", "fr", "de", "ru", "ar", "ja"]

ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
ENV.filters.update(LOCALE_FILTERS)


def render(source: str, locale: str, **variables: Any) -> str:
    """Render ``source`` the way the engine does: with ``render_locale`` set around it."""
    token = render_locale.set(locale)
    try:
        return ENV.from_string(source).render(**variables)
    finally:
        render_locale.reset(token)


class TestServedLocale:
    def test_the_default_is_english(self) -> None:
        assert ENV.from_string("{{ 1234.5|number }}").render() == "1,234.5"

    def test_each_context_formats_for_its_own_locale(self) -> None:
        def in_locale(locale: str) -> str:
            render_locale.set(locale)
            return ENV.from_string("{{ 1234.5|number }}").render()

        french = contextvars.copy_context().run(in_locale, "fr")
        german = contextvars.copy_context().run(in_locale, "de")
        assert (french, german, render_locale.get()) == ("1\u202f234,5", "1.234,5", "en")

    def test_an_unknown_served_locale_is_a_filter_error(self) -> None:
        with pytest.raises(FilterError, match="xx"):
            render("{{ 1|number }}", "xx")


class TestNumber:
    @pytest.mark.parametrize("locale", LOCALES)
    def test_matches_babel(self, locale: str) -> None:
        expected = numbers.format_decimal(1234567.891, locale=locale)
        assert render("{{ x|number }}", locale, x=1234567.891) == expected

    def test_writes_each_locales_separators(self) -> None:
        assert render("{{ x|number }}", "en", x=1234567.891) == "1,234,567.891"
        assert render("{{ x|number }}", "de", x=1234567.891) == "1.234.567,891"

    @pytest.mark.parametrize("locale", LOCALES)
    def test_takes_a_cldr_pattern(self, locale: str) -> None:
        expected = numbers.format_decimal(1234.5, format="#,##0.00", locale=locale)
        assert render("{{ x|number('#,##0.00') }}", locale, x=1234.5) == expected

    def test_quantization_can_be_turned_off(self) -> None:
        source = "{{ x|number('#,##0.0', decimal_quantization=false) }}"
        assert render(source, "fr", x=1.2345) == numbers.format_decimal(
            1.2345, format="#,##0.0", locale="fr", decimal_quantization=False
        )

    def test_reads_numeric_strings(self) -> None:
        expected = numbers.format_decimal(Decimal("1234.5"), locale="de")
        assert render("{{ x|number }}", "de", x=" 1234.5 ") == expected

    @pytest.mark.parametrize(
        "value", ["abc", True, None, [1], {"a": 1}, "NaN", "sNaN", "1e999999999", float("inf")]
    )
    def test_refuses_what_is_not_a_finite_number(self, value: object) -> None:
        with pytest.raises(FilterError, match="'number' filter"):
            render("{{ x|number }}", "en", x=value)

    def test_its_error_is_a_template_runtime_error(self) -> None:
        with pytest.raises(TemplateRuntimeError):
            render("{{ x|number }}", "en", x="abc")


class TestPercent:
    @pytest.mark.parametrize("locale", LOCALES)
    def test_matches_babel(self, locale: str) -> None:
        expected = numbers.format_percent(0.256, locale=locale)
        assert render("{{ x|percent }}", locale, x=0.256) == expected

    def test_refuses_text(self) -> None:
        with pytest.raises(FilterError, match="'percent' filter"):
            render("{{ x|percent }}", "en", x="a quarter")


class TestCurrency:
    @pytest.mark.parametrize("locale", LOCALES)
    @pytest.mark.parametrize("code", ["EUR", "USD", "JPY"])
    def test_matches_babel(self, locale: str, code: str) -> None:
        expected = numbers.format_currency(1234.5, code, locale=locale)
        assert render("{{ x|currency(code) }}", locale, x=1234.5, code=code) == expected

    def test_accepts_a_lower_case_code(self) -> None:
        assert render("{{ 3.5|currency('eur') }}", "fr") == numbers.format_currency(
            3.5, "EUR", locale="fr"
        )

    def test_can_spell_out_the_currency(self) -> None:
        assert render("{{ 3.5|currency('EUR', format_type='name') }}", "fr") == "3,50 euros"

    @pytest.mark.parametrize("code", ["XYZ", "euro", 42])
    def test_refuses_an_unknown_currency(self, code: object) -> None:
        with pytest.raises(FilterError, match="ISO 4217"):
            render("{{ 3|currency(code) }}", "en", code=code)

    def test_refuses_an_unknown_format_type(self) -> None:
        with pytest.raises(FilterError, match="format_type"):
            render("{{ 3|currency('EUR', format_type='fancy') }}", "en")


class TestDate:
    @pytest.mark.parametrize("locale", LOCALES)
    @pytest.mark.parametrize("style", ["short", "medium", "long", "full", "EEEE d MMMM y"])
    def test_matches_babel(self, locale: str, style: str) -> None:
        expected = dates.format_date(dt.date(2024, 3, 5), style, locale=locale)
        assert render("{{ d|date(style) }}", locale, d="2024-03-05", style=style) == expected

    def test_defaults_to_medium(self) -> None:
        assert render("{{ d|date }}", "en", d="2024-03-05") == "Mar 5, 2024"

    @pytest.mark.parametrize(
        "value", [dt.date(2024, 3, 5), dt.datetime(2024, 3, 5, 23, 59), "2024-03-05T23:59:00+05:00"]
    )
    def test_takes_dates_datetimes_and_iso_strings(self, value: object) -> None:
        assert render("{{ d|date('long') }}", "fr", d=value) == "5 mars 2024"

    @pytest.mark.parametrize("value", ["5 March 2024", 20240305, "14:30", None])
    def test_refuses_what_is_not_a_date(self, value: object) -> None:
        with pytest.raises(FilterError, match="'date' filter"):
            render("{{ d|date }}", "en", d=value)

    def test_refuses_a_format_that_is_not_text(self) -> None:
        with pytest.raises(FilterError, match="'date' filter's format"):
            render("{{ d|date(3) }}", "en", d="2024-03-05")

    @pytest.mark.parametrize("pattern", ["bogus", "longest", "HH:mm"])
    def test_refuses_a_pattern_asking_a_date_for_what_it_lacks(self, pattern: str) -> None:
        # Given as a value, so only the render can tell; Babel fails on a date's time.
        with pytest.raises(FilterError, match="cannot use the format"):
            render("{{ d|date(p) }}", "en", d="2024-03-05", p=pattern)


class TestTime:
    @pytest.mark.parametrize("locale", LOCALES)
    @pytest.mark.parametrize("style", ["short", "medium", "HH:mm"])
    def test_matches_babel(self, locale: str, style: str) -> None:
        expected = dates.format_time(dt.time(14, 30), style, locale=locale)
        assert render("{{ t|time(style) }}", locale, t="14:30", style=style) == expected

    def test_keeps_the_offset_of_an_aware_datetime(self) -> None:
        assert render("{{ t|time('HH:mm xxx') }}", "en", t="2024-03-05T14:30:00+01:00") == (
            "14:30 +01:00"
        )

    def test_takes_a_time_object(self) -> None:
        assert render("{{ t|time('short') }}", "de", t=dt.time(9, 5)) == "09:05"

    def test_refuses_a_date(self) -> None:
        with pytest.raises(FilterError, match="'time' filter"):
            render("{{ t|time }}", "en", t="2024-03-05")


class TestDatetime:
    @pytest.mark.parametrize("locale", LOCALES)
    @pytest.mark.parametrize("style", ["short", "medium", "long"])
    def test_matches_babel(self, locale: str, style: str) -> None:
        moment = dt.datetime(2024, 3, 5, 14, 30, tzinfo=dt.UTC)
        expected = dates.format_datetime(moment, style, locale=locale)
        rendered = render("{{ t|datetime(style) }}", locale, t="2024-03-05T14:30:00Z", style=style)
        assert rendered == expected

    def test_a_date_means_midnight(self) -> None:
        assert render("{{ d|datetime('yyyy-MM-dd HH:mm') }}", "en", d="2024-03-05") == (
            "2024-03-05 00:00"
        )

    def test_refuses_a_time(self) -> None:
        with pytest.raises(FilterError, match="'datetime' filter"):
            render("{{ t|datetime }}", "en", t=dt.time(14, 30))


class TestList:
    @pytest.mark.parametrize("locale", LOCALES)
    def test_matches_babel(self, locale: str) -> None:
        expected = lists.format_list(["a", "b", "c"], locale=locale)
        assert render("{{ x|format_list }}", locale, x=["a", "b", "c"]) == expected

    @pytest.mark.parametrize("locale", LOCALES)
    def test_or_style_matches_babel(self, locale: str) -> None:
        expected = lists.format_list(["a", "b", "c"], style="or", locale=locale)
        assert render("{{ x|format_list('or') }}", locale, x=["a", "b", "c"]) == expected

    def test_a_style_babel_lacks_patterns_for_uses_a_broader_one(self) -> None:
        # Babel's German "unit" patterns cover two items only.
        with pytest.raises(KeyError):
            lists.format_list(["a", "b", "c"], style="unit", locale="de")
        assert render("{{ x|format_list('unit') }}", "de", x=["a", "b", "c"]) == "a, b und c"
        assert render("{{ x|format_list('unit') }}", "de", x=["a", "b"]) == lists.format_list(
            ["a", "b"], style="unit", locale="de"
        )

    def test_writes_each_locales_conjunction(self) -> None:
        assert render("{{ x|format_list }}", "en", x=["a", "b", "c"]) == "a, b, and c"
        assert render("{{ x|format_list }}", "fr", x=["a", "b", "c"]) == "a, b et c"

    def test_formats_numbers_in_the_list(self) -> None:
        assert render("{{ x|format_list }}", "fr", x=[1000, 2.5]) == "1\u202f000 et 2,5"

    def test_an_empty_list_is_empty_text(self) -> None:
        assert render("{{ x|format_list }}", "en", x=[]) == ""

    @pytest.mark.parametrize("value", ["abc", {"a": 1}, 3])
    def test_refuses_what_is_not_a_list(self, value: object) -> None:
        with pytest.raises(FilterError, match="'format_list' filter"):
            render("{{ x|format_list }}", "en", x=value)

    def test_refuses_an_unknown_style(self) -> None:
        with pytest.raises(FilterError, match="style"):
            render("{{ x|format_list('fancy') }}", "en", x=["a"])


PLURAL = (
    '{{ n|plural(zero="zero #", one="one #", two="two #", few="few #", many="many #", '
    'other="other #") }}'
)


class TestPlural:
    @pytest.mark.parametrize(
        ("locale", "n", "category"),
        [
            ("en", 1, "one"),
            ("en", 0, "other"),
            ("en", 2, "other"),
            ("fr", 0, "one"),
            ("fr", 1, "one"),
            ("fr", 2, "other"),
            ("de", 1, "one"),
            ("de", 5, "other"),
            ("ru", 1, "one"),
            ("ru", 2, "few"),
            ("ru", 5, "many"),
            ("ru", 11, "many"),
            ("ru", 21, "one"),
            ("ru", 22, "few"),
            ("ru", 25, "many"),
            ("ru", 1.5, "other"),
            ("pl", 1, "one"),
            ("pl", 2, "few"),
            ("pl", 5, "many"),
            ("pl", 12, "many"),
            ("pl", 21, "many"),
            ("pl", 22, "few"),
            ("pl", 25, "many"),
            ("ar", 0, "zero"),
            ("ar", 1, "one"),
            ("ar", 2, "two"),
            ("ar", 3, "few"),
            ("ar", 10, "few"),
            ("ar", 11, "many"),
            ("ar", 99, "many"),
            ("ar", 100, "other"),
            ("ja", 0, "other"),
            ("ja", 1, "other"),
            ("ja", 2, "other"),
            ("ja", 5, "other"),
        ],
    )
    def test_chooses_the_cldr_category(self, locale: str, n: float, category: str) -> None:
        assert Locale.parse(locale).plural_form(n) == category
        expected = f"{category} {numbers.format_decimal(n, locale=locale)}"
        assert render(PLURAL, locale, n=n) == expected

    def test_a_missing_category_falls_back_to_other(self) -> None:
        source = '{{ n|plural(one="# файл", other="# файла") }}'
        assert render(source, "ru", n=5) == "5 файла"
        assert render('{{ n|plural(one="# item", other="# items") }}', "ja", n=1) == "1 items"

    def test_the_number_is_formatted_for_the_locale(self) -> None:
        source = '{{ n|plural(few="# файла", other="# файлов") }}'
        expected = f"{numbers.format_decimal(1234, locale='ru')} файла"
        assert render(source, "ru", n=1234) == expected

    def test_every_hash_is_replaced(self) -> None:
        assert render('{{ 3|plural(other="# of #") }}', "en") == "3 of 3"

    def test_a_whole_float_chooses_like_the_integer_it_prints(self) -> None:
        assert render('{{ n|plural(one="# file", other="# files") }}', "en", n=1.0) == "1 file"

    def test_reads_numeric_strings(self) -> None:
        assert render(PLURAL, "ru", n="21") == "one 21"

    def test_refuses_a_missing_other_form(self) -> None:
        with pytest.raises(FilterError, match="'other' form"):
            render('{{ n|plural(one="# file") }}', "en", n=1)

    def test_refuses_an_unknown_form(self) -> None:
        with pytest.raises(FilterError, match="ones"):
            render('{{ n|plural(ones="# file", other="# files") }}', "en", n=1)

    def test_refuses_a_form_that_is_not_text(self) -> None:
        with pytest.raises(FilterError, match="must be text"):
            render("{{ n|plural(other=3) }}", "en", n=1)

    @pytest.mark.parametrize("value", ["many", True, None, [1]])
    def test_refuses_what_is_not_a_number(self, value: object) -> None:
        with pytest.raises(FilterError, match="'plural' filter needs a number"):
            render(PLURAL, "en", n=value)
