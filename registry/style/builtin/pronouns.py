"""``generic-pronouns``: "he"/"she" for a person whose gender the prompt does not know."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from registry.style.builtin.base import MAX_WINDOW, Builtin, bounded
from registry.style.document import Document
from registry.style.i18n import Message, mark, translate
from registry.style.names import first_person, known_referent
from registry.style.rules.base import E_NEEDS, Hit, Spec, keep_case
from registry.style.rules.patterns import SPACES, Pattern, words_pattern
from registry.style.text import Unit

__all__ = ["GenericPronouns"]

M_PRONOUN = mark(
    'use "{fix}" instead of "{match}" for a person whose gender the prompt does not know'
)
_NEUTRAL = {
    "he": "they",
    "she": "they",
    "him": "them",
    "his": "their",
    "her": "their",
    "hers": "theirs",
    "himself": "themselves",
    "herself": "themselves",
}
_PRONOUNS = ("he", "she", "him", "his", "her", "hers", "himself", "herself")
_PRONOUN = re.compile(r"(?<!\w)(?:himself|herself|hers|her|him|his|he|she)(?!\w)", re.IGNORECASE)
_PAIRED = re.compile(
    r"\b(?:he|she|him|her|his|hers|himself|herself)\s*(?:/|\bor\b)\s*"
    r"(?:he|she|him|her|his|hers|himself|herself)\b",
    re.IGNORECASE,
)
_PREDICATE = re.compile(r"\b(?:is|was|are|were|as|be|becomes|became)\s+\Z")
_NAMED = re.compile(r",?[ \t]+(?!(?:He|She|His|Her|Him)\b)[A-Z][a-z]+")
# "her" is an object ("tell her.") before these, a possessive ("her account") otherwise.
_AFTER_OBJECT = re.compile(
    r"\s*(?:$|[^\w\s]|\b(?:a|an|the|to|that|about|and|or|if|when|with|for|in|on|at|"
    r"know|what|how|why|again|back|up|first)\b)",
    re.IGNORECASE,
)


def _inside(starts: Sequence[int], spans: Sequence[tuple[int, int]]) -> set[int]:
    """The offsets among ``starts`` (sorted) that fall in ``spans`` (sorted, disjoint)."""
    inside = set()
    for span_start, span_end in spans:
        index = bisect.bisect_left(starts, span_start)
        while index < len(starts) and starts[index] < span_end:
            inside.add(starts[index])
            index += 1
    return inside


@dataclass(frozen=True, kw_only=True)
class GenericPronouns(Builtin):
    """A gendered pronoun for a person the prompt does not know."""

    nouns: Pattern
    window: int

    check_name: ClassVar[str] = "generic-pronouns"
    default_reads = frozenset({"prose", "heading", "name"})
    param_keys = ("nouns", "anyone", "window")

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        nouns = params.strings("nouns")
        if not nouns:
            params.error(None, translate(E_NEEDS).format(what="nouns"))
            return None
        # Determiners, then nouns: a list of every phrase would be ten times as large.
        determiners = ("a", "an", "the", "each", "every", "any", "your", "our", "this", "that")
        names = words_pattern([re.escape(n) for n in nouns])
        singular = f"(?:{words_pattern(determiners)}){SPACES}(?:{names})"
        plural = f"(?:{words_pattern(('the', 'any', 'your', 'our'))}){SPACES}(?:{names})s"
        # "Someone", "anyone": a person unknown by definition, with no determiner.
        anyone = params.strings("anyone")
        alone = f"|{words_pattern([re.escape(w) for w in anyone])}" if anyone else ""
        pattern = params.regex(
            "nouns", f"{singular}|{plural}{alone}", ignorecase=True, bounded=True
        )
        if pattern is None:
            return None
        return {"nouns": pattern, "window": bounded(params, "window", 150, 10, MAX_WINDOW)}

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        for unit in units:
            prose = unit.scoped(self.reads)[0]
            nouns = list(self.nouns.finditer(unit, self.reads))
            if not nouns:
                continue
            pronouns = list(_PRONOUN.finditer(prose))
            if not pronouns:
                continue
            starts = [m.start() for m in pronouns]
            # "he or she", "his/her": another rule's business; never reported here.
            reported = _inside(starts, [m.span() for m in _PAIRED.finditer(prose)])
            described = first_person(prose)
            for noun in nouns:
                if (
                    _PREDICATE.search(prose, max(0, noun.start - 12), noun.start)
                    or _NAMED.match(prose, noun.end)
                    or described < noun.start
                ):
                    # "Maria is the manager", "the user Tom", "a woman … someone behind
                    # her": a known person
                    continue
                limit = noun.end + self.window
                blank = prose.find("\n\n", noun.end, limit)
                limit = blank if blank >= 0 else limit
                first = bisect.bisect_left(starts, noun.end)
                for found in pronouns[first : bisect.bisect_left(starts, limit)]:
                    start = found.start()
                    if start in reported or known_referent(prose, noun.end, start):
                        continue  # "a man walks in … he", "tell John his order shipped"
                    reported.add(start)
                    word = unit.source[start : found.end()]
                    neutral = _NEUTRAL[word.lower()]
                    if word.lower() == "her" and _AFTER_OBJECT.match(prose, found.end()):
                        neutral = "them"
                    fix = keep_case(word, neutral)
                    yield Hit(
                        unit,
                        start,
                        found.end(),
                        word,
                        fix=fix,
                        params={"fix": fix},
                        message=Message(M_PRONOUN),
                    )
