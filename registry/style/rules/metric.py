"""``metric``: a formula over counts of the prose, such as ``words / sentences > 25``."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry.style.document import Document
from registry.style.i18n import Message, mark, translate
from registry.style.rules.base import (
    E_NEEDS,
    Hit,
    Rule,
    Spec,
    number,
)
from registry.style.text import Unit

__all__ = ["FormulaError", "Metric", "compile_formula"]


E_FORMULA = mark("not a formula: {error}")
E_FORMULA_NAME = mark("unknown name {name}; use: {names}")
E_FORMULA_NODE = mark("only numbers, names, + - * / % ( ), comparisons, and, or, not")
E_FORMULA_TEST = mark("the formula compares nothing; add a comparison, such as > 25")
E_PER = mark("must be prompt or message")
M_METRIC = mark("{formula}: the value is {value}")

_METRIC_NAMES = ("words", "sentences", "characters", "paragraphs", "lines", "tokens")
_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
Formula = Callable[[Mapping[str, float]], float]


class FormulaError(ValueError):
    """A formula that uses something other than counts, arithmetic and comparisons."""


def compile_formula(text: str) -> tuple[Formula, Formula | None, frozenset[str]]:
    """A formula's test, the value it compares (if any) and the counts it reads.

    Python's parser reads the text; only numbers, the count names, arithmetic,
    comparisons and boolean operators are accepted, and the tree is turned into
    closures, so nothing in a guide is ever evaluated as code.
    """
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise FormulaError(translate(E_FORMULA).format(error=exc.msg)) from None
    names: set[str] = set()
    test = _compile_node(tree, names)
    value = None
    if isinstance(tree, ast.Compare) and len(tree.ops) == 1:
        value = _compile_node(tree.left, set())
    if not isinstance(tree, ast.Compare | ast.BoolOp) and not (
        isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not)
    ):
        raise FormulaError(translate(E_FORMULA_TEST))
    return test, value, frozenset(names)


def _compile_node(node: ast.expr, names: set[str]) -> Formula:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise FormulaError(translate(E_FORMULA_NODE))
        constant = float(node.value)
        return lambda counts: constant
    if isinstance(node, ast.Name):
        if node.id not in _METRIC_NAMES:
            raise FormulaError(
                translate(E_FORMULA_NAME).format(name=repr(node.id), names=", ".join(_METRIC_NAMES))
            )
        name = node.id
        names.add(name)
        return lambda counts: counts[name]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        op = _BINARY[type(node.op)]
        left, right = _compile_node(node.left, names), _compile_node(node.right, names)
        return lambda counts: op(left(counts), right(counts))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
        operand = _compile_node(node.operand, names)
        if isinstance(node.op, ast.USub):
            return lambda counts: -operand(counts)
        if isinstance(node.op, ast.Not):
            return lambda counts: float(not operand(counts))
        return operand
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        operands = [_compile_node(n, names) for n in (node.left, *node.comparators)]
        ops = [_COMPARE[type(op)] for op in node.ops]

        def compare(counts: Mapping[str, float]) -> float:
            values = [operand(counts) for operand in operands]
            return float(all(op(a, b) for op, a, b in zip(ops, values, values[1:], strict=False)))

        return compare
    if isinstance(node, ast.BoolOp):
        parts = [_compile_node(n, names) for n in node.values]
        if isinstance(node.op, ast.And):
            return lambda counts: float(all(part(counts) for part in parts))
        return lambda counts: float(any(part(counts) for part in parts))
    raise FormulaError(translate(E_FORMULA_NODE))


@dataclass(frozen=True, kw_only=True)
class Metric(Rule):
    """A formula over counts of the prose, with a condition that fails the prompt."""

    formula: str
    test: Formula
    value: Formula | None
    names: frozenset[str]
    per_message: bool

    kind = "metric"
    fields = ("formula", "value")
    keys = ("formula", "condition", "per")

    @classmethod
    def parse(cls, spec: Spec) -> dict[str, Any] | None:
        formula = spec.string("formula")
        condition = spec.string("condition")
        per = spec.string("per", "prompt")
        if per not in ("prompt", "message"):
            spec.error("per", translate(E_PER))
        if formula is None:
            spec.error(None, translate(E_NEEDS).format(what="formula"))
            return None
        text = f"({formula}) {condition}" if condition else formula
        try:
            test, value, names = compile_formula(text)
        except FormulaError as exc:
            spec.error("condition" if condition else "formula", str(exc))
            return None
        return {
            "formula": formula.strip(),
            "test": test,
            "value": value,
            "names": names,
            "per_message": per == "message",
        }

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        groups = [[unit] for unit in units] if self.per_message else [list(units)]
        for group in groups:
            counts = {name: float(self._count(doc, group, name)) for name in self.names}
            try:
                failed = bool(self.test(counts))
                value = self.value(counts) if self.value is not None else None
            except ZeroDivisionError:
                continue  # no sentences (or words): the measure does not apply
            if failed:
                unit = group[0]
                shown = number(value) if value is not None else ""
                yield Hit(
                    unit,
                    0,
                    0,
                    self.formula,
                    params={"formula": self.formula, "value": shown},
                    message=self.message or Message(M_METRIC),
                )

    @staticmethod
    def _count(doc: Document, units: Sequence[Unit], name: str) -> int:
        if name == "tokens":
            return sum(doc.tokens(unit) for unit in units)
        if name == "lines":
            return sum(len(unit.line_starts) for unit in units)
        if name == "sentences":
            return sum(len(unit.sentences) for unit in units)
        return sum(int(getattr(unit, name)) for unit in units)
