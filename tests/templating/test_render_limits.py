"""Every construct that builds a value is bounded before it builds it: just over a limit
is refused with a RenderError naming the limit, just under it renders."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry.errors import InvalidTemplate, RenderError
from registry.templating import analyze, limits, render_template, template_renderer
from registry.templating.filters import MAX_PATTERN_CHARS
from registry.templating.limits import (
    MAX_BUILT_SIZE,
    MAX_LIST_ITEMS,
    MAX_RENDER_SECONDS,
    MAX_SLOW_TEXT_CHARS,
    MAX_TEXT_CHARS,
)
from registry.templating.nesting import (
    MAX_BLOCK_DEPTH,
    MAX_BRACKET_DEPTH,
    MAX_EXPRESSION_DEPTH,
)

from factories import unique_name

T = MAX_TEXT_CHARS
L = MAX_LIST_ITEMS
W = MAX_SLOW_TEXT_CHARS

# name: (template, its values for n, the largest n within the limit, what a refusal
# names). Rendered with that n, and refused with n + 1. Large inputs are values, so
# that only the construct under test meets a limit.
Values = Callable[[int], dict[str, Any]]


def no_values(n: int) -> dict[str, Any]:
    return {}


BOUNDED: dict[str, tuple[str, Values, int, str]] = {
    "|center": ("{{ 'a'|center(n)|length }}", no_values, T, "|center"),
    "|indent": ("{{ 'a\nb'|indent(n)|length }}", no_values, (T - 3) // 2, "|indent"),
    "|format": ("{{ '%0*d'|format(n, 1)|length }}", no_values, T - 336, "|format"),
    "|replace": (
        "{{ s|replace('a', 'b' * n)|length }}",
        lambda n: {"s": "a" * 1000},
        1000,
        "|replace",
    ),
    "|wordwrap": ("{{ s|wordwrap(10)|length }}", lambda n: {"s": "a" * n}, W, "|wordwrap"),
    "|urlize": ("{{ s|urlize|length }}", lambda n: {"s": "a" * n}, W, "|urlize"),
    "|join": ("{{ l|join|length }}", lambda n: {"l": ["a" * 1000] * n}, 996, "|join"),
    "|list": ("{{ l|list|length }}", lambda n: {"l": (1,) * n}, L, "|list"),
    "|batch": ("{{ [1]|batch(n, 0)|first|length }}", no_values, L, "|batch"),
    "|slice": ("{{ [1]|slice(n)|list|length }}", no_values, L, "|slice"),
    "|sort": ("{{ s|sort|length }}", lambda n: {"s": "a" * n}, T, "|sort"),
    "|upper": ("{{ s|upper|length }}", lambda n: {"s": "a" * n}, T, "|upper"),
    "|tojson": ("{{ [1]|tojson(indent=n)|length }}", no_values, (T - 8) // 2, "|tojson"),
    "|pprint": ("{{ s|pprint|length }}", lambda n: {"s": "a" * n}, T - 1, "|pprint"),
    "|xmlattr": (
        "{{ {'a': s}|xmlattr|length }}",
        lambda n: {"s": "b" * n},
        T // 6 - 11,
        "|xmlattr",
    ),
    "|urlencode": ("{{ s|urlencode|length }}", lambda n: {"s": "a" * n}, T // 12, "|urlencode"),
    "|plural": ("{{ 1|plural(other=s)|length }}", lambda n: {"s": "#" * n}, T // 335, "|plural"),
    "|sum": ("{{ ([[1]] * n)|sum(start=[])|length }}", no_values, 1000, "|sum"),
    ".ljust()": ("{{ 'a'.ljust(n)|length }}", no_values, T, ".ljust()"),
    ".zfill()": ("{{ '1'.zfill(n)|length }}", no_values, T, ".zfill()"),
    ".center()": ("{{ 'a'.center(n)|length }}", no_values, T, ".center()"),
    ".expandtabs()": ("{{ '\t'.expandtabs(n)|length }}", no_values, T - 1, ".expandtabs()"),
    ".join()": (
        "{{ 'ab'.join(l)|length }}",
        lambda n: {"l": ["c" * 10] * n},
        (T + 2) // 12,
        ".join()",
    ),
    ".replace()": ("{{ 'a'.replace('a', r)|length }}", lambda n: {"r": "b" * n}, T, ".replace()"),
    ".translate()": (
        "{{ 'a'.translate({97: r})|length }}",
        lambda n: {"r": "b" * n},
        T,
        ".translate()",
    ),
    ".to_bytes()": ("{{ (1).to_bytes(n, 'big')|length }}", no_values, T, ".to_bytes()"),
    ".format()": ("{{ ('{:>' ~ n ~ '}').format(1)|length }}", no_values, T - 332, ".format()"),
    "'%'": ("{{ (('%' ~ n ~ 's') % 'a')|length }}", no_values, T - 9, "'%'"),
    "'~'": ("{{ (s ~ 'b')|length }}", lambda n: {"s": "a" * (n - 1)}, T, "'~'"),
    "'+' on texts": ("{{ (s + 'b')|length }}", lambda n: {"s": "a" * (n - 1)}, T, "'+'"),
    "'+' on lists": ("{{ (l + [2])|length }}", lambda n: {"l": [1] * (n - 1)}, L, "'+'"),
    "'*' on texts": ("{{ ('a' * n)|length }}", no_values, T, "'*'"),
    "'*' on lists": ("{{ ([1] * n)|length }}", no_values, L, "'*'"),
    "output": ("{{ [s] }}", lambda n: {"s": "a" * (n - 6)}, T, "{{ … }}"),
}


def render(template: str, **values: Any) -> str:
    analyze(template)
    return render_template(template, values)


class TestBoundedConstructs:
    @pytest.mark.parametrize("construct", list(BOUNDED))
    def test_just_within_the_limit_renders(
        self, construct: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # What is tested is the size limit; on a loaded machine, building 100,000 slices
        # may take longer than the time budget, which has tests of its own.
        monkeypatch.setattr(limits, "MAX_RENDER_SECONDS", 60.0)
        template, values, within, _ = BOUNDED[construct]
        render(template, n=within, **values(within))

    @pytest.mark.parametrize("construct", list(BOUNDED))
    def test_just_over_the_limit_is_refused_naming_it(self, construct: str) -> None:
        template, values, within, what = BOUNDED[construct]
        over = values(within + 1)
        started = time.monotonic()
        with pytest.raises(RenderError) as refused:
            render(template, n=within + 1, **over)
        assert what in refused.value.detail, refused.value.detail
        # Refused before the value is built: far sooner than building it would take.
        assert time.monotonic() - started < 5

    def test_a_large_argument_is_refused_without_building_it(self) -> None:
        started = time.monotonic()
        with pytest.raises(RenderError, match="1000000 characters"):
            render("{{ 'a'|center(10 ** 12) }}")
        assert time.monotonic() - started < 0.5

    def test_values_built_in_all_are_bounded(self) -> None:
        # Each output, also one captured by {% set %}, counts its length and 16.
        template = "{% set t %}{% for i in range(n) %}{{ s }}{% endfor %}{% endset %}"
        s = "x" * 1_000_000
        render(template, n=MAX_BUILT_SIZE // 1_000_000 - 1, s=s)
        with pytest.raises(RenderError, match=f"more than {MAX_BUILT_SIZE} characters"):
            render(template, n=MAX_BUILT_SIZE // 1_000_000, s=s)

    @pytest.mark.parametrize(
        "template",
        [
            "{{ [0] * 100000 in [[0] * 100000] * 100000 }}",
            "{{ ([0] * 100000) * 1 == [[0] * 100000] * 100000 }}",
            "{{ x < [[0] * 100000] * 100000 }}",
            "{% if ([0] * 100000) is in ([[0] * 100000] * 100000) %}{% endif %}",
            "{{ ([[1] * 1000] * 100) | select('in', [[0] * 1000] * 100000) | list }}",
        ],
    )
    def test_a_comparison_reads_bounded_operands(self, template: str) -> None:
        """Python compares containers item by item in one call: hours, were they not
        bounded before the comparison."""
        started = time.monotonic()
        with pytest.raises(RenderError, match="==, <, in"):
            render(template, x=[1])
        assert time.monotonic() - started < MAX_RENDER_SECONDS

    def test_ordinary_comparisons_are_unchanged(self) -> None:
        assert render("{{ 3 in l }} {{ 'b' > 'a' > '' }} {{ l == [1, 2, 3] }}", l=[1, 2, 3]) == (
            "True True True"
        )
        assert render("{{ l | select('in', [2, 3]) | join(',') }}", l=[1, 2, 3]) == "2,3"

    def test_loops_that_output_nothing_count_against_the_time(self) -> None:
        started = time.monotonic()
        with pytest.raises(RenderError, match="seconds"):
            render("{% for a in l %}{% for b in l %}{% endfor %}{% endfor %}", l=[0] * L)
        assert time.monotonic() - started < MAX_RENDER_SECONDS + 1

    def test_filter_iterators_count_against_the_time(self) -> None:
        # |list reads |map's iterator in one call: its items are counted all the same.
        template = "{% for i in range(100000) %}{% set y = l|map('abs')|list %}{% endfor %}"
        with pytest.raises(RenderError, match="seconds"):
            render(template, l=[1] * 1000)

    def test_a_long_cldr_pattern_is_refused(self) -> None:
        render("{{ 1|number(p) }}", p="#" * MAX_PATTERN_CHARS)
        with pytest.raises(RenderError, match=f"at most {MAX_PATTERN_CHARS}"):
            render("{{ 1|number(p) }}", p="#" * (MAX_PATTERN_CHARS + 1))
        with pytest.raises(RenderError, match=f"at most {MAX_PATTERN_CHARS}"):
            render("{{ '2024-01-01'|date(p) }}", p="y" * (MAX_PATTERN_CHARS + 1))


class TestGlobals:
    def test_lipsum_is_not_a_global(self) -> None:
        assert "lipsum" in analyze("{{ lipsum(2) }}").variables

    @pytest.mark.parametrize(
        ("template", "expected"),
        [
            ("{{ range(3)|list }}", "[0, 1, 2]"),
            ("{{ dict(a=1) }}", "{'a': 1}"),
            ("{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}", "ab"),
            ("{% set j = joiner('-') %}{{ j() }}a{{ j() }}b", "a-b"),
            ("{% set ns = namespace(a=1) %}{% set ns.a = 2 %}{{ ns.a }}", "2"),
        ],
    )
    def test_the_bounded_globals_remain(self, template: str, expected: str) -> None:
        assert analyze(template).variables == frozenset()
        assert render(template) == expected

    def test_range_is_bounded(self) -> None:
        with pytest.raises(RenderError, match="range"):
            render("{{ range(100001)|length }}")


def nested_blocks(depth: int, inner: str = "{{ x }}") -> str:
    openers = [
        "{% for i in x %}",
        "{% if x %}",
        "{% macro m() %}",
        "{% with a = 1 %}",
        "{% filter upper %}",
        "{% set s %}",
        "{% for j in x if j %}{{ loop.index }}",
        "{% call c() %}",
        "{% block b %}",
        "{% autoescape false %}",
    ]
    closers = [
        "{% endfor %}",
        "{% endif %}",
        "{% endmacro %}{{ m() }}",
        "{% endwith %}",
        "{% endfilter %}",
        "{% endset %}{{ s }}",
        "{% else %}e{% endfor %}",
        "{% endcall %}",
        "{% endblock %}",
        "{% endautoescape %}",
    ]
    kinds = [(openers[i % 10], closers[i % 10]) for i in range(depth)]
    # {% block %} names are unique in a template.
    kinds = [(o.replace(" b ", f" b{i} "), c) for i, (o, c) in enumerate(kinds)]
    head = "{% macro c() %}{{ caller() }}{% endmacro %}"
    return head + "".join(o for o, _ in kinds) + inner + "".join(c for _, c in reversed(kinds))


def deepest_expression(brackets: int, operators: int) -> str:
    return "{{ " + "(" * brackets + "1" + ")" * brackets + " + 1" * operators + " }}"


class TestNesting:
    def test_the_deepest_template_allowed_renders_in_a_deep_thread(self) -> None:
        # Every limit at once, rendered with 200 frames already on the thread's stack.
        inner = deepest_expression(MAX_BRACKET_DEPTH, MAX_EXPRESSION_DEPTH - MAX_BRACKET_DEPTH)
        template = nested_blocks(MAX_BLOCK_DEPTH, inner)
        outcome: list[object] = []

        def deep(frames: int) -> None:
            if frames:
                deep(frames - 1)
                return
            try:
                analyze(template)
                outcome.append(template_renderer(template)({"x": [1]}))
            except Exception as exc:
                outcome.append(exc)

        thread = threading.Thread(target=deep, args=(200,))
        thread.start()
        thread.join()
        assert isinstance(outcome[0], str), outcome[0]

    @pytest.mark.parametrize(
        ("template", "limit"),
        [
            (nested_blocks(MAX_BLOCK_DEPTH + 1), f"blocks deeper than {MAX_BLOCK_DEPTH}"),
            ("{% for i in x %}" * 200 + "{% endfor %}" * 200, "blocks deeper than"),
            (
                "{% set a %}" * (MAX_BLOCK_DEPTH + 1) + "{% endset %}" * (MAX_BLOCK_DEPTH + 1),
                "blocks deeper than",
            ),
            (
                deepest_expression(MAX_BRACKET_DEPTH + 1, 0),
                f"brackets deeper than {MAX_BRACKET_DEPTH}",
            ),
            ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "brackets deeper than"),
            ("{" * 199_999, "brackets deeper than"),
            ("{{ " + "[" * 30 + "]" * 30 + " }}", "brackets deeper than"),
            (
                deepest_expression(MAX_BRACKET_DEPTH, MAX_EXPRESSION_DEPTH - MAX_BRACKET_DEPTH + 1),
                f"deeper than {MAX_EXPRESSION_DEPTH}",
            ),
            ("{{ x" + "|abs" * 300 + " }}", "operators, filters and brackets"),
            ("{{ " + "not " * 300 + "x }}", "operators, filters and brackets"),
            ("{{ x" + ".real" * 300 + " }}", "operators, filters and brackets"),
        ],
    )
    def test_deeper_is_refused_naming_the_limit(self, template: str, limit: str) -> None:
        with pytest.raises(InvalidTemplate) as refused:
            analyze(template)
        assert limit in refused.value.detail, refused.value.detail

    def test_flat_expressions_are_not_nesting(self) -> None:
        # Long lists, argument lists and concatenations are wide, not deep.
        template = (
            "{{ [" + ", ".join(["1"] * 500) + "]|length }}"
            "{{ x" + " ~ x" * 300 + " }}"
            "{% set d = {" + ", ".join(f"'k{i}': {i}" for i in range(200)) + "} %}{{ d.k1 }}"
        )
        assert render(template, x="a") == "500" + "a" * 301 + "1"

    def test_a_render_of_a_stored_template_too_deep_is_refused_not_crashed(self) -> None:
        # Templates published before the limit: refused at render as they would be now.
        template = "{% for i in x %}" * 30 + "{% endfor %}" * 30
        with pytest.raises(InvalidTemplate, match="blocks deeper than"):
            render_template(template, {"x": [1]})


class TestFastPath:
    def test_plain_substitution_is_unaffected(self) -> None:
        # The fast path copies values as they are: no limits apply to what was sent.
        long = "x" * (MAX_TEXT_CHARS + 10)
        assert render_template("a {{ v }} b", {"v": long}) == f"a {long} b"

    def test_ordinary_filters_render_as_before(self) -> None:
        template = (
            "{% for m in items %}- {{ m.title|title|truncate(12) }} ({{ m.n|number }})\n"
            "{% endfor %}{{ name|upper }} {{ tags|join(', ') }} {{ '%s: %d'|format(name, 3) }}"
            " {{ name|center(7) }} {{ (name ~ '!')|replace('!', '?') }} {{ '{:>4}'.format(1) }}"
        )
        values = {
            "items": [{"title": "hello world again", "n": 1000}],
            "name": "Ada",
            "tags": ["a", "b"],
        }
        # As the engine rendered it before the limits.
        expected = "- Hello World Again (1,000)\nADA a, b Ada: 3   Ada   Ada?    1"
        assert render(template, **values) == expected


class TestNestingThroughTheApi:
    def test_the_deepest_template_allowed_publishes_and_renders(self, client: TestClient) -> None:
        inner = deepest_expression(MAX_BRACKET_DEPTH, MAX_EXPRESSION_DEPTH - MAX_BRACKET_DEPTH)
        name = unique_name("limits/deep")
        assert client.post("/v1/prompts", json={"name": name}).status_code == 201
        published = client.post(
            f"/v1/prompts/{name}/-/versions",
            json={
                "template": nested_blocks(MAX_BLOCK_DEPTH, inner),
                # Jinja counts a macro defined inside a block as a variable read after it.
                "variables": [{"name": "x", "type": "list"}, {"name": "m", "type": "string"}],
                "labels": ["production"],
            },
        )
        assert published.status_code == 201, published.text
        values = {"x": [1], "m": ""}
        rendered = client.post(f"/v1/prompts/{name}/-/render", json={"variables": values})
        assert rendered.status_code == 200, rendered.text

    @pytest.mark.parametrize(
        "template",
        [
            "{% for i in x %}" * 200 + "{% endfor %}" * 200,
            "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
            "{" * 60_000,  # the test app takes bodies of at most 64 KiB
        ],
    )
    def test_deeper_is_a_422_at_publish_and_at_lint(
        self, client: TestClient, template: str
    ) -> None:
        name = unique_name("limits/deeper")
        assert client.post("/v1/prompts", json={"name": name}).status_code == 201
        published = client.post(
            f"/v1/prompts/{name}/-/versions",
            json={"template": template, "variables": [], "labels": ["production"]},
        )
        assert published.status_code == 422, published.text
        assert "deeper than" in published.json()["detail"]
        linted = client.post("/v1/lint", json={"template": template})
        assert linted.status_code in (200, 422), linted.text
        assert "deeper than" in linted.text
