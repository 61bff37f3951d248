"""The rule kinds of a style guide (after Vale's), compiled once from their YAML form.

Every rule has an ``id``, a ``level``, a ``message`` (``{match}`` and the kind's other
fields are filled in), an optional ``link``, a ``scope`` and, with ``when: localized``,
runs only for prompts meant to be translated. A ``scope`` lists chat roles (``system``,
``user``…, or ``text`` for a text prompt) and the parts of the text the rule reads
(``prose``, ``heading``, ``quote``, ``code``, ``name``; see :mod:`registry.style.text`);
a rule that names no part reads its kind's default (:attr:`Rule.default_reads`), which
for every kind leaves out code and quoted material. The kinds:

========================  ==============================================================
``existence``             ``tokens`` (word-bounded) or ``raw`` (a regex) must not appear
``substitution``          ``swap: {wrong: right}``; the fix is the right form
``occurrence``            ``token`` appears at least ``min`` / at most ``max`` times
``repetition``            the same word twice in a row
``consistency``           ``either: {a: b}``: one form or the other in a prompt, not both
``conditional``           if ``first`` matches then ``second`` must define it
``capitalization``        Markdown headings (or ``tokens``) in ``title``/``sentence``/
                          ``lower``/``upper`` case, or matching a regex
``metric``                ``formula`` over words, sentences, characters, paragraphs,
                          lines and tokens, e.g. ``words / sentences > 25``
``builtin``               a prompt-specific check (:mod:`registry.style.builtin`)
========================  ==============================================================

Tokens are regular expressions as in Vale, in RE2 syntax (:func:`compile_pattern`),
matched case-sensitively unless ``ignorecase: true``, bounded by characters that are no
letter, mark, digit or ``_`` of any script unless ``nonword: true``; a space in a token
matches any whitespace, line breaks included. ``exceptions`` are regexes that a match
must not equal. Wording rules read the prose, never Jinja.

Each kind is a module of this package named after it; :mod:`.base` holds what they share
(the guide reader :class:`Spec`, :class:`Rule`, :class:`Hit`) and :mod:`.patterns` the RE2
patterns. This module keeps the table of kinds and compiles a rule from its YAML form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from registry.style.findings import LEVELS
from registry.style.i18n import Message, fields, mark, translate
from registry.style.rules.base import WORDING, Hit, Rule, Spec, keep_case, number
from registry.style.rules.capitalization import Capitalization
from registry.style.rules.conditional import Conditional
from registry.style.rules.consistency import Consistency
from registry.style.rules.existence import Existence
from registry.style.rules.metric import FormulaError, Metric, compile_formula
from registry.style.rules.occurrence import Occurrence
from registry.style.rules.patterns import (
    GUIDE_PATTERN_LIMIT,
    GUIDE_PROGRAM_LIMIT,
    Found,
    Pattern,
    PatternError,
    compile_pattern,
    pattern_budget,
    words_pattern,
)
from registry.style.rules.repetition import Repetition
from registry.style.rules.substitution import Substitution
from registry.style.text import TEXT_SCOPES

__all__ = [
    "GUIDE_PATTERN_LIMIT",
    "GUIDE_PROGRAM_LIMIT",
    "KINDS",
    "SCOPES",
    "WORDING",
    "FormulaError",
    "Found",
    "Hit",
    "Pattern",
    "PatternError",
    "Rule",
    "Spec",
    "compile_formula",
    "compile_pattern",
    "compile_rule",
    "keep_case",
    "number",
    "parse_message",
    "parse_scope",
    "pattern_budget",
    "words_pattern",
]

ROLE_SCOPES = ("any", "text", "system", "developer", "user", "assistant")
SCOPES = (*ROLE_SCOPES, *TEXT_SCOPES)
RULE_ID = re.compile(r"[a-z0-9][a-z0-9._-]*")
COMMON_KEYS = ("kind", "level", "message", "link", "scope", "when", "description")

# Messages of the guide checks themselves, shown to whoever writes a guide.
E_MAPPING = mark("must be a mapping of names to values")
E_LEVEL = mark("must be one of: suggestion, warning, error")
E_KIND = mark("unknown rule kind {kind}; use one of: {kinds}")
E_SCOPE = mark("unknown scope {scope}; use one of: {scopes}")
E_FIELD = mark("the message uses {field}, which this rule does not fill; use: {fields}")
E_BAD_MESSAGE = mark("not a valid message: write fields as {example}")
E_RULE_ID = mark("a rule id is lower-case letters, digits, '.', '_' and '-': {rule}")
E_WHEN = mark("the only condition is: localized")

KINDS: dict[str, type[Rule]] = {
    kind.kind: kind
    for kind in (
        Existence,
        Substitution,
        Occurrence,
        Repetition,
        Consistency,
        Conditional,
        Capitalization,
        Metric,
    )
}


def compile_rule(
    rule_id: str,
    data: object,
    path: str,
    errors: list[tuple[str, str]],
    *,
    translatable: bool,
    builtins: Mapping[str, type[Rule]],
) -> Rule | None:
    """Compile one rule from its YAML form, or record why it cannot be and return None."""
    spec = Spec(data if isinstance(data, Mapping) else {}, path, errors)
    if not RULE_ID.fullmatch(rule_id):
        spec.error(None, translate(E_RULE_ID).format(rule=repr(rule_id)))
        return None
    if not isinstance(data, Mapping):
        spec.error(None, translate(E_MAPPING))
        return None
    before = len(errors)
    kind_name = spec.string("kind")
    kind: type[Rule] | None = None
    if kind_name == "builtin":
        check = spec.string("check")
        kind = builtins.get(check or "")
        if kind is None:
            spec.error(
                "check",
                translate(E_KIND).format(kind=repr(check), kinds=", ".join(sorted(builtins))),
            )
    else:
        kind = KINDS.get(kind_name or "")
        if kind is None:
            kinds = ", ".join([*sorted(KINDS), "builtin"])
            spec.error("kind", translate(E_KIND).format(kind=repr(kind_name), kinds=kinds))
    if kind is None:
        return None
    spec.only([*COMMON_KEYS, *kind.keys, *(("check",) if kind_name == "builtin" else ())])
    common = _common(spec, kind, translatable)
    own = kind.parse(spec)
    if own is None or common is None or len(errors) > before:
        return None
    return kind(id=rule_id, **common, **own)


def _common(spec: Spec, kind: type[Rule], translatable: bool) -> dict[str, Any] | None:
    level = spec.data.get("level", "warning")
    if level not in LEVELS:
        spec.error("level", translate(E_LEVEL))
        return None
    scope, reads = parse_scope(spec)
    when = spec.string("when")
    if when not in (None, "localized"):
        spec.error("when", translate(E_WHEN))
    text = spec.string("message")
    message = None
    if text is not None:
        message = parse_message(spec, "message", text, kind.fields, translatable)
    spec.string("description")
    return {
        "level": level,
        "message": message,
        "link": spec.string("link"),
        "scope": scope,
        "reads": reads or kind.default_reads,
        "localized_only": when == "localized",
    }


def parse_scope(spec: Spec) -> tuple[frozenset[str], frozenset[str]]:
    """The roles a rule reads (empty: every unit) and the parts of the text (empty: the
    kind's default)."""
    scopes = spec.strings("scope")
    for scope in scopes:
        if scope not in SCOPES:
            spec.error(
                "scope", translate(E_SCOPE).format(scope=repr(scope), scopes=", ".join(SCOPES))
            )
    roles = frozenset(s for s in scopes if s in ROLE_SCOPES)
    parts = frozenset(s for s in scopes if s in TEXT_SCOPES)
    return (frozenset() if not roles or "any" in roles else roles), parts


def parse_message(
    spec: Spec, key: str, text: str, allowed: Sequence[str], translatable: bool
) -> Message | None:
    """A rule's message, checked to use only the fields its kind fills."""
    try:
        used = fields(text)
    except ValueError:
        spec.error(key, translate(E_BAD_MESSAGE).format(example="{match}"))
        return None
    for name in used:
        if name not in allowed:
            spec.error(
                key,
                translate(E_FIELD).format(
                    field="{" + name + "}", fields=", ".join("{" + f + "}" for f in allowed)
                ),
            )
            return None
    return Message(text, translatable=translatable)
