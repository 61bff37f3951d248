"""Inclusive language in English: what alex flags is caught, inflections and compounds by
rule, and names, titles, history and literal uses left alone."""

from __future__ import annotations

import pytest

from registry.style import Finding, LintInput, default_guide, lint
from registry.style.inflection import expand

GUIDE = default_guide()
INCLUSIVE = ("inclusive.",)


def run(text: str, locale: str = "en") -> list[Finding]:
    found = lint(LintInput(template=text, messages=None, locale=locale), GUIDE)
    return [f for f in found if f.rule.startswith(INCLUSIVE)]


def pairs(text: str) -> list[tuple[str, str | None]]:
    return [(f.match, f.fix) for f in run(text)]


class TestAlexCoverage:
    """Every word of the issue that alex flags, each in a sentence."""

    @pytest.mark.parametrize(
        ("text", "match", "fix"),
        [
            ("The mailmen deliver at noon.", "mailmen", "mail carriers"),
            ("Ask the foremen for the schedule.", "foremen", "supervisors"),
            ("Welcome the freshmen on Monday.", "freshmen", "first-year students"),
            ("Two cameramen film the match.", "cameramen", "camera operators"),
            ("The stewardesses serve drinks.", "stewardesses", "flight attendants"),
            ("Thank the waitresses for the meal.", "waitresses", "servers"),
            ("Write ads that speak to housewives.", "housewives", "homemakers"),
            ("Estimate the man-hour cost.", "man-hour", "person-hour"),
            ("Describe a manmade lake.", "manmade", "artificial"),
            ("Don't write dumb jokes.", "dumb", "silly"),
            ("Never call the reader an idiot.", "idiot", "fool"),
            ("Avoid stupid mistakes.", "stupid", "foolish"),
            ("The villain calls him a moron.", "moron", "fool"),
            ("The driver was a total psycho.", "psycho", "erratic"),
            ("That plan is lunatic.", "lunatic", "reckless"),
            ("I'm so OCD about tidy code.", "so OCD", "so meticulous"),
            ("Users go nuts over this feature.", "go nuts", "go wild"),
            ("Teams are often blind to their own bias.", "blind to", "unaware of"),
            ("Merge the fix into the master branch.", "master branch", "main branch"),
            ("If someone calls, take his number.", "his", "their"),
        ],
    )
    def test_caught_with_a_neutral_fix(self, text: str, match: str, fix: str) -> None:
        assert pairs(text) == [(match, fix)]

    def test_inflections_and_compounds_come_from_the_base_forms(self) -> None:
        text = (
            "Chairwomen, businesswomen and spokesmen met the policewoman; the job took "
            "40 manhours and 3 man hours; the whitelisted hosts are in two blacklists."
        )
        assert pairs(text) == [
            ("Chairwomen", "Chairs"),
            ("businesswomen", "businesspeople"),
            ("spokesmen", "spokespeople"),
            ("policewoman", "police officer"),
            ("manhours", "person-hours"),
            ("man hours", "person-hours"),
            ("whitelisted", "allowlisted"),
            ("blacklists", "blocklists"),
        ]

    def test_expand_inflects_the_fix_with_the_match(self) -> None:
        forms = expand("en", {"mailman": "mail carrier", "housewife": "homemaker"})
        assert forms["mailmen"] == "mail carriers"
        assert forms["mailwoman"] == "mail carrier"
        assert forms["housewives"] == "homemakers"
        # Phrases and adjectives take no plural.
        assert "best men for the jobs" not in expand("en", {"best man for the job": "x"})


class TestNotFindings:
    @pytest.mark.parametrize(
        "text",
        [
            "Explain the causes of the transatlantic slave trade.",
            "Write about the Hollywood blacklist of the 1950s.",
            "Tell the story of Crazy Horse at Little Bighorn.",
            'Compare "Death of a Salesman" with The Crucible.',
            "Summarize Death of a Salesman in three paragraphs.",
            "The senator is a lame duck until January.",
            "She holds a master's degree and is a mastermind at chess.",
            "Help me master the skill of public speaking.",
            "Use the master template for every file.",
            "Explain the nuts and bolts of the tax code; peanuts are a legume.",
            "Check the blind spot before changing lanes.",
            "Support patients with OCD and their families.",
            "Test the API with Postman.",
            "A dumb terminal shows text from the mainframe.",
        ],
    )
    def test_names_titles_history_and_literal_uses(self, text: str) -> None:
        assert run(text) == []

    @pytest.mark.parametrize(
        "text",
        [
            "Tell John his order shipped.",
            "When the customer calls, ask Maria to read him the terms.",
            "The actress who plays the customer learns her lines.",
            "A man walks into the shop. When the customer pays, he smiles.",
            "A woman sits at a café; someone walking behind her is blurred.",
        ],
    )
    def test_a_pronoun_for_a_named_or_described_person(self, text: str) -> None:
        assert run(text) == []

    def test_a_generic_person_still_gets_they(self) -> None:
        assert pairs("If anyone asks, tell him the price. Everyone brings his laptop.") == [
            ("him", "them"),
            ("his", "their"),
        ]


class TestLevels:
    def test_no_inclusive_rule_blocks_a_publish(self) -> None:
        found = run("Add it to the whitelist, call the slave node, so lame, ask the chairman.")
        assert {f.rule: f.level for f in found} == {
            "inclusive.exclusionary-terms": "warning",
            "inclusive.ableist": "warning",
            "inclusive.gendered-nouns": "warning",
        }
