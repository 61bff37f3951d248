"""Token counting for size budgets: a protocol, and an offline estimate of BPE token counts.

A model's real tokenizer needs its vocabulary, which tiktoken downloads at run time;
the registry must lint offline, so the default counter *estimates* the count of
OpenAI's ``cl100k_base`` encoding from the shape of the text. It splits the text the
way GPT tokenizers pre-tokenize it (words with their leading space, digit runs,
punctuation runs, whitespace) and prices each piece: a short Latin word is one token,
a long one costs more per letter, digits cost one token per three, a CJK character
about one token, Cyrillic about one per 2.6 letters. The prices were fitted on half of
a corpus and measured on the other half (see :mod:`registry.style` for the figures).

Pass a real tokenizer where one is at hand: anything with ``count(text) -> int``.
"""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

__all__ = ["EstimatingTokenCounter", "TokenCounter", "default_token_counter"]


@runtime_checkable
class TokenCounter(Protocol):
    """Counts the tokens of a text for one model family."""

    def count(self, text: str) -> int:
        """The number of tokens ``text`` encodes to."""
        ...


_PIECE = re.compile(r"( ?[^\W\d_]+)|(\d+)|( ?[^\w\s]+|_+)|(\s+)")
_CJK = re.compile(
    "[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
_ACCENTED = re.compile("[\u00c0-\u024f]")
_GREEK_CYRILLIC = re.compile("[\u0370-\u052f]")

# Fitted against cl100k_base (see the module docstring); letters per token unless noted.
_FREE_LETTERS = 8  # a Latin word up to this long is one token
_LETTERS_PER_EXTRA_TOKEN = 1.86  # beyond that
_UPPER_LETTERS_PER_TOKEN = 2.4  # ALL-CAPS words split into short pieces
_CAPITALIZED = 0.44  # extra tokens for a capitalized word
_NO_LEADING_SPACE = 0.135  # a word not preceded by a space is less often one token
_ACCENTED_LETTER = 1.45  # extra tokens per accented Latin letter
_CJK_CHARACTER = 1.07  # tokens per Chinese, Japanese or Korean character
_GREEK_CYRILLIC_LETTERS = 2.63
_OTHER_SCRIPT_LETTERS = 1.32  # Arabic, Hebrew, Indic, Thai…
_OTHER_SCRIPT_WORD = 0.44  # extra tokens per word of another script
_SPACE_RUN = 1.8  # a run of spaces that no word takes as its leading space


class EstimatingTokenCounter:
    """Estimates ``cl100k_base`` token counts offline, from the shape of the text."""

    def count(self, text: str) -> int:
        """An estimate of the number of tokens of ``text``."""
        total = 0.0
        # One findall and a flat loop: this runs on every lint, so the commonest piece,
        # a short lower-case ASCII word after a space, costs no function call.
        for word, digits, punct, space in _PIECE.findall(text):
            if word:
                if word[0] == " " and len(word) <= _FREE_LETTERS + 1 and word.islower():
                    total += 1.0 if word.isascii() else _word_cost(word)
                else:
                    total += _word_cost(word)
            elif digits:
                total += -(-len(digits) // 3)
            elif punct:
                # Punctuation merges into one token with the line breaks after it.
                total += 1.0
            elif "\n" not in space:
                total += _SPACE_RUN
        return round(total)


def _word_cost(piece: str) -> float:
    spaced = piece[0] == " "
    word = piece[1:] if spaced else piece
    length = len(word)
    if word.isascii():
        if length > 1 and word.isupper():
            return max(1.0, length / _UPPER_LETTERS_PER_TOKEN)
        cost = 1.0 + max(0, length - _FREE_LETTERS) / _LETTERS_PER_EXTRA_TOKEN
        if not spaced:
            cost += _NO_LEADING_SPACE
        if word[0].isupper():
            cost += _CAPITALIZED
        return cost
    cjk = len(_CJK.findall(word))
    greek_cyrillic = len(_GREEK_CYRILLIC.findall(word))
    ascii_letters = sum(1 for char in word if char.isascii())
    accented = len(_ACCENTED.findall(word))
    other = length - cjk - greek_cyrillic - ascii_letters - accented
    cost = (
        cjk * _CJK_CHARACTER
        + greek_cyrillic / _GREEK_CYRILLIC_LETTERS
        + other / _OTHER_SCRIPT_LETTERS
    )
    latin = ascii_letters + accented
    if latin:
        cost += 1.0 + max(0, latin - _FREE_LETTERS) / _LETTERS_PER_EXTRA_TOKEN
        cost += accented * _ACCENTED_LETTER
        if not spaced:
            cost += _NO_LEADING_SPACE
    elif (other or greek_cyrillic) and not cjk:
        cost += _OTHER_SCRIPT_WORD
    return cost


_DEFAULT = EstimatingTokenCounter()


def default_token_counter() -> TokenCounter:
    """The offline counter used when the caller gives none."""
    return _DEFAULT
