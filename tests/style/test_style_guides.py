"""Loading guides: sources, extends, overrides, per-locale rules, errors that say what to fix."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from registry.style import GuideError, LintInput, StyleGuide, default_guide, lint, load_guide

CUSTOM = """
name: house
description: House style.
extends: default
rules:
  house.product:
    kind: substitution
    level: error
    swap: {acme cloud: Acme Cloud}
overrides:
  clarity.vague: off
  prompt.leftover-notes: {level: warning}
  prompt.size: {params: {max_chars: 100}}
locales:
  de:
    rules:
      house.du:
        kind: existence
        level: warning
        message: 'Sie statt "{match}"'
        tokens: [du, dich, dir]
    overrides:
      inclusive.gendered-nouns: {level: error}
  de-AT:
    overrides:
      house.du: off
"""


def rules(findings: Any) -> list[str]:
    return [f.rule for f in findings]


def run(guide: StyleGuide, text: str, locale: str = "en") -> list[str]:
    return rules(lint(LintInput(template=text, messages=None, locale=locale), guide))


class TestSources:
    def test_yaml_text(self) -> None:
        guide = load_guide(CUSTOM)
        assert (guide.name, guide.description) == ("house", "House style.")

    def test_a_file_and_a_folder_of_files(self, tmp_path: Path) -> None:
        file = tmp_path / "house.yaml"
        file.write_text(CUSTOM, encoding="utf-8")
        assert load_guide(file).name == "house"
        assert load_guide(str(file)).name == "house"
        folder = tmp_path / "mine"
        folder.mkdir()
        (folder / "a.yaml").write_text(
            "rules:\n  my.one: {kind: existence, tokens: [foo]}\n", encoding="utf-8"
        )
        (folder / "b.yml").write_text(
            "locales:\n  de:\n    rules:\n      my.two: {kind: existence, tokens: [bar]}\n",
            encoding="utf-8",
        )
        guide = load_guide(folder)
        assert guide.name == "mine"
        assert run(guide, "foo bar", "de") == ["my.one", "my.two"]
        assert run(guide, "foo bar", "en") == ["my.one"]

    def test_the_same_rule_in_two_files_is_refused(self, tmp_path: Path) -> None:
        for name in ("a.yaml", "b.yaml"):
            (tmp_path / name).write_text(
                "rules:\n  my.one: {kind: existence, tokens: [foo]}\n", encoding="utf-8"
            )
        with pytest.raises(GuideError) as error:
            load_guide(tmp_path)
        assert error.value.errors == [
            ("b.yaml: rules.my.one", "rules.my.one is defined in both a.yaml and b.yaml")
        ]

    def test_a_mapping(self) -> None:
        guide = load_guide({"rules": {"x.y": {"kind": "repetition"}}})
        assert run(guide, "the the") == ["x.y"]

    def test_the_default_guide_is_cached_and_has_its_rules(self) -> None:
        assert default_guide() is default_guide()
        ids = {rule.id for rule in default_guide().rules_for("en").rules}
        assert {"prompt.secrets", "inclusive.gendered-nouns", "localization.idioms"} <= ids


class TestExtendsAndOverrides:
    GUIDE = load_guide(CUSTOM)

    def test_own_rules_are_added(self) -> None:
        assert run(self.GUIDE, "Use acme cloud.") == ["house.product"]

    def test_a_rule_turned_off(self) -> None:
        assert run(default_guide(), "Answer, more or less.") == ["clarity.vague"]
        assert run(self.GUIDE, "Answer, more or less.") == []

    def test_a_level_changed(self) -> None:
        text = "Answer. TODO"
        (finding,) = lint(LintInput(template=text, messages=None), self.GUIDE)
        assert (finding.rule, finding.level) == ("prompt.leftover-notes", "warning")

    def test_params_changed(self) -> None:
        found = lint(LintInput(template="x" * 120, messages=None), self.GUIDE)
        assert [(f.rule, f.level) for f in found] == [("prompt.size", "error")]

    def test_the_extended_guide_is_unchanged(self) -> None:
        assert run(default_guide(), "x" * 120) == []

    def test_names_are_resolved_by_the_resolver(self) -> None:
        stored: Mapping[str, Mapping[str, Any]] = {
            "base": {"extends": "default", "overrides": {"clarity.vague": "off"}},
            "team": {"extends": "base", "overrides": {"clarity.vague": {"level": "error"}}},
        }
        guide = load_guide({"extends": "team"}, resolver=lambda name: stored[name])
        found = lint(LintInput(template="More or less.", messages=None), guide)
        # Turned off by "base", back on at another level by "team".
        assert [(f.rule, f.level) for f in found] == [("clarity.vague", "error")]

    def test_an_unknown_guide(self) -> None:
        with pytest.raises(GuideError) as error:
            load_guide({"extends": "nope"}, resolver=lambda name: {}[name])
        assert error.value.errors == [("extends", "no guide named 'nope' to extend")]

    def test_a_circle_of_guides(self) -> None:
        stored = {"a": {"extends": "b"}, "b": {"extends": "a"}}
        with pytest.raises(GuideError) as error:
            load_guide({"name": "a", "extends": "b"}, resolver=lambda name: stored[name])
        assert "circle" in str(error.value)


class TestLocales:
    GUIDE = load_guide(CUSTOM)

    def test_a_locale_block_applies_to_its_locale(self) -> None:
        assert run(self.GUIDE, "Kannst du das tun?", "de") == ["house.du"]
        assert run(self.GUIDE, "Kannst du das tun?", "en") == []

    def test_and_to_its_regional_variants_through_the_fallback_chain(self) -> None:
        assert run(self.GUIDE, "Kannst du das tun?", "de-CH") == ["house.du"]

    def test_a_more_specific_block_overrides_a_general_one(self) -> None:
        assert run(self.GUIDE, "Kannst du das tun?", "de_AT") == []

    def test_overrides_of_a_locale_block(self) -> None:
        found = lint(
            LintInput(template="Alle Mitarbeiter kommen.", messages=None, locale="de"),
            self.GUIDE,
        )
        assert [(f.rule, f.level) for f in found] == [("inclusive.gendered-nouns", "error")]

    def test_english_wording_rules_do_not_run_on_french(self) -> None:
        text = "Le chairman répondra en français à la question posée."
        assert run(default_guide(), text, "fr") == []

    def test_an_unknown_locale_tag_still_lints(self) -> None:
        assert run(default_guide(), "TODO", "xx-nonsense") == ["prompt.leftover-notes"]


class TestErrors:
    @pytest.mark.parametrize(
        ("guide", "path", "message"),
        [
            (
                {"rules": {"a.b": {"kind": "existance", "tokens": ["x"]}}},
                "rules.a.b.kind",
                "unknown rule kind 'existance'; use one of: capitalization, conditional, "
                "consistency, existence, metric, occurrence, repetition, substitution, builtin",
            ),
            (
                {"rules": {"a.b": {"kind": "existence", "tokens": ["("]}}},
                "rules.a.b.tokens[0]",
                "not a valid regular expression: missing )",
            ),
            (
                {"rules": {"a.b": {"kind": "existence", "tokens": ["x"], "level": "fatal"}}},
                "rules.a.b.level",
                "must be one of: suggestion, warning, error",
            ),
            (
                {"rules": {"a.b": {"kind": "existence", "tokens": ["x"], "colour": 1}}},
                "rules.a.b.colour",
                "unknown key 'colour'",
            ),
            (
                {"rules": {"a.b": {"kind": "existence", "tokens": ["x"], "message": "{oops}"}}},
                "rules.a.b.message",
                "the message uses {oops}, which this rule does not fill; use: {match}",
            ),
            (
                {"rules": {"a.b": {"kind": "existence", "tokens": ["x"], "scope": "robot"}}},
                "rules.a.b.scope",
                "unknown scope 'robot'",
            ),
            (
                {"rules": {"A B": {"kind": "repetition"}}},
                "rules.A B",
                "a rule id is lower-case letters",
            ),
            (
                {"rules": {"style.mine": {"kind": "repetition"}}},
                "rules.style.mine",
                "is the engine's own rule",
            ),
            (
                {"rules": {"a.b": {"kind": "builtin", "check": "size", "params": {"max": 3}}}},
                "rules.a.b.params.max",
                "unknown key 'max'",
            ),
            (
                {"rules": {"a.b": {"kind": "metric", "formula": "open('x') > 1"}}},
                "rules.a.b.formula",
                "only numbers, names",
            ),
            (
                {"extends": "default", "overrides": {"no.such": "off"}},
                "overrides.no.such",
                "no rule 'no.such' in this guide or the guides it extends",
            ),
            (
                {"extends": "default", "overrides": {"prompt.size": {"params": {"warn_at": 3}}}},
                "overrides.prompt.size.params.warn_at",
                "must be a number between 0.0 and 1.0",
            ),
            (
                {"extends": "default", "overrides": {"clarity.vague": {"params": {"a": 1}}}},
                "overrides.clarity.vague.params",
                "only builtin checks have params",
            ),
            ({"locales": {"xx-!!": {}}}, "locales.xx-!!", "not a locale"),
            ({"rules": []}, "rules", "must be a mapping of names to values"),
            ({"colour": "red"}, "colour", "unknown key 'colour'"),
        ],
    )
    def test_each_error_names_the_place_and_the_change(
        self, guide: Mapping[str, Any], path: str, message: str
    ) -> None:
        with pytest.raises(GuideError) as error:
            load_guide(guide)
        assert any(p == path and message in m for p, m in error.value.errors), error.value.errors

    def test_every_error_is_reported_at_once(self) -> None:
        guide = {
            "rules": {
                "a.one": {"kind": "existence"},
                "a.two": {"kind": "substitution", "swap": {"(": "x"}},
            }
        }
        with pytest.raises(GuideError) as error:
            load_guide(guide)
        assert [path for path, _message in error.value.errors] == [
            "rules.a.one",
            "rules.a.two.swap.(",
        ]

    def test_bad_yaml(self) -> None:
        with pytest.raises(GuideError, match="not valid YAML"):
            load_guide("rules: [unclosed\nname: x")

    def test_a_guide_that_is_not_a_mapping(self) -> None:
        with pytest.raises(GuideError, match="a style guide is a mapping"):
            load_guide("- a\n- b\n")

    def test_guide_error_is_a_value_error(self) -> None:
        assert issubclass(GuideError, ValueError)
