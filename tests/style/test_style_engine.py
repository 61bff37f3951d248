"""The engine: positions, Jinja, units and roles, silencing, ordering, the result's shape."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading

import pytest

from registry.style import Finding, LintInput, StyleGuide, default_guide, lint, load_guide

GUIDE = load_guide(
    """
name: engine-test
rules:
  test.avoid:
    kind: existence
    level: warning
    message: 'avoid "{match}"'
    tokens: [forbidden, not allowed]
  test.system-only:
    kind: existence
    level: error
    scope: system
    tokens: [secretword]
  test.swap:
    kind: substitution
    level: suggestion
    swap: {colour: color}
"""
)


def run(
    template: str | None = None,
    messages: list[tuple[str, str]] | None = None,
    guide: StyleGuide = GUIDE,
) -> list[Finding]:
    return lint(LintInput(template=template, messages=messages, variables=[], locale="en"), guide)


def spans(findings: list[Finding]) -> list[tuple[str, int, int, int, int, str]]:
    return [(f.rule, f.line, f.column, f.end_line, f.end_column, f.match) for f in findings]


class TestPositions:
    def test_line_and_column_are_one_based(self) -> None:
        assert spans(run("A forbidden word.")) == [("test.avoid", 1, 3, 1, 12, "forbidden")]

    def test_multi_line_templates(self) -> None:
        text = "first line\n\nthird: forbidden\n"
        assert spans(run(text)) == [("test.avoid", 3, 8, 3, 17, "forbidden")]

    def test_columns_count_code_points_not_bytes_or_utf16(self) -> None:
        # "é" is two UTF-8 bytes, "😀" two UTF-16 units; each is one column.
        text = "é😀 forbidden"
        assert spans(run(text)) == [("test.avoid", 1, 4, 1, 13, "forbidden")]

    def test_a_match_across_lines_ends_on_its_own_line(self) -> None:
        text = "this is not\nallowed here"
        assert spans(run(text)) == [("test.avoid", 1, 9, 2, 8, "not\nallowed")]

    def test_positions_after_jinja_are_in_the_original_source(self) -> None:
        text = "{% if x %}{{ a }}{% endif %} forbidden"
        assert spans(run(text)) == [("test.avoid", 1, 30, 1, 39, "forbidden")]


class TestJinja:
    @pytest.mark.parametrize(
        "text",
        [
            "{{ forbidden }}",
            "{{ 'forbidden' }}",
            "{% set x = 'forbidden' %}",
            "{# forbidden #}",
            "{{ '}} forbidden' }}",
            "{% if a %}\n{{ b | default('forbidden') }}\n{% endif %}",
        ],
    )
    def test_jinja_never_produces_prose_findings(self, text: str) -> None:
        assert [f for f in run(text) if f.rule == "test.avoid"] == []

    def test_raw_blocks_are_prose(self) -> None:
        text = "{% raw %}{{ forbidden }}{% endraw %}"
        assert spans(run(text)) == [("test.avoid", 1, 13, 1, 22, "forbidden")]

    def test_a_word_never_runs_across_a_variable(self) -> None:
        assert run("forbid{{ x }}den") == []

    def test_a_template_that_does_not_compile_is_reported_where_it_breaks(self) -> None:
        found = run("Hello\n{{ name }\nforbidden")
        template = [f for f in found if f.rule == "style.template"]
        assert len(template) == 1
        assert (template[0].level, template[0].line) == ("error", 2)
        assert template[0].message.startswith("the template does not compile")


class TestChat:
    def test_units_and_roles_are_reported(self) -> None:
        found = run(messages=[("system", "Be kind."), ("user", "A forbidden thing")])
        assert [(f.unit, f.role, f.line, f.column) for f in found] == [(1, "user", 1, 3)]

    def test_scope_limits_a_rule_to_a_role(self) -> None:
        found = run(messages=[("system", "secretword"), ("user", "secretword")])
        assert [(f.rule, f.unit) for f in found] == [("test.system-only", 0)]

    def test_the_developer_role_is_a_system_message(self) -> None:
        found = run(messages=[("developer", "secretword")])
        assert [f.rule for f in found] == ["test.system-only"]

    def test_a_text_prompt_has_no_unit_and_no_role(self) -> None:
        (finding,) = run("forbidden")
        assert (finding.unit, finding.role) == (None, None)

    def test_template_and_messages_together_are_refused(self) -> None:
        with pytest.raises(ValueError, match="not both"):
            run("a", [("user", "b")])


class TestSilencing:
    def test_one_rule_is_silenced_between_off_and_on(self) -> None:
        text = "{# style: off test.avoid #}forbidden colour{# style: on #} forbidden"
        found = run(text)
        assert [(f.rule, f.column) for f in found] == [
            ("style.silenced", 1),
            ("test.swap", 38),
            ("test.avoid", 60),
        ]

    def test_the_silencing_is_reported_as_a_suggestion(self) -> None:
        (silenced, *_rest) = run("{# style: off test.avoid #}forbidden")
        assert silenced.level == "suggestion"
        assert silenced.match == "{# style: off test.avoid #}"
        assert "test.avoid" in silenced.message

    def test_off_without_a_rule_silences_every_rule(self) -> None:
        found = run("{# style: off #}forbidden colour{# style: on #} colour")
        assert [(f.rule, f.column) for f in found] == [("style.silenced", 1), ("test.swap", 49)]

    def test_off_without_on_runs_to_the_end(self) -> None:
        found = run("forbidden {# style: off test.avoid #}\nforbidden\nforbidden")
        assert [(f.rule, f.line) for f in found] == [("test.avoid", 1), ("style.silenced", 1)]

    def test_several_rules_and_an_unknown_one(self) -> None:
        found = run("{#- style: off test.avoid, test.swap no.such-rule -#}forbidden colour")
        assert [f.rule for f in found] == ["style.silenced", "style.unknown-rule"]
        assert "no.such-rule" in found[1].message

    def test_whole_prompt_checks_are_silenced_from_the_first_line(self) -> None:
        text = "{# style: off prompt.variables #}Hello {{ name }}"
        found = lint(
            LintInput(template=text, messages=None, variables=[], locale="en"), default_guide()
        )
        assert [f.rule for f in found] == ["style.silenced"]


class TestResult:
    def test_findings_are_sorted_by_unit_line_and_column(self) -> None:
        found = run(messages=[("user", "colour\nforbidden forbidden"), ("system", "secretword")])
        keys = [(f.unit, f.line, f.column) for f in found]
        assert keys == sorted(keys, key=lambda k: (k[0] if k[0] is not None else -1, k[1], k[2]))
        assert len(found) == 4

    def test_a_finding_is_json_serialisable(self) -> None:
        (finding,) = run("colour")
        data = json.loads(json.dumps(dataclasses.asdict(finding)))
        assert data == {
            "rule": "test.swap",
            "level": "suggestion",
            "message": 'use "color" instead of "colour"',
            "line": 1,
            "column": 1,
            "end_line": 1,
            "end_column": 7,
            "match": "colour",
            "fix": "color",
            "link": None,
            "unit": None,
            "role": None,
        }

    def test_an_empty_prompt_has_no_findings(self) -> None:
        assert run("") == []

    def test_one_guide_serves_many_threads(self) -> None:
        results: list[list[Finding]] = []

        def worker() -> None:
            for _ in range(20):
                results.append(run("forbidden colour"))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 80
        assert all(spans(r) == spans(results[0]) for r in results)


def test_the_engine_imports_neither_the_database_nor_the_web_framework() -> None:
    # The CLI and the SDK run the engine offline: importing it must not pull the server in.
    code = (
        "import sys, registry.style, registry.style.catalog\n"
        "from registry.style import default_guide, lint, LintInput\n"
        "lint(LintInput(template='Hello', messages=None), default_guide())\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'fastapi', 'starlette', 'alembic'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
