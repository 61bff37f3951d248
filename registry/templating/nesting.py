"""How deeply a template nests, measured on Jinja's tokens before it is parsed.

Jinja's lexer is a loop; its parser, its code generator and Python's compiler of the
generated code recurse once or more for each level of nesting. A template nested deeper
than they allow fails with a RecursionError, or compiles at publish and then fails at
every render ("too many statically nested blocks"). The limits here are well under
what they allow, so that a template within them always compiles and renders.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2.lexer import Lexer

from registry.locales.messages import N_

# Blocks inside blocks ({% for %} in {% if %} in {% macro %} …). Python compiles at
# most 20 nested loops, and Jinja writes one for every {% for %}.
MAX_BLOCK_DEPTH = 10
# Brackets inside brackets in one expression: Jinja's parser recurses about fifteen
# Python frames deep for each.
MAX_BRACKET_DEPTH = 20
# Operators, filters, attribute look-ups and brackets nested in one expression
# (``a + b + c`` nests twice): Python compiles at most 200 nested parentheses, and the
# generated code writes one for each.
MAX_EXPRESSION_DEPTH = 100

_BLOCKS_TOO_DEEP = N_("the template nests blocks deeper than {limit}")
_BRACKETS_TOO_DEEP = N_("an expression nests brackets deeper than {limit}")
_EXPRESSION_TOO_DEEP = N_("an expression nests operators, filters and brackets deeper than {limit}")

# Tags that open a block closed by an end tag; {% set %} does only without "=".
_OPENERS = frozenset({"autoescape", "block", "call", "filter", "for", "if", "macro", "with"})
# Operators spelled as words.
_WORDS = frozenset({"and", "else", "if", "in", "is", "not", "or"})
_SEPARATORS = frozenset({",", ":", "=", ";", "~"})


@dataclass(frozen=True)
class TooDeep:
    """Where and how a template nests beyond a limit."""

    msgid: str
    limit: int
    line: int


class _Group:
    """One open bracket (or a whole expression): the depth of its current item, as
    operators counted and the deepest bracket closed in it, and its deepest item."""

    __slots__ = ("child", "deepest", "operators")

    def __init__(self) -> None:
        self.operators = 0
        self.child = 0
        self.deepest = 0

    def end_item(self) -> None:
        self.deepest = max(self.deepest, self.operators + self.child)
        self.operators = 0
        self.child = 0

    def depth(self) -> int:
        return max(self.deepest, self.operators + self.child)


def nesting_fault(lexer: Lexer, source: str) -> TooDeep | None:
    """The first limit ``source`` nests beyond, in one pass over its tokens."""
    blocks = 0
    tag: str | None = None
    expect_tag = False
    assigns = False
    groups = [_Group()]
    for line, token, value in lexer.tokeniter(source, None):
        if token in ("block_begin", "variable_begin"):
            groups = [_Group()]
            expect_tag = token == "block_begin"
            tag = None
            assigns = False
        elif token == "block_end":
            if tag == "set" and not assigns:
                blocks += 1
        elif expect_tag and token == "name":
            expect_tag = False
            tag = value
            if value.startswith("end"):
                blocks = max(blocks - 1, 0)
            elif value in _OPENERS:
                blocks += 1
        elif token == "operator":
            group = groups[-1]
            if value in ("(", "[", "{"):
                groups.append(_Group())
                if len(groups) - 1 > MAX_BRACKET_DEPTH:
                    return TooDeep(_BRACKETS_TOO_DEEP, MAX_BRACKET_DEPTH, line)
            elif value in (")", "]", "}"):
                if len(groups) > 1:
                    inner = groups.pop().depth() + 1
                    group = groups[-1]
                    group.child = max(group.child, inner)
            elif value in _SEPARATORS:
                if value == "=" and tag == "set" and len(groups) == 1:
                    assigns = True
                group.end_item()
            else:
                group.operators += 1
        elif token == "name" and value in _WORDS:
            groups[-1].operators += 1
        else:
            continue
        if blocks > MAX_BLOCK_DEPTH:
            return TooDeep(_BLOCKS_TOO_DEEP, MAX_BLOCK_DEPTH, line)
        if groups[-1].depth() + len(groups) - 1 > MAX_EXPRESSION_DEPTH:
            return TooDeep(_EXPRESSION_TOO_DEEP, MAX_EXPRESSION_DEPTH, line)
    return None
