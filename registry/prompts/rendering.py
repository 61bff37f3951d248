"""Bind variable values and render a resolved prompt; shared by the server and the SDK."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from registry.errors import ErrorItem, RenderError, summarize
from registry.locales.messages import _
from registry.prompts.schemas import (
    Kind,
    Message,
    Resolved,
    Variable,
    VariableType,
    value_matches,
)
from registry.templating import render_template, template_renderer

_PYTHON_TYPES: dict[VariableType, type | tuple[type, ...]] = {
    VariableType.string: str,
    VariableType.integer: int,
    VariableType.number: (int, float),
    VariableType.boolean: bool,
    VariableType.list: list,
    VariableType.object: dict,
}


def bind_variables(declared: list[Variable], values: Mapping[str, Any]) -> dict[str, Any]:
    """Check values against the declaration and fill in defaults, or raise RenderError."""
    # The common case, every value present and of its type, without building messages.
    # variable_binder makes the same checks in the same order: change both together.
    bound: dict[str, Any] = {}
    for var in declared:
        value = values.get(var.name)
        if value is None:
            if var.required:
                return _bind_reporting(declared, values)
            bound[var.name] = var.default
        elif type(value) is bool:
            if var.type is not VariableType.boolean:
                return _bind_reporting(declared, values)
            bound[var.name] = value
        elif isinstance(value, _PYTHON_TYPES[var.type]):
            bound[var.name] = value
        else:
            return _bind_reporting(declared, values)
    if len(values) > len(bound) or not values.keys() <= bound.keys():
        return _bind_reporting(declared, values)
    return bound


def variable_binder(declared: list[Variable]) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """``bind_variables`` with the declaration given: a function of the values.

    The declaration is read off the models once (an attribute of a Pydantic model costs
    several times an item of a tuple); bind_variables, which reads it once per call, is
    left as it is, the cheaper for a single render.
    """
    plan = [
        (v.name, v.required, v.default, _PYTHON_TYPES[v.type], v.type is VariableType.boolean)
        for v in declared
    ]

    def bind(values: Mapping[str, Any]) -> dict[str, Any]:
        # bind_variables' checks, in its order.
        bound: dict[str, Any] = {}
        for name, required, default, types, boolean in plan:
            value = values.get(name)
            if value is None:
                if required:
                    return _bind_reporting(declared, values)
                bound[name] = default
            elif type(value) is bool:
                if not boolean:
                    return _bind_reporting(declared, values)
                bound[name] = value
            elif isinstance(value, types):
                bound[name] = value
            else:
                return _bind_reporting(declared, values)
        if len(values) > len(bound) or not values.keys() <= bound.keys():
            return _bind_reporting(declared, values)
        return bound

    return bind


def _bind_reporting(declared: list[Variable], values: Mapping[str, Any]) -> dict[str, Any]:
    """bind_variables, naming every problem."""
    errors: list[ErrorItem] = []
    known = {v.name for v in declared}
    for name in values:
        if name not in known:
            if known:
                message = _("{name} is not a declared variable; declared: {declared}").format(
                    name=repr(name), declared=", ".join(sorted(known))
                )
            else:
                message = _("{name} is not a declared variable; the prompt declares none").format(
                    name=repr(name)
                )
            errors.append(ErrorItem(loc=("variables", name), message=message))
    bound: dict[str, Any] = {}
    for var in declared:
        if var.name in values and values[var.name] is not None:
            value = values[var.name]
            if not value_matches(var.type, value):
                # The type names are the API's own vocabulary and stay as they are.
                message = _("{name} must be of type {expected}, got {actual}").format(
                    name=repr(var.name), expected=var.type.value, actual=_json_type(value)
                )
                errors.append(ErrorItem(loc=("variables", var.name), message=message))
            bound[var.name] = value
        elif var.required:
            message = _("{name} is required").format(name=repr(var.name))
            errors.append(ErrorItem(loc=("variables", var.name), message=message))
        else:
            bound[var.name] = var.default
    if errors:
        problems = summarize([e.message for e in errors])
        raise RenderError(
            _("the variables do not match the declaration: {problems}").format(problems=problems),
            errors,
        )
    return bound


def _json_type(value: Any) -> str:
    match value:
        case bool():
            return "boolean"
        case int():
            return "integer"
        case float():
            return "number"
        case str():
            return "string"
        case list():
            return "list"
        case dict():
            return "object"
    return type(value).__name__


def render_resolved(
    resolved: Resolved, values: Mapping[str, Any], *, locale: str = "en"
) -> str | list[Message]:
    """The final text of a text prompt, or the final messages of a chat prompt."""
    bound = bind_variables(resolved.variables, values)
    components = {c.ref: c.template for c in resolved.components}
    if resolved.kind is Kind.text:
        assert resolved.template is not None
        return render_template(resolved.template, bound, components, locale=locale)
    assert resolved.messages is not None
    return [
        Message(
            role=m.role,
            content=render_template(
                m.content, bound, components, locale=locale, loc=("messages", i, "content")
            ),
        )
        for i, m in enumerate(resolved.messages)
    ]


def resolved_renderer(
    resolved: Resolved, *, locale: str = "en"
) -> Callable[[Mapping[str, Any]], str | list[Message]]:
    """``render_resolved`` with all but the values given: a function of the values.

    It checks the values as bind_variables does and renders with the same engine code,
    and so renders and fails exactly as ``render_resolved`` does; what does not depend on
    the values (the declaration read off the models, the includes, each template's
    compilation) is worked out once, for a caller that renders the same answer many
    times: the SDK, for a cached prompt. (A server request renders once, and would only
    pay for the preparing.)
    """
    bind = variable_binder(resolved.variables)
    components = {c.ref: c.template for c in resolved.components}
    if resolved.kind is Kind.text:
        assert resolved.template is not None
        render = template_renderer(resolved.template, components, locale=locale)

        def render_text(values: Mapping[str, Any]) -> str:
            return render(bind(values))

        return render_text
    assert resolved.messages is not None
    messages = [
        (
            m.role,
            template_renderer(m.content, components, locale=locale, loc=("messages", i, "content")),
        )
        for i, m in enumerate(resolved.messages)
    ]

    def render_chat(values: Mapping[str, Any]) -> list[Message]:
        bound = bind(values)
        return [Message(role=role, content=render(bound)) for role, render in messages]

    return render_chat
