"""``duplicates``: the same instruction twice."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from registry.style.builtin.base import WORDS, Builtin
from registry.style.document import Document
from registry.style.i18n import Message, mark
from registry.style.rules.base import Hit, Spec
from registry.style.text import Unit

__all__ = ["Duplicates"]

M_DUPLICATE = mark('"{match}" repeats an earlier instruction')

_TABLE_ROW = re.compile(r"[ \t]*\|")
_HAS_LETTER = re.compile(r"[^\W\d_]")


# A sentence given this many times is a refrain of the prompt's format, not a slip.
_REFRAIN = 3
# A Markdown heading (or a line in bold alone) naming a record of changes.
_HEADING = re.compile(r"^(?:(#{1,6})[ \t]+(.*?)[ \t#]*|\*\*(.*?)\*\*:?)[ \t]*$", re.MULTILINE)
_RECORD = re.compile(
    r"change ?log|version history|revision history|release notes|what's new",
    re.IGNORECASE,
)


def _record_sections(source: str) -> list[tuple[int, int]]:
    """Where a changelog or version history section runs: from its heading to the next
    heading of its level or above (a bold line counts as the lowest level)."""
    sections: list[tuple[int, int]] = []
    open_at: tuple[int, int] | None = None  # start and heading level
    for match in _HEADING.finditer(source):
        level = len(match.group(1)) if match.group(1) else 7
        if open_at is not None and level <= open_at[1]:
            sections.append((open_at[0], match.start()))
            open_at = None
        title = match.group(2) if match.group(1) else match.group(3)
        if open_at is None and title is not None and _RECORD.fullmatch(title.strip(" :")):
            open_at = (match.end(), level)
    if open_at is not None:
        sections.append((open_at[0], len(source)))
    return sections


@dataclass(frozen=True, kw_only=True)
class Duplicates(Builtin):
    """The same instruction (sentence) twice: each repeated sentence once, and a run of
    repeated sentences (a pasted block) as one finding.

    Not instructions repeated by accident, and so not findings: a sentence given three
    times or more (a refrain of the format, restated for each frame or section), and the
    entries of a changelog or version history section, which record, not instruct.
    """

    min_words: int

    check_name: ClassVar[str] = "duplicates"
    # Instructions are prose: code, quoted examples, headings and tables repeat by design.
    default_reads = frozenset({"prose", "name"})
    param_keys = ("min_words",)

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        return {"min_words": params.integer("min_words", 4, 1) or 4}

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        sentences = [list(self._sentences(unit)) for unit in units]
        times = Counter(words for found in sentences for _, _, words in found)
        # Each sentence's words by position in the prompt; the first place it was seen.
        first_seen: dict[tuple[str, ...], int] = {}
        reported: set[tuple[str, ...]] = set()
        position = 0
        for unit, found in zip(units, sentences, strict=True):
            block: list[int] = []  # start, end, and the earlier copy's position
            for start, end, words in found:
                position += 1
                earlier = first_seen.setdefault(words, position)
                if earlier == position or words in reported or times[words] >= _REFRAIN:
                    if block:
                        yield self._hit(unit, block)
                        block = []
                    continue
                reported.add(words)
                if block and block[3] == position - 1 and earlier == block[2] + 1:
                    block[1], block[2], block[3] = end, earlier, position
                    continue
                if block:
                    yield self._hit(unit, block)
                block = [start, end, earlier, position]
            if block:
                yield self._hit(unit, block)

    def _sentences(self, unit: Unit) -> Iterator[tuple[int, int, tuple[str, ...]]]:
        # The sentences of what the rule reads (a sentence all in code or quotes is
        # none), compared by the words of their source, Jinja, code and quotes included:
        # "Greet {{ a }}." and "Greet {{ b }}.", 'Add "Summary".' and 'Add "Risks".' differ.
        source = unit.source
        records = _record_sections(source)
        for start, end in unit.scoped_sentences(self.reads):
            if _TABLE_ROW.match(source, start):
                continue
            if any(first <= start < last for first, last in records):
                continue
            words = tuple(WORDS.findall(source[start:end].lower()))
            if sum(1 for w in words if _HAS_LETTER.search(w)) >= self.min_words:
                yield start, end, words

    @staticmethod
    def _hit(unit: Unit, block: list[int]) -> Hit:
        start, end = block[0], block[1]
        text = unit.source[start:end]
        short = text if len(text) <= 60 else text[:59] + "…"
        return Hit(unit, start, end, text, params={"match": short}, message=Message(M_DUPLICATE))
