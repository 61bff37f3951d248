"""Checks a translation must pass before it is stored; pure, so the SDK and CLI can run them.

The findings' messages are translated when they are made, into the current locale: the
request's in the API, English in the CLI and SDK unless they choose one with
:func:`registry.locales.messages.use_locale`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, cast

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal
from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

from registry.errors import InvalidTemplate
from registry.locales.messages import _, _n, current_locale
from registry.prompts.schemas import StyleFinding
from registry.style.language import detect_language, same_language
from registry.templating import analyze
from registry.templating.arguments import argument_errors
from registry.templating.engine import ENVIRONMENT
from registry.templating.filters import PLURAL_CATEGORIES

# Outside these bounds a translation is probably truncated or padded (a warning only:
# some languages are legitimately much shorter or longer).
MIN_LENGTH_RATIO = 0.33
MAX_LENGTH_RATIO = 3.0
# Short texts vary too much in length to say anything about them.
RATIO_MIN_SOURCE_LENGTH = 20
# The style guide's language check judges no text shorter, nor a less certain detection.
LANGUAGE_MIN_WORDS = 8
LANGUAGE_MIN_CONFIDENCE = 0.9
# Chinese and Japanese have no spaces between words.
_CJK = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
# The rule name of the plural check's findings in /v1/lint.
PLURAL_RULE = "locale.plural-forms"
_PLURAL_NAME = re.compile(r"(?:\||\bfilter)\s*(plural)\b")


@dataclass(frozen=True)
class TranslationProblem:
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
    locale: str | None = None,
) -> list[TranslationProblem]:
    """Everything wrong with ``texts`` as a translation of ``source_texts`` into ``locale``
    (without one, the plural filter's forms are not checked)."""
    findings: list[TranslationProblem] = []
    if len(texts) != len(source_texts):
        count = len(source_texts)
        message = _n(
            "the source has {count} message, the translation {translated}",
            "the source has {count} messages, the translation {translated}",
            count,
        )
        findings.append(
            TranslationProblem(
                "error", (*loc, "messages"), message.format(count=count, translated=len(texts))
            )
        )
        return findings
    if source_roles is not None and roles is not None and list(roles) != list(source_roles):
        # TRANSLATORS: {expected} and {actual} are lists of roles (system, user, …).
        message = _("message roles must stay {expected}; got {actual}").format(
            expected=", ".join(source_roles), actual=", ".join(roles)
        )
        findings.append(TranslationProblem("error", (*loc, "messages"), message))
    for i, (source, text) in enumerate(zip(source_texts, texts, strict=True)):
        where = (*loc, "template") if source_roles is None else (*loc, "messages", i, "content")
        findings.extend(_check_unit(source, text, where))
        if locale is not None and not any(f.level == "error" and f.loc == where for f in findings):
            findings.extend(check_plurals(text, locale, where))
    return findings


def _check_unit(source: str, text: str, loc: tuple[str | int, ...]) -> list[TranslationProblem]:
    if not text.strip():
        return [TranslationProblem("error", loc, _("the translation is empty"))]
    try:
        translated = analyze(text, loc=loc)
    except InvalidTemplate as exc:
        return [
            TranslationProblem("error", item.loc, item.message, item.line, item.column)
            for item in exc.errors
        ]
    original = analyze(source)
    findings = [
        TranslationProblem("error", item.loc, item.message, item.line)
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
        findings.append(TranslationProblem("error", loc, message.format(names=", ".join(missing))))
    if extra:
        message = _n(
            "variable not in the source: {names} (variable names must not be translated)",
            "variables not in the source: {names} (variable names must not be translated)",
            len(extra),
        )
        findings.append(TranslationProblem("error", loc, message.format(names=", ".join(extra))))
    if sorted(original.includes) != sorted(translated.includes):
        if original.includes:
            message = _("the translation must include the same prompts as the source: {includes}")
            message = message.format(includes=", ".join(original.includes))
        else:
            message = _("the translation must include no prompts, as the source includes none")
        findings.append(TranslationProblem("error", loc, message))
    source_breaks, breaks = source.count("\n"), text.count("\n")
    if source_breaks != breaks:
        message = _n(
            "the source has {count} line break, the translation {translated}",
            "the source has {count} line breaks, the translation {translated}",
            source_breaks,
        )
        findings.append(
            TranslationProblem("error", loc, message.format(count=source_breaks, translated=breaks))
        )
    if text == source:
        findings.append(
            TranslationProblem("warning", loc, _("the translation is identical to the source"))
        )
    elif len(source) >= RATIO_MIN_SOURCE_LENGTH:
        ratio = len(text) / len(source)
        if not MIN_LENGTH_RATIO <= ratio <= MAX_LENGTH_RATIO:
            # TRANSLATORS: {ratio} is a decimal number such as 0.2 or 3.5.
            message = _("the translation is {ratio} times the length of the source")
            ratio_text = format_decimal(ratio, format="0.0", locale=current_locale())
            findings.append(TranslationProblem("warning", loc, message.format(ratio=ratio_text)))
    return findings


# ---------------------------------------------------------------- plural forms


@dataclass(frozen=True)
class PluralCall:
    """A call of the ``plural`` filter: where it is and which forms it names."""

    line: int
    forms: frozenset[str]


@lru_cache(maxsize=4096)
def plural_calls(source: str) -> tuple[PluralCall, ...]:
    """The template's calls of the ``plural`` filter, in order, read from Jinja's syntax
    tree (``{{ n | plural(...) }}`` and ``{% filter plural(...) %}``); none when it does
    not compile, and none for a call whose forms come from a mapping (``**forms``)."""
    try:
        tree = ENVIRONMENT.parse(source)
    except TemplateSyntaxError:
        return ()
    return tuple(
        PluralCall(
            node.lineno,
            # Jinja types a call's keyword arguments as Pair; the parser makes Keyword.
            frozenset(k.key for k in cast(list[nodes.Keyword], node.kwargs)),
        )
        for node in tree.find_all(nodes.Filter)
        if node.name == "plural" and node.dyn_kwargs is None
    )


@lru_cache(maxsize=512)
def plural_categories(locale: str) -> tuple[str, ...]:
    """The CLDR plural categories of ``locale`` in CLDR order, ``other`` included; none
    for a locale CLDR does not know."""
    try:
        tags = Locale.parse(locale.replace("-", "_")).plural_form.tags
    except (UnknownLocaleError, ValueError):
        return ()
    return tuple(c for c in PLURAL_CATEGORIES if c in tags or c == "other")


def _ordered(categories: set[str] | frozenset[str]) -> list[str]:
    known = [c for c in PLURAL_CATEGORIES if c in categories]
    return known + sorted(categories - set(PLURAL_CATEGORIES))


def check_plurals(text: str, locale: str, loc: tuple[str | int, ...]) -> list[TranslationProblem]:
    """Each ``plural`` call of ``text`` must name every plural category of ``locale``
    (a missing one is a warning: the ``other`` form is shown instead, wrong for that
    number) and no category the locale lacks (an error: that text is never shown).
    A call without ``other`` fails to render, so that one is an error too."""
    expected = plural_categories(locale)
    if not expected:
        return []
    findings: list[TranslationProblem] = []
    for call in plural_calls(text):
        unused = _ordered(call.forms - set(expected))
        missing = [c for c in expected if c not in call.forms]
        if unused:
            message = _n(
                # TRANSLATORS: "plural" is the name of a template filter and {forms} and
                # {expected} CLDR plural categories (zero, one, two, few, many, other);
                # keep them. {locale} is a locale identifier such as ru.
                "the plural filter has the form {forms}, which {locale} does not use; "
                "its forms: {expected}",
                "the plural filter has the forms {forms}, which {locale} does not use; "
                "its forms: {expected}",
                len(unused),
            ).format(forms=", ".join(unused), locale=locale, expected=", ".join(expected))
            findings.append(TranslationProblem("error", loc, message, call.line))
        if missing:
            message = _n(
                # TRANSLATORS: "plural" is the name of a template filter and {forms} CLDR
                # plural categories (zero, one, two, few, many, other); keep them. {locale}
                # is a locale identifier such as ru.
                "the plural filter lacks the form {forms}, which {locale} uses",
                "the plural filter lacks the forms {forms}, which {locale} uses",
                len(missing),
            ).format(forms=", ".join(missing), locale=locale)
            level: Literal["error", "warning"] = "error" if "other" in missing else "warning"
            findings.append(TranslationProblem(level, loc, message, call.line))
    return findings


def plural_comment(texts: Sequence[str], locale: str) -> str | None:
    """The translator comment of a PO entry whose text calls ``plural``: the forms that
    ``locale`` needs."""
    if not any(plural_calls(text) for text in texts):
        return None
    expected = plural_categories(locale)
    return f"plural forms: {', '.join(expected)}" if expected else None


def lint_plurals(
    template: str | None, messages: Sequence[tuple[str, str]] | None, locale: str
) -> list[StyleFinding]:
    """The plural check as findings of ``/v1/lint`` for text in ``locale``."""
    units: list[tuple[int | None, str | None, str]] = (
        [(None, None, template)]
        if template is not None
        else [(i, role, content) for i, (role, content) in enumerate(messages or [])]
    )
    findings: list[StyleFinding] = []
    for unit, role, text in units:
        lines = text.split("\n")
        for finding in check_plurals(text, locale, ()):
            line = finding.line or 1
            # Jinja's tree has lines only: the column is the line's first plural filter.
            found = _PLURAL_NAME.search(lines[line - 1]) if line <= len(lines) else None
            column = found.start(1) + 1 if found else 0
            findings.append(
                StyleFinding(
                    rule=PLURAL_RULE,
                    level=finding.level,
                    message=finding.message,
                    line=line,
                    column=max(column, 1),
                    end_line=line,
                    end_column=max(column, 1) + (len("plural") if column > 0 else 0),
                    match="plural" if column > 0 else "",
                    unit=unit,
                    role=role,
                )
            )
    return findings


# ---------------------------------------------------------------- language


@dataclass(frozen=True)
class LanguageCheck:
    """The language detected in translated text, and a warning when it is not the
    locale's."""

    detected: str | None
    finding: TranslationProblem | None


def check_language(texts: Sequence[str], locale: str, loc: tuple[str | int, ...]) -> LanguageCheck:
    """The language ``texts`` are written in, taken together (Jinja tags left out), and
    a warning when it is not the language of ``locale``: a file translated into one
    language and labelled with another. Too little text, or an uncertain detection,
    says nothing."""
    prose = "\n".join(_prose(text) for text in texts)
    words = len(prose.split()) + len(_CJK.findall(prose)) // 2
    if words < LANGUAGE_MIN_WORDS:
        return LanguageCheck(None, None)
    detection = detect_language(prose)
    if detection.confidence < LANGUAGE_MIN_CONFIDENCE or detection.language in ("und", "zxx"):
        return LanguageCheck(None, None)
    language = locale.replace("-", "_").split("_")[0].lower()
    if same_language(detection.language, language):
        return LanguageCheck(detection.language, None)
    message = _(
        # TRANSLATORS: {language} and {locale} are names of languages such as French.
        "the text looks like {language}, not {locale}; is the file's Language header right?"
    ).format(language=_language_name(detection.language), locale=_language_name(locale))
    return LanguageCheck(detection.language, TranslationProblem("warning", loc, message))


def _prose(text: str) -> str:
    """The text of a template outside its Jinja tags."""
    try:
        tree = ENVIRONMENT.parse(text)
    except TemplateSyntaxError:
        return text
    return " ".join(node.data for node in tree.find_all(nodes.TemplateData))


def _language_name(code: str) -> str:
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(current_locale())
    except (UnknownLocaleError, ValueError):
        return code
    return str(name or code)
