"""Each rule kind, in a guide of its own: text that passes and text that fails."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from registry.style import Finding, GuideError, LintInput, lint, load_guide
from registry.style.rules import FormulaError, compile_formula


def run(rule: dict[str, Any], template: str | None = None, **kwargs: Any) -> list[Finding]:
    guide = load_guide({"name": "kinds", "rules": {"test.rule": rule}})
    data = LintInput(
        template=template,
        messages=kwargs.get("messages"),
        variables=[],
        locale=kwargs.get("locale", "en"),
        localized=kwargs.get("localized", False),
    )
    return lint(data, guide)


def matches(findings: list[Finding]) -> list[str]:
    return [f.match for f in findings]


class TestExistence:
    RULE: ClassVar[dict[str, Any]] = {
        "kind": "existence",
        "tokens": ["simply", "just"],
        "level": "warning",
    }

    def test_passes(self) -> None:
        assert run(self.RULE, "Read the file. Justify the answer.") == []

    def test_fails(self) -> None:
        found = run(self.RULE, "Simply read it, just once.")
        assert matches(found) == ["just"]  # case-sensitive unless ignorecase
        assert found[0].message == 'avoid "just"'

    def test_ignorecase_and_exceptions(self) -> None:
        rule = {**self.RULE, "ignorecase": True, "exceptions": ["just"]}
        assert matches(run(rule, "Simply read it. Just once. just twice.")) == ["Simply"]

    def test_raw_pattern_and_nonword(self) -> None:
        rule = {"kind": "existence", "raw": [r"\d{3}-", r"\d{4}"], "message": "no phone {match}"}
        found = run(rule, "Call 555-1234 now")
        assert (matches(found), found[0].message) == (["555-1234"], "no phone 555-1234")

    def test_a_space_in_a_token_matches_a_line_break(self) -> None:
        rule = {"kind": "existence", "tokens": ["as soon as possible"]}
        assert matches(run(rule, "Reply as soon\nas possible.")) == ["as soon\nas possible"]

    def test_tokens_ending_in_punctuation_are_bounded(self) -> None:
        rule = {"kind": "existence", "tokens": [r"etc\."]}
        assert matches(run(rule, "apples, pears, etc. and etcetera")) == ["etc."]

    def test_fix(self) -> None:
        rule = {"kind": "existence", "tokens": ["very"], "fix": ""}
        assert [f.fix for f in run(rule, "a very long day")] == [""]


class TestSubstitution:
    RULE: ClassVar[dict[str, Any]] = {
        "kind": "substitution",
        "ignorecase": True,
        "swap": {"e-mail": "email", "log[- ]in to": "log in to", "utilize": "use"},
    }

    def test_passes(self) -> None:
        assert run(self.RULE, "Send an email and log in to the site.") == []

    def test_fails_with_the_replacement_as_fix(self) -> None:
        found = run(self.RULE, "Send an e-mail, then log-in to it. Utilize it.")
        assert [(f.match, f.fix) for f in found] == [
            ("e-mail", "email"),
            ("log-in to", "log in to"),
            ("Utilize", "Use"),
        ]
        assert found[0].message == 'use "email" instead of "e-mail"'

    def test_the_case_of_the_match_is_kept(self) -> None:
        found = run(self.RULE, "E-MAIL\ne-mail\nE-mail")
        assert [f.fix for f in found] == ["EMAIL", "email", "Email"]

    def test_a_replacement_with_capitals_is_written_as_given(self) -> None:
        rule = {"kind": "substitution", "ignorecase": True, "swap": {"javascript": "JavaScript"}}
        assert [f.fix for f in run(rule, "javascript and JavaScript")] == ["JavaScript"]


class TestOccurrence:
    def test_at_most(self) -> None:
        rule = {"kind": "occurrence", "token": "IMPORTANT", "max": 1}
        assert run(rule, "IMPORTANT: be brief.") == []
        found = run(rule, "IMPORTANT: be brief.\nIMPORTANT: be kind. IMPORTANT!")
        assert [(f.line, f.column) for f in found] == [(2, 1)]
        assert found[0].message == '"IMPORTANT" appears 3 times; the limit is 1'

    def test_at_least_across_chat_messages(self) -> None:
        rule = {"kind": "occurrence", "token": "JSON", "min": 1, "ignorecase": True}
        ok = run(rule, messages=[("system", "Reply."), ("user", "as json")])
        assert ok == []
        (missing,) = run(rule, messages=[("system", "Reply."), ("user", "as text")])
        assert (missing.unit, missing.line, missing.column) == (0, 1, 1)

    def test_min_above_max_is_refused(self) -> None:
        with pytest.raises(GuideError) as error:
            run({"kind": "occurrence", "token": "x", "min": 3, "max": 1}, "x")
        assert error.value.errors[0][0] == "rules.test.rule.min"


class TestRepetition:
    RULE: ClassVar[dict[str, Any]] = {"kind": "repetition", "exceptions": ["had"]}

    def test_passes(self) -> None:
        assert run(self.RULE, "It had had an effect. One, one more.") == []

    def test_fails_whatever_the_case(self) -> None:
        found = run(self.RULE, "Answer the The question.")
        assert [(f.match, f.fix, f.line, f.end_line) for f in found] == [("the The", "the", 1, 1)]
        assert found[0].message == '"the" is repeated'

    @pytest.mark.parametrize(
        "text",
        [
            "### Critical Issues\nIssues that harm the layout.",  # a heading, then a line
            "We flew to Bora Bora in May.",  # a reduplicated name
            "Say `go go` to start.",  # code
            'The chorus goes "la la la".',  # a quotation
        ],
    )
    def test_line_breaks_names_code_and_quotes_pass(self, text: str) -> None:
        assert run(self.RULE, text) == []


class TestConsistency:
    RULE: ClassVar[dict[str, Any]] = {
        "kind": "consistency",
        "ignorecase": True,
        "either": {"e-mail": "email"},
    }

    def test_passes(self) -> None:
        assert run(self.RULE, "Send an email. Read the email.") == []

    def test_the_form_used_second_is_flagged(self) -> None:
        found = run(self.RULE, "Send an email. Read the e-mail. E-mail me.")
        assert [(f.match, f.fix) for f in found] == [("e-mail", "email"), ("E-mail", "Email")]
        assert found[0].message == 'use either "e-mail" or "email" in one prompt, not both'


class TestConditional:
    RULE: ClassVar[dict[str, Any]] = {
        "kind": "conditional",
        "first": r"\b([A-Z]{3,5})\b",
        "second": r"(?:\b[A-Z][a-z]+ )+\(([A-Z]{3,5})\)",
        "exceptions": ["JSON", "HTML"],
    }

    def test_passes(self) -> None:
        assert run(self.RULE, "Use the Service Level Agreement (SLA). The SLA wins. JSON.") == []

    def test_an_undefined_acronym_is_reported_once(self) -> None:
        found = run(self.RULE, "The SLA applies. Read the SLA.")
        assert matches(found) == ["SLA"]
        assert found[0].message == '"SLA" is used but never defined in the prompt'


class TestCapitalization:
    def test_sentence_case_headings(self) -> None:
        rule = {"kind": "capitalization", "match": "$sentence", "exceptions": ["JSON"]}
        assert run(rule, "# Output format in JSON\nText.") == []
        found = run(rule, "# Output Format In JSON\n## {{ x }} Rules\nText.")
        assert [(f.match, f.fix, f.line) for f in found] == [
            ("Output Format In JSON", "Output format in JSON", 1),
            ("{{ x }} Rules", "{{ x }} rules", 2),
        ]

    def test_title_case(self) -> None:
        rule = {"kind": "capitalization", "match": "title"}
        assert run(rule, "## The Rules of the Game") == []
        assert [f.fix for f in run(rule, "## the rules of the game")] == ["The Rules of the Game"]

    def test_a_regex_and_tokens(self) -> None:
        rule = {"kind": "capitalization", "match": "[A-Z][a-z]+Hub", "tokens": ["github"]}
        rule["ignorecase"] = True
        found = run(rule, "Open GitHub, not github.")
        assert matches(found) == ["github"]


class TestMetric:
    RULE: ClassVar[dict[str, Any]] = {
        "kind": "metric",
        "formula": "words / sentences > 10",
        "message": "sentences average {value} words ({formula})",
    }

    def test_passes(self) -> None:
        assert run(self.RULE, "Be brief. Answer in English. Use lists.") == []

    def test_fails(self) -> None:
        text = "Answer every question with a long sentence that goes on and on and on."
        (found,) = run(self.RULE, text)
        assert found.message == "sentences average 14 words (words / sentences > 10)"

    def test_condition_written_apart_as_in_vale(self) -> None:
        rule = {"kind": "metric", "formula": "characters", "condition": ">= 20"}
        assert run(rule, "Short.") == []
        assert len(run(rule, "This one is long enough.")) == 1

    def test_per_message(self) -> None:
        rule = {"kind": "metric", "formula": "tokens > 5", "per": "message"}
        found = run(rule, messages=[("system", "Hi."), ("user", "one two three four five six")])
        assert [f.unit for f in found] == [1]

    def test_no_sentences_is_not_a_failure(self) -> None:
        assert run(self.RULE, "") == []


class TestFormulas:
    @pytest.mark.parametrize(
        ("formula", "counts", "result"),
        [
            ("words / sentences > 25", {"words": 60, "sentences": 2}, True),
            ("words / sentences > 25", {"words": 40, "sentences": 2}, False),
            (
                "(characters - 10) % 7 == 3 and not tokens < 2",
                {"characters": 20, "tokens": 3},
                True,
            ),
            (
                "-paragraphs + 2 >= lines // 2 or words != 0",
                {"paragraphs": 1, "lines": 9, "words": 0},
                False,
            ),
        ],
    )
    def test_arithmetic_and_comparisons(
        self, formula: str, counts: dict[str, float], result: bool
    ) -> None:
        test, _value, names = compile_formula(formula)
        assert names == set(counts)
        assert bool(test(counts)) is result

    @pytest.mark.parametrize(
        "formula",
        [
            "__import__('os').system('true') > 0",
            "words.__class__ > 0",
            "words ** 99999999 > 0",
            "[words][0] > 1",
            "syllables > 3",
            "words",
            "words > 'a'",
            "True > 0",
            "words >",
        ],
    )
    def test_anything_else_is_refused(self, formula: str) -> None:
        with pytest.raises(FormulaError):
            compile_formula(formula)


class TestWhenLocalized:
    def test_a_localized_only_rule_waits_for_a_localized_prompt(self) -> None:
        rule = {"kind": "existence", "tokens": ["ballpark"], "when": "localized"}
        assert run(rule, "a ballpark figure") == []
        assert matches(run(rule, "a ballpark figure", localized=True)) == ["ballpark"]
