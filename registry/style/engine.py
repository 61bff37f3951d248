"""Lint a prompt against a style guide: run its rules, apply silencing, report findings."""

from __future__ import annotations

from registry.errors import InvalidTemplate
from registry.style.document import Document
from registry.style.findings import Finding, Level, LintInput
from registry.style.guide import ENGINE_RULES, StyleGuide
from registry.style.i18n import Message, mark
from registry.style.rules import Hit, Rule
from registry.style.text import Unit
from registry.style.tokens import TokenCounter, default_token_counter

__all__ = ["lint"]

# How surely a text must be in another language for the wording rules of its declared
# locale to be left out: as the default guide's prompt.language.
_MIN_WORDS = 8
_CONFIDENCE = 0.9

M_TEMPLATE = mark("the template does not compile: {error}")
M_SILENCED_RULES = mark("style checks are off here for: {rules}")
M_SILENCED_ALL = mark("all style checks are off here")
M_UNKNOWN_RULE = mark('"style: off" names {rule}, which is not a rule of this guide')


def lint(
    data: LintInput, guide: StyleGuide, *, token_counter: TokenCounter | None = None
) -> list[Finding]:
    """Every finding of ``guide`` in a prompt, sorted by unit, line and column."""
    if data.template is not None and data.messages is not None:
        raise ValueError("give a template (text prompt) or messages (chat prompt), not both")
    doc = Document(data, token_counter or default_token_counter())
    ruleset = guide.rules_for(data.locale)
    # Wording rules of the declared language do not read text that is surely in another:
    # an English word list finds only false matches in Turkish. The language rule says
    # the text is not in its locale.
    foreign = bool(ruleset.worded) and doc.other_language(_MIN_WORDS, _CONFIDENCE) is not None
    findings: list[Finding] = []
    for rule in ruleset.rules:
        if rule.localized_only and not doc.localized:
            continue
        if foreign and rule.id in ruleset.worded:
            continue
        units = [unit for unit in doc.units if rule.applies_to(unit)]
        if not units:
            continue
        for hit in rule.check(doc, units):
            if not hit.unit.silenced(rule.id, hit.start):
                findings.append(_finding(rule, hit))
    for unit in doc.units:
        findings.extend(_engine_findings(doc, unit, ruleset.ids))
    findings.sort(
        key=lambda f: (
            -1 if f.unit is None else f.unit,
            f.line,
            f.column,
            f.end_line,
            f.end_column,
            f.rule,
        )
    )
    return findings


def _finding(rule: Rule, hit: Hit) -> Finding:
    unit = hit.unit
    match = hit.match if hit.match is not None else unit.source[hit.start : hit.end]
    params: dict[str, object] = {"match": match, "fix": hit.fix or ""}
    params.update(hit.params)
    message = rule.message or hit.message or Message(rule.default_message or "{match}")
    return _at(
        unit,
        hit.start,
        hit.end,
        rule=rule.id,
        level=hit.level or rule.level,
        message=message.render(params),
        match=match,
        fix=hit.fix,
        link=rule.link,
    )


def _at(
    unit: Unit,
    start: int,
    end: int,
    *,
    rule: str,
    level: Level,
    message: str,
    match: str,
    fix: str | None = None,
    link: str | None = None,
) -> Finding:
    line, column = unit.position(start)
    end_line, end_column = unit.position(end)
    return Finding(
        rule=rule,
        level=level,
        message=message,
        line=line,
        column=column,
        end_line=end_line,
        end_column=end_column,
        match=match,
        fix=fix,
        link=link,
        unit=unit.index,
        role=unit.role,
    )


def _engine_findings(doc: Document, unit: Unit, known: frozenset[str]) -> list[Finding]:
    found: list[Finding] = []
    info = doc.analysis(unit)
    if isinstance(info, InvalidTemplate):
        item = info.errors[0] if info.errors else None
        line = item.line if item and item.line else 1
        column = item.column if item and item.column else 1
        offset = min(
            unit.line_starts[min(line, len(unit.line_starts)) - 1] + column - 1, len(unit.source)
        )
        error = item.message if item else str(info)
        found.append(
            _at(
                unit,
                offset,
                offset,
                rule="style.template",
                level="error",
                message=Message(M_TEMPLATE).render({"error": error}),
                match="",
            )
        )
    for start, end, off, rules in unit.switches:
        comment = unit.source[start:end]
        if off:
            if rules:
                text = Message(M_SILENCED_RULES).render({"rules": ", ".join(sorted(rules))})
            else:
                text = Message(M_SILENCED_ALL).render({})
            found.append(
                _at(
                    unit,
                    start,
                    end,
                    rule="style.silenced",
                    level="suggestion",
                    message=text,
                    match=comment,
                )
            )
        for rule in sorted(rules - known - ENGINE_RULES):
            text = Message(M_UNKNOWN_RULE).render({"rule": repr(rule)})
            found.append(
                _at(
                    unit,
                    start,
                    end,
                    rule="style.unknown-rule",
                    level="warning",
                    message=text,
                    match=comment,
                )
            )
    return found
