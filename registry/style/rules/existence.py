"""``existence``: tokens or a pattern that must not appear."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from registry.style.document import Document
from registry.style.i18n import mark, translate
from registry.style.rules.base import (
    E_NEEDS_ONE,
    Hit,
    Rule,
    Spec,
    compile_tokens,
    excepted,
    matched,
    read_exceptions,
    read_ignorecase,
)
from registry.style.rules.patterns import Pattern
from registry.style.text import Unit

__all__ = ["Existence"]


M_EXISTENCE = mark('avoid "{match}"')


@dataclass(frozen=True, kw_only=True)
class Existence(Rule):
    """Tokens or a pattern that should not appear."""

    patterns: tuple[Pattern, ...]
    exceptions: Pattern | None = None
    fix: str | None = None

    kind = "existence"
    default_message = M_EXISTENCE
    keys = ("tokens", "raw", "ignorecase", "nonword", "exceptions", "fix")

    @classmethod
    def parse(cls, spec: Spec) -> dict[str, Any] | None:
        ignorecase = read_ignorecase(spec)
        tokens, raw = spec.strings("tokens"), spec.strings("raw")
        nonword = spec.boolean("nonword", False)
        exceptions = read_exceptions(spec, ignorecase)
        fix = spec.string("fix")
        if not tokens and not raw:
            spec.error(None, translate(E_NEEDS_ONE).format(what="tokens, raw"))
            return None
        patterns = []
        if tokens:
            patterns.append(compile_tokens(spec, "tokens", tokens, ignorecase, nonword))
        if raw:
            # As in Vale, the pieces of a raw list are one regex, written in pieces.
            patterns.append(spec.regex("raw", "".join(raw), ignorecase))
        if None in patterns:
            return None
        return {"patterns": tuple(patterns), "exceptions": exceptions, "fix": fix}

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        for unit in units:
            matches = (f for pattern in self.patterns for f in pattern.finditer(unit, self.reads))
            for found in matches:
                text = matched(unit, found)
                if text and not excepted(self.exceptions, text):
                    yield Hit(unit, found.start, found.end, text, fix=self.fix)
