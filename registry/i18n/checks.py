"""Checks a translation must pass before it is stored; pure, so the SDK and CLI can run them.

The findings' messages are translated when they are made, into the current locale: the
request's in the API, English in the CLI and SDK unless they choose one with
:func:`registry.i18n.messages.use_locale`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from babel.numbers import format_decimal

from registry.errors import InvalidTemplate
from registry.i18n.messages import _, _n, current_locale
from registry.templating import analyze
from registry.templating.arguments import argument_errors

# Outside these bounds a translation is probably truncated or padded (a warning only:
# some languages are legitimately much shorter or longer).
MIN_LENGTH_RATIO = 0.33
MAX_LENGTH_RATIO = 3.0
# Short texts vary too much in length to say anything about them.
RATIO_MIN_SOURCE_LENGTH = 20


@dataclass(frozen=True)
class Finding:
    """One problem found in a translation; errors block it, warnings are reported."""

    level: Literal["error", "warning", "suggestion"]
    loc: tuple[str | int, ...]
    message: str
    line: int | None = None
    column: int | None = None


def check_translation(
    source_texts: Sequence[str],
    texts: Sequence[str],
    *,
    source_roles: Sequence[str] | None = None,
    roles: Sequence[str] | None = None,
    loc: tuple[str | int, ...] = ("body",),
) -> list[Finding]:
    """Everything wrong with ``texts`` as a translation of ``source_texts``."""
    findings: list[Finding] = []
    if len(texts) != len(source_texts):
        count = len(source_texts)
        message = _n(
            "the source has {count} message, the translation {translated}",
            "the source has {count} messages, the translation {translated}",
            count,
        )
        findings.append(
            Finding("error", (*loc, "messages"), message.format(count=count, translated=len(texts)))
        )
        return findings
    if source_roles is not None and roles is not None and list(roles) != list(source_roles):
        # TRANSLATORS: {expected} and {actual} are lists of roles (system, user, …).
        message = _("message roles must stay {expected}; got {actual}").format(
            expected=", ".join(source_roles), actual=", ".join(roles)
        )
        findings.append(Finding("error", (*loc, "messages"), message))
    for i, (source, text) in enumerate(zip(source_texts, texts, strict=True)):
        where = (*loc, "template") if source_roles is None else (*loc, "messages", i, "content")
        findings.extend(_check_unit(source, text, where))
    return findings


def _check_unit(source: str, text: str, loc: tuple[str | int, ...]) -> list[Finding]:
    if not text.strip():
        return [Finding("error", loc, _("the translation is empty"))]
    try:
        translated = analyze(text, loc=loc)
    except InvalidTemplate as exc:
        return [
            Finding("error", item.loc, item.message, item.line, item.column) for item in exc.errors
        ]
    original = analyze(source)
    findings = [
        Finding("error", item.loc, item.message, item.line)
        for item in argument_errors(text, loc=loc)
    ]
    missing = sorted(original.variables - translated.variables)
    extra = sorted(translated.variables - original.variables)
    if missing:
        message = _n(
            "variable missing from the translation: {names}",
            "variables missing from the translation: {names}",
            len(missing),
        )
        findings.append(Finding("error", loc, message.format(names=", ".join(missing))))
    if extra:
        message = _n(
            "variable not in the source: {names} (variable names must not be translated)",
            "variables not in the source: {names} (variable names must not be translated)",
            len(extra),
        )
        findings.append(Finding("error", loc, message.format(names=", ".join(extra))))
    if sorted(original.includes) != sorted(translated.includes):
        if original.includes:
            message = _("the translation must include the same prompts as the source: {includes}")
            message = message.format(includes=", ".join(original.includes))
        else:
            message = _("the translation must include no prompts, as the source includes none")
        findings.append(Finding("error", loc, message))
    source_breaks, breaks = source.count("\n"), text.count("\n")
    if source_breaks != breaks:
        message = _n(
            "the source has {count} line break, the translation {translated}",
            "the source has {count} line breaks, the translation {translated}",
            source_breaks,
        )
        findings.append(
            Finding("error", loc, message.format(count=source_breaks, translated=breaks))
        )
    if text == source:
        findings.append(Finding("warning", loc, _("the translation is identical to the source")))
    elif len(source) >= RATIO_MIN_SOURCE_LENGTH:
        ratio = len(text) / len(source)
        if not MIN_LENGTH_RATIO <= ratio <= MAX_LENGTH_RATIO:
            # TRANSLATORS: {ratio} is a decimal number such as 0.2 or 3.5.
            message = _("the translation is {ratio} times the length of the source")
            ratio_text = format_decimal(ratio, format="0.0", locale=current_locale())
            findings.append(Finding("warning", loc, message.format(ratio=ratio_text)))
    return findings
