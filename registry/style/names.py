"""Names in a prompt, as the word rules and the pronoun check need them.

The text's ``name`` scope (:mod:`registry.style.text`) already keeps substitutions off
proper names and titles ("Crazy Horse", "Death of a Salesman"). Two questions remain:

- :func:`after_name`: is a word in lower case part of the name before it? "The
  Hollywood blacklist" and "the Transatlantic slave trade" are history, not a list
  kept in a system: a rule with ``skip_after_names: true`` leaves a match alone when
  it follows a capitalized word that does not open the sentence.
- :func:`known_referent`: does a pronoun speak of a person the prompt names or
  describes ("tell John his order shipped", "the young man … his face")? Then it is
  no generic pronoun.
"""

from __future__ import annotations

import re

__all__ = ["after_name", "first_person", "known_referent"]

_WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")
# What may stand before the first word of a sentence on its line: list and heading
# marks, quotes, brackets.
_OPENING = re.compile(r"[\s#>*+\-\d.)(\[\]\"'\u201c\u2018`|]*")
_SENTENCE_END = re.compile(r"[.!?:;\u2026]['\"\u201d\u2019)\]]*\s*\Z")


def _capitalized(word: str) -> bool:
    return word[:1].isupper()


def _opens_sentence(prose: str, line_start: int, word_start: int) -> bool:
    before = prose[line_start:word_start]
    if _OPENING.fullmatch(before):
        return True
    return _SENTENCE_END.search(before) is not None


def after_name(prose: str, start: int) -> bool:
    """Whether the lower-case word at ``start`` follows a name: "the Hollywood blacklist"."""
    if not prose[start : start + 1].islower():
        return False
    line_start = prose.rfind("\n", 0, start) + 1
    if prose[start - 1 : start] != " ":
        return False
    words = list(_WORD.finditer(prose, max(line_start, start - 60), start - 1))
    if not words or words[-1].end() != start - 1:
        return False
    previous = words[-1]
    text = previous.group()
    return (
        _capitalized(text)
        and not (len(text) > 1 and text.isupper())
        and not _opens_sentence(prose, line_start, previous.start())
    )


# A person the prompt describes: the pronoun speaks of them, not of an unknown someone.
_GENDERED = re.compile(
    r"\b(?:man|men|woman|women|boy|boys|girl|girls|lady|ladies|gentleman|gentlemen|guy|"
    r"actress|actor|mother|father|mom|mum|dad|son|daughter|wife|husband|girlfriend|"
    r"boyfriend|king|queen|prince|princess|brother|sister|uncle|aunt|niece|nephew|"
    r"grandmother|grandfather|grandma|grandpa|sir|madam|Mr|Mrs|Ms|Miss|"
    r"businessman|businesswoman|waitress|hostess|heroine|hero|widow|widower|bride|groom)\b",
    re.IGNORECASE,
)
_PERSON = re.compile(
    _GENDERED.pattern[:-3] + r"|he|she|him|his|her|hers|himself|herself)\b", re.IGNORECASE
)
_NOT_NAMES = frozenset({"I", "I'm", "I'll", "I've", "I'd", "OK", "AI"})


def first_person(prose: str) -> int:
    """Where the prose first speaks of a gendered person (a noun or a pronoun); its
    length when it never does.

    A pronoun after an unspecified person's noun may still speak of that earlier person:
    "a woman at a café … someone walking behind her".
    """
    found = _PERSON.search(prose)
    return found.start() if found else len(prose)


def known_referent(prose: str, antecedent_end: int, pronoun: int) -> bool:
    """Whether a pronoun speaks of a person the prompt names or describes between an
    unspecified antecedent (ending at ``antecedent_end``) and the pronoun: "a man walks
    in … he", "tell John his order shipped"."""
    if _GENDERED.search(prose, antecedent_end, pronoun):
        return True
    # A name among the last few words before the pronoun.
    line_start = prose.rfind("\n", 0, pronoun) + 1
    words = list(_WORD.finditer(prose, max(antecedent_end, line_start), pronoun))[-4:]
    return any(
        _capitalized(w.group())
        and not w.group().isupper()
        and w.group() not in _NOT_NAMES
        and not _opens_sentence(prose, line_start, w.start())
        for w in words
    )
