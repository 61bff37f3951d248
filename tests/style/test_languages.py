"""Wording rules in German, French, Spanish and Japanese: neutral role nouns, contradictions
and vague wording, each with what must not be flagged."""

from __future__ import annotations

import pytest

from registry.locales.messages import use_locale
from registry.style import Finding, LintInput, default_guide, lint

GUIDE = default_guide()


def run(text: str, locale: str, rule: str | None = None) -> list[Finding]:
    found = lint(LintInput(template=text, messages=None, locale=locale), GUIDE)
    return [f for f in found if rule is None or f.rule == rule]


def nouns(text: str, locale: str) -> list[tuple[str, str | None]]:
    return [(f.match, f.fix) for f in run(text, locale, "inclusive.gendered-nouns")]


class TestGerman:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Entwickler lieben Tests.", [("Entwickler", "Entwickelnde")]),
            ("Schreibe an die Entwickler.", [("Entwickler", "Entwickelnden")]),
            ("Antworte den Entwicklern.", [("Entwicklern", "Entwickelnden")]),
            ("Kunden erwarten schnelle Antworten.", [("Kunden", "Kundschaft")]),
            ("Frag den Chef.", [("Chef", "Leitung")]),
            ("Alle Mitarbeiter kommen.", [("Mitarbeiter", "Mitarbeitenden")]),
            ("Lehrer bewerten Aufsätze.", [("Lehrer", "Lehrkräfte")]),
            ("Studenten lernen.", [("Studenten", "Studierende")]),
            ("Erkläre es den Studenten.", [("Studenten", "Studierenden")]),
            ("Die Meinung des Entwicklers zählt.", [("Entwicklers", "Entwickelnden")]),
        ],
    )
    def test_generic_masculine_role_nouns(self, text: str, expected: list[tuple[str, str]]) -> None:
        assert nouns(text, "de") == expected

    @pytest.mark.parametrize(
        "text",
        [
            "Der Drucker steht neben dem Computer am Fenster, das Wasser im Keller.",
            "Liebe Kolleginnen und Kollegen, liebe Entwickler*innen und Kund:innen.",
            "Die Lehrerinnen und Lehrer und die Entwickler_innen treffen sich.",
            "Du bist ein erfahrener Entwickler. Arbeite als Entwickler im Team.",
            "Die Mitarbeitenden, die Studierenden und die Kundschaft sind eingeladen.",
        ],
    )
    def test_not_findings(self, text: str) -> None:
        assert nouns(text, "de") == []


class TestFrench:
    def test_neutral_forms_agree_with_the_determiner(self) -> None:
        text = "Écris à tous les employés et aux clients; les utilisateurs lisent."
        assert nouns(text, "fr") == [
            ("tous les employés", "tout le personnel"),
            ("aux clients", "à la clientèle"),
            ("les utilisateurs", "les personnes utilisatrices"),
        ]

    def test_inclusive_spellings_pass(self) -> None:
        text = "Chaque utilisateur·rice et chaque client·e reçoivent le personnel."
        assert nouns(text, "fr") == []

    def test_contradictions_and_vague_wording(self) -> None:
        text = (
            "Réponds toujours en anglais. Ne réponds jamais en anglais. "
            "Ajoute peut-être un exemple."
        )
        found = [(f.rule, f.match) for f in run(text, "fr") if f.rule != "prompt.language"]
        assert found == [
            ("prompt.contradictions", "jamais en anglais"),
            ("clarity.vague", "peut-être"),
        ]


class TestSpanish:
    def test_neutral_forms(self) -> None:
        text = "Escribe a todos los empleados y a los clientes."
        assert nouns(text, "es") == [
            ("todos los empleados", "todo el personal"),
            ("a los clientes", "a la clientela"),
        ]

    def test_contradictions_and_vague_wording(self) -> None:
        text = "Responde siempre en inglés. No respondas nunca en inglés. Quizás añade ejemplos."
        found = [(f.rule, f.match) for f in run(text, "es") if f.rule != "prompt.language"]
        assert found == [
            ("prompt.contradictions", "nunca en inglés"),
            ("clarity.vague", "Quizás"),
        ]


class TestJapanese:
    def test_vague_wording_without_spaces(self) -> None:
        text = "回答はたぶん短くしてください。できれば例などを入れてください。"
        found = [f.match for f in run(text, "ja", "clarity.vague")]
        assert found == ["たぶん", "できれば", "など"]

    def test_words_that_contain_a_vague_one_pass(self) -> None:
        assert run("多分野の専門家として、等級を説明してください。", "ja", "clarity.vague") == []


class TestMessagesInTheCallersLanguage:
    def test_a_french_prompts_finding_is_explained_in_the_callers_language(self) -> None:
        with use_locale("de"):
            (found,) = run("Écris aux clients.", "fr", "inclusive.gendered-nouns")
        assert (
            found.message == "verwenden Sie die neutrale Form „à la clientèle“ statt „aux clients“"
        )

    def test_a_spanish_vague_word_in_japanese(self) -> None:
        with use_locale("ja"):
            (found,) = run("Quizás añade ejemplos.", "es", "clarity.vague")
        assert "Quizás" in found.message and found.message.isascii() is False
