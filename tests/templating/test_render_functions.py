"""The render functions a caller keeps (the SDK, for a cached prompt) render and fail
exactly as the one-shot functions the server calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from registry.errors import RegistryError
from registry.prompts.rendering import (
    bind_variables,
    render_resolved,
    resolved_renderer,
    variable_binder,
)
from registry.prompts.schemas import Resolved, Variable, VariableType
from registry.templating import render_template, template_renderer

TONE = "Be warm, {{ brand }}."
COMPONENTS = {"shared/tone@production": TONE}

# name: (template, values, locale)
TEMPLATES: dict[str, tuple[str, dict[str, Any], str]] = {
    "plain": ("Hello {{ name }}, order {{ order }}.", {"name": "Ada", "order": 7}, "en"),
    "plain, a value missing": ("Hello {{ name }}.", {}, "en"),
    "loop and filter": (
        "{% for x in items %}{{ x | upper }}{% if not loop.last %}, {% endif %}{% endfor %}",
        {"items": ["a", "b", "c"]},
        "en",
    ),
    "locale filter": (
        "{{ amount | number }} / {{ items | format_list }}",
        {"amount": 1234.5, "items": ["a", "b", "c"]},
        "fr",
    ),
    "include": (
        '{% include "shared/tone@production" %} Hi {{ name }}.',
        {"brand": "Acme", "name": "Ada"},
        "en",
    ),
    "include, unresolved": ('{% include "shared/other@production" %}', {}, "en"),
    "undefined attribute": ("{{ user.name }}", {"user": {}}, "en"),
    "syntax error": ("Hello {{ name ", {"name": "Ada"}, "en"),
    "output over the limit": ("{% for i in range(2000) %}{{ 'x' * 999 }}{% endfor %}", {}, "en"),
    "range over the limit": ("{% for i in range(10 ** 9) %}{% endfor %}", {}, "en"),
    "sandbox": ("{{ name.__class__ }}", {"name": "Ada"}, "en"),
    "type error": ("{{ name + 1 }}", {"name": "Ada"}, "en"),
}


def outcome(render: Callable[..., object], *args: Any, **kwargs: Any) -> tuple[str, object]:
    """What a render gives: its output, or its error's class and problem body."""
    try:
        return "output", render(*args, **kwargs)
    except RegistryError as exc:
        return type(exc).__name__, exc.problem()


class TestTemplateRenderer:
    @pytest.mark.parametrize("case", list(TEMPLATES))
    def test_renders_and_fails_as_render_template(self, case: str) -> None:
        source, values, locale = TEMPLATES[case]
        loc = ("messages", 0, "content")
        once = outcome(render_template, source, values, COMPONENTS, locale=locale, loc=loc)
        render = template_renderer(source, COMPONENTS, locale=locale, loc=loc)
        assert outcome(render, values) == once
        # Kept and called again: the same answer each time.
        assert outcome(render, values) == once

    def test_each_call_renders_its_own_values(self) -> None:
        render = template_renderer("{% for x in xs %}{{ x }}{% endfor %}")
        assert render({"xs": [1, 2]}) == "12"
        assert render({"xs": ["a"]}) == "a"


def resolved(kind: str, **content: Any) -> Resolved:
    return Resolved.model_validate(
        {
            "prompt": "support/reply",
            "kind": kind,
            "version": 3,
            "label": "production",
            "variables": [
                {"name": "name", "type": "string"},
                {"name": "count", "type": "integer", "required": False, "default": 2},
            ],
            "config": {},
            "components": [
                {
                    "ref": "shared/tone@production",
                    "name": "shared/tone",
                    "version": 1,
                    "locale": "de",
                    "template": "Sei freundlich.",
                    "locale_match": "exact",
                }
            ],
            "locale": "de",
            "requested_locale": "de",
            "locale_match": "exact",
            "translation_status": None,
            "etag": '"e"',
            "template": None,
            "messages": None,
            **content,
        }
    )


ANSWERS = {
    "text": resolved(
        "text",
        template='{% include "shared/tone@production" %} {{ name }}: {{ count | number }}',
    ),
    "chat": resolved(
        "chat",
        messages=[
            {"role": "system", "content": '{% include "shared/tone@production" %}'},
            {"role": "user", "content": "{{ name }} hat {{ count | number }} Tickets."},
        ],
    ),
}
BINDINGS: dict[str, dict[str, Any]] = {
    "every value": {"name": "Mia", "count": 12345},
    "a default": {"name": "Mia"},
    "a value missing": {"count": 1},
    "a value of the wrong type": {"name": "Mia", "count": "1"},
    "a boolean for an integer": {"name": "Mia", "count": True},
    "an undeclared value": {"name": "Mia", "extra": 1},
}


class TestResolvedRenderer:
    @pytest.mark.parametrize("kind", list(ANSWERS))
    @pytest.mark.parametrize("binding", list(BINDINGS))
    def test_renders_and_fails_as_render_resolved(self, kind: str, binding: str) -> None:
        answer, values = ANSWERS[kind], BINDINGS[binding]
        render = resolved_renderer(answer, locale="de")
        assert outcome(render, values) == outcome(render_resolved, answer, values, locale="de")


# A value of each JSON type, and None.
SAMPLES: list[Any] = ["text", 3, 2.5, True, False, ["a"], {"k": "v"}, None]
DEFAULTS: dict[VariableType, Any] = {
    VariableType.string: "s",
    VariableType.integer: 1,
    VariableType.number: 1.5,
    VariableType.boolean: False,
    VariableType.list: [],
    VariableType.object: {},
}
# A required and an optional variable of each type, the optional ones with a default.
DECLARED = [
    variable
    for kind in VariableType
    for variable in (
        Variable(name=f"req_{kind.value}", type=kind),
        Variable(name=f"opt_{kind.value}", type=kind, required=False, default=DEFAULTS[kind]),
    )
]
GOOD = {f"req_{kind.value}": DEFAULTS[kind] for kind in VariableType}


def bindings() -> dict[str, dict[str, Any]]:
    """Values that fit, each variable given each sample or left out, and one undeclared."""
    cases = {"all fit": GOOD, "an undeclared value": {**GOOD, "undeclared": 1}}
    for var in DECLARED:
        cases[f"{var.name} left out"] = {k: v for k, v in GOOD.items() if k != var.name}
        for sample in SAMPLES:
            cases[f"{var.name}={sample!r}"] = {**GOOD, var.name: sample}
    return cases


BINDINGS_BY_TYPE = bindings()


class TestVariableBinder:
    @pytest.mark.parametrize("case", list(BINDINGS_BY_TYPE))
    def test_checks_as_bind_variables(self, case: str) -> None:
        values = BINDINGS_BY_TYPE[case]
        bind = variable_binder(DECLARED)
        assert outcome(bind, values) == outcome(bind_variables, DECLARED, values)
