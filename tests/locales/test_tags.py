"""Locale tags, CLDR fallback chains and Accept-Language negotiation."""

from __future__ import annotations

import pickle

import pytest
from babel import Locale
from babel.localedata import locale_identifiers

from registry.locales.tags import (
    LocaleError,
    canonical_locale,
    fallback_chain,
    negotiate_locale,
    parse_accept_language,
    requested_locales,
    to_bcp47,
)

BABEL_IDS = sorted(i for i in locale_identifiers() if i != "root")


class TestCanonicalLocale:
    @pytest.mark.parametrize(
        ("tag", "expected"),
        [
            ("pt-BR", "pt_BR"),
            ("pt_BR", "pt_BR"),
            ("pt_BR.UTF-8", "pt_BR"),
            ("PT-br", "pt_BR"),
            ("  pt-BR\t", "pt_BR"),
            ("zh-Hant-TW", "zh_Hant_TW"),
            ("zh_hant_tw", "zh_Hant_TW"),
            ("ZH-HANT-TW", "zh_Hant_TW"),
            ("es-419", "es_419"),
            ("en", "en"),
            ("EN", "en"),
            ("en-US", "en_US"),
            ("en_US.utf8", "en_US"),
            ("fr-CA", "fr_CA"),
            ("sr-Latn", "sr_Latn"),
            ("sr-Cyrl-RS", "sr_Cyrl_RS"),
            ("en-US-POSIX", "en_US_POSIX"),
            ("ca-ES-valencia", "ca_ES_VALENCIA"),
        ],
    )
    def test_bcp47_and_posix_spellings_meet_in_one_form(self, tag: str, expected: str) -> None:
        assert canonical_locale(tag) == expected

    @pytest.mark.parametrize(
        ("tag", "expected"),
        [
            # CLDR files these under their script; Traditional Chinese keeps Hant.
            ("zh-TW", "zh_Hant_TW"),
            ("zh_TW", "zh_Hant_TW"),
            ("zh-HK", "zh_Hant_HK"),
            ("zh-CN", "zh_Hans_CN"),
            ("sr-RS", "sr_Cyrl_RS"),
            # The language's default script is not part of the identifier.
            ("en-Latn-US", "en_US"),
            ("de-Latn", "de"),
        ],
    )
    def test_the_script_cldr_implies_is_added_or_dropped(self, tag: str, expected: str) -> None:
        assert canonical_locale(tag) == expected

    @pytest.mark.parametrize(
        ("tag", "expected"),
        [("iw", "he"), ("sh", "sr_Latn"), ("en-UK", "en_GB"), ("deu", "de"), ("cnr", "sr_Latn_ME")],
    )
    def test_deprecated_codes_become_current_ones(self, tag: str, expected: str) -> None:
        assert canonical_locale(tag) == expected

    def test_the_canonical_form_is_babels_identifier(self) -> None:
        for tag in ("pt-BR", "zh-TW", "es-419", "sr-RS", "en"):
            assert canonical_locale(tag) == str(Locale.parse(tag, sep="-"))

    def test_every_babel_locale_is_its_own_canonical_form(self) -> None:
        assert [i for i in BABEL_IDS if canonical_locale(i) != i] == []


class TestInvalidLocales:
    @pytest.mark.parametrize(
        "tag",
        [
            "",
            "   ",
            "xx-YY",
            "en--US",
            "123",
            "en-",
            "-en",
            "english",
            "x" * 100,
            "é",
            "zh-Hant_TW",
            "en-US-u-ca-gregory",
            "sr_RS@latin",
            "und",
            "root",
            "C",
        ],
    )
    def test_malformed_or_unknown_tags_are_refused(self, tag: str) -> None:
        with pytest.raises(LocaleError) as caught:
            canonical_locale(tag)
        assert caught.value.tag == tag

    @pytest.mark.parametrize(
        "tag",
        [
            "de-ZZ",  # Babel alone would answer de_DE
            "de-US",
            "zh-Hant-CN",  # Babel alone would answer zh_Hans_CN, the other script
            "en-Cyrl",
        ],
    )
    def test_a_known_language_in_a_place_cldr_lacks_is_refused(self, tag: str) -> None:
        with pytest.raises(LocaleError):
            canonical_locale(tag)

    def test_the_error_is_a_value_error(self) -> None:
        with pytest.raises(ValueError, match="xx-YY"):
            canonical_locale("xx-YY")

    def test_a_bad_region_suggests_the_language_first(self) -> None:
        with pytest.raises(LocaleError) as caught:
            canonical_locale("de-ZZ")
        assert caught.value.suggestions[0] == "de"
        assert "de_DE" in caught.value.suggestions
        assert "de_DE" in str(caught.value)

    def test_a_malformed_tag_suggests_the_locale_it_starts_with(self) -> None:
        with pytest.raises(LocaleError) as caught:
            canonical_locale("en--US")
        assert caught.value.suggestions[0] == "en_US"

    def test_a_language_name_suggests_its_code(self) -> None:
        with pytest.raises(LocaleError) as caught:
            canonical_locale("germn")
        assert caught.value.suggestions == ["de"]

    def test_suggestions_are_canonical_locales(self) -> None:
        for tag in ("de-ZZ", "en--US", "zh-Hant-CN", "sr_RS@latin", "germn"):
            with pytest.raises(LocaleError) as caught:
                canonical_locale(tag)
            assert caught.value.suggestions
            assert all(canonical_locale(s) == s for s in caught.value.suggestions)

    def test_nothing_close_gives_no_suggestions(self) -> None:
        with pytest.raises(LocaleError) as caught:
            canonical_locale("xx-YY")
        assert caught.value.suggestions == []

    def test_the_error_survives_pickling(self) -> None:
        with pytest.raises(LocaleError) as caught:
            canonical_locale("de-ZZ")
        copy = pickle.loads(pickle.dumps(caught.value))
        assert (copy.tag, copy.suggestions, str(copy)) == (
            caught.value.tag,
            caught.value.suggestions,
            str(caught.value),
        )


class TestToBcp47:
    @pytest.mark.parametrize(
        ("locale_id", "expected"),
        [
            ("pt_BR", "pt-BR"),
            ("zh_Hant_TW", "zh-Hant-TW"),
            ("es_419", "es-419"),
            ("en", "en"),
            ("en_US_POSIX", "en-US-posix"),
            ("zh_TW", "zh-Hant-TW"),
        ],
    )
    def test_underscores_become_hyphens(self, locale_id: str, expected: str) -> None:
        assert to_bcp47(locale_id) == expected

    def test_every_babel_locale_round_trips(self) -> None:
        assert [i for i in BABEL_IDS if canonical_locale(to_bcp47(i)) != i] == []

    def test_an_unknown_locale_is_refused(self) -> None:
        with pytest.raises(LocaleError):
            to_bcp47("xx_YY")


class TestFallbackChain:
    @pytest.mark.parametrize(
        ("locale_id", "expected"),
        [
            # CLDR's explicit parents, then truncation.
            ("es_MX", ["es_MX", "es_419", "es"]),
            ("pt_AO", ["pt_AO", "pt_PT", "pt"]),
            ("en_AU", ["en_AU", "en_001", "en"]),
            ("en_GB", ["en_GB", "en_001", "en"]),
            ("zh_Hant_MO", ["zh_Hant_MO", "zh_Hant_HK", "zh_Hant"]),
            # Truncation only.
            ("fr_CA", ["fr_CA", "fr"]),
            ("de_AT", ["de_AT", "de"]),
            ("es_419", ["es_419", "es"]),
            ("pt_BR", ["pt_BR", "pt"]),
            ("zh_Hans_CN", ["zh_Hans_CN", "zh_Hans", "zh"]),
            ("zh_CN", ["zh_Hans_CN", "zh_Hans", "zh"]),
            ("sr_Cyrl_RS", ["sr_Cyrl_RS", "sr_Cyrl", "sr"]),
            # A script other than the language's likely one never reaches the language.
            ("zh_Hant_TW", ["zh_Hant_TW", "zh_Hant"]),
            ("zh_TW", ["zh_Hant_TW", "zh_Hant"]),
            ("sr_Latn", ["sr_Latn"]),
            ("sr_Latn_RS", ["sr_Latn_RS", "sr_Latn"]),
        ],
    )
    def test_chain_ends_with_the_source(self, locale_id: str, expected: list[str]) -> None:
        assert fallback_chain(locale_id, "ja") == [*expected, "ja"]

    def test_the_source_appears_once(self) -> None:
        assert fallback_chain("en_GB", "en") == ["en_GB", "en_001", "en"]
        assert fallback_chain("en", "en") == ["en"]

    def test_any_spelling_is_accepted(self) -> None:
        assert fallback_chain("es-MX", "EN-us") == ["es_MX", "es_419", "es", "en_US"]

    def test_root_never_appears(self) -> None:
        assert [i for i in BABEL_IDS if "root" in fallback_chain(i, "en")] == []

    @pytest.mark.parametrize(("prefix", "language"), [("zh_Hant", "zh"), ("sr_Latn", "sr")])
    def test_no_locale_of_another_script_falls_back_to_the_language(
        self, prefix: str, language: str
    ) -> None:
        locales = [i for i in BABEL_IDS if i.startswith(prefix)]
        assert locales
        assert [i for i in locales if language in fallback_chain(i, "en")] == []

    def test_the_returned_list_is_the_callers_own(self) -> None:
        fallback_chain("fr_CA", "en").append("xx")
        assert fallback_chain("fr_CA", "en") == ["fr_CA", "fr", "en"]

    def test_an_unknown_source_is_refused(self) -> None:
        with pytest.raises(LocaleError):
            fallback_chain("fr_CA", "xx")


class TestParseAcceptLanguage:
    def test_q_values_order_the_ranges(self) -> None:
        assert parse_accept_language("en;q=0.5, fr-CA, fr;q=0.9") == [
            ("fr-CA", 1.0),
            ("fr", 0.9),
            ("en", 0.5),
        ]

    def test_equal_weights_keep_the_clients_order(self) -> None:
        assert parse_accept_language("de;q=0.5, fr, en;q=0.5, it") == [
            ("fr", 1.0),
            ("it", 1.0),
            ("de", 0.5),
            ("en", 0.5),
        ]

    def test_the_wildcard_is_kept(self) -> None:
        assert parse_accept_language("fr, *;q=0.1") == [("fr", 1.0), ("*", 0.1)]

    def test_q_zero_is_excluded(self) -> None:
        assert parse_accept_language("fr, de;q=0, it;q=0.000") == [("fr", 1.0)]

    def test_invalid_entries_are_ignored(self) -> None:
        header = "fr;q=2, en;q=abc, ;q=0.5, de;level=1, it;q=0.1234, x y, ja, es;q=0.8, ,"
        assert parse_accept_language(header) == [("ja", 1.0), ("es", 0.8)]

    def test_whitespace_and_case_are_tolerated(self) -> None:
        assert parse_accept_language(" fr-CA ; Q=0.7 ,pt_BR") == [("pt_BR", 1.0), ("fr-CA", 0.7)]

    def test_an_empty_header_asks_for_nothing(self) -> None:
        assert parse_accept_language("") == []


class TestRequestedLocales:
    def test_ranges_become_canonical_locales(self) -> None:
        assert requested_locales("fr-CA, fr;q=0.9, en;q=0.5") == ["fr_CA", "fr", "en"]

    def test_unknown_ranges_and_the_wildcard_are_skipped(self) -> None:
        header = "zh-TW, xx-YY;q=0.9, *;q=0.5, zh-Hant-TW;q=0.3, de;q=0"
        assert requested_locales(header) == ["zh_Hant_TW"]


class TestNegotiateLocale:
    def test_an_exact_match_is_served(self) -> None:
        assert negotiate_locale("pt-BR", ["en", "pt_BR"]) == "pt_BR"

    def test_available_locales_may_be_spelled_any_way(self) -> None:
        assert negotiate_locale("pt_BR", ["pt-BR"]) == "pt_BR"

    def test_the_best_q_value_wins(self) -> None:
        assert negotiate_locale("en;q=0.5, de", ["en", "de"]) == "de"

    def test_a_range_falls_back_to_its_parents_before_the_next_range(self) -> None:
        assert negotiate_locale("fr-CA, en;q=0.9", ["en", "fr"]) == "fr"

    @pytest.mark.parametrize(
        ("header", "available", "expected"),
        [
            ("es-MX", ["es", "es_419"], "es_419"),
            ("en-AU", ["en", "en_001"], "en_001"),
            ("pt-AO", ["pt", "pt_PT", "pt_BR"], "pt_PT"),
        ],
    )
    def test_cldr_parents_come_first(
        self, header: str, available: list[str], expected: str
    ) -> None:
        assert negotiate_locale(header, available) == expected

    def test_a_language_is_served_by_its_closest_regional_variant(self) -> None:
        assert negotiate_locale("es, en;q=0.5", ["en", "es_MX", "es_419"]) == "es_419"

    @pytest.mark.parametrize(
        ("header", "available"),
        [("zh", ["zh_Hant_TW"]), ("zh-TW", ["zh", "zh_Hans"]), ("sr-Latn", ["sr", "sr_Cyrl"])],
    )
    def test_another_script_is_never_served(self, header: str, available: list[str]) -> None:
        assert negotiate_locale(header, available) is None

    def test_traditional_chinese_is_served_to_zh_tw(self) -> None:
        assert negotiate_locale("zh-TW", ["zh", "zh_Hant"]) == "zh_Hant"

    def test_q_zero_refuses_a_locale_even_as_a_parent(self) -> None:
        assert negotiate_locale("fr-CA, fr;q=0, en;q=0.5", ["fr", "en"]) == "en"

    def test_the_wildcard_leaves_the_choice_to_the_caller(self) -> None:
        assert negotiate_locale("*", ["fr"]) is None
        assert negotiate_locale("de, *;q=0.5", ["fr", "de"]) == "de"

    @pytest.mark.parametrize("header", ["ja", "", "garbage;;", "xx-YY"])
    def test_nothing_acceptable_gives_none(self, header: str) -> None:
        assert negotiate_locale(header, ["en", "fr"]) is None
