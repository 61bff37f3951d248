"""The default style guide on 400 real prompts: findings per rule, their judged precision,
and the lint's time per prompt.

The prompts are ``/work/shared/corpus/awesome-chatgpt-prompts.csv`` (or ``--corpus``):
English prompts nobody on this project wrote. Each is linted in process as a text prompt
with no declared variables, locale ``en``. ``bench/style_sample.csv`` holds findings a
person judged: rule, prompt row, match, a hash of the text around the match, an excerpt,
``right`` or ``wrong``, and why. A judgment applies to the current finding with the same
key, so the precision printed is that of today's rules on the findings judged; findings
no judgment matches are counted as unjudged, and judgments no finding matches any more
(a false positive fixed, or a right finding lost) are counted per rule as gone.

``python -m bench.style_corpus`` prints the table and the timing;
``--todo N`` prints, as CSV rows to judge, up to N unjudged findings per rule (a seeded
random sample, ``--seed``), each with its excerpt; ``--markdown`` prints the table as
Markdown. ``make style-corpus`` runs the first.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from registry.style import Finding, LintInput, default_guide, lint

from bench.results import Target, table

CORPUS = Path("/work/shared/corpus/awesome-chatgpt-prompts.csv")
SAMPLE = Path(__file__).resolve().parent / "style_sample.csv"
SAMPLE_FIELDS = ["rule", "row", "match", "context", "excerpt", "verdict", "why"]
# Characters of text on each side of a match that its key hashes and its excerpt shows.
CONTEXT = 30
EXCERPT = 60
# The precision targets per level; an error that is wrong is a bug.
TARGETS = {"error": 1.0, "warning": 0.9, "suggestion": 0.7}
P95_LIMIT_MS = 10.0
# The first round lints each prompt as new; the following ones give each prompt's median,
# steadier on a shared machine than one timing.
ROUNDS = 5


@dataclass(frozen=True)
class Located:
    """A finding with the prompt it is in and the key its judgment is found by."""

    row: int
    finding: Finding
    start: int
    end: int
    context: str

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.finding.rule, self.row, self.finding.match, self.context)


def read_corpus(path: Path) -> list[str]:
    """The prompts, in file order; row 1 is the first."""
    with path.open(newline="", encoding="utf-8") as file:
        return [record["prompt"] for record in csv.DictReader(file)]


def _offset(source: str, line: int, column: int) -> int:
    start = 0
    for _ in range(line - 1):
        start = source.index("\n", start) + 1
    return start + column - 1


def locate(row: int, source: str, finding: Finding) -> Located:
    start = _offset(source, finding.line, finding.column)
    end = _offset(source, finding.end_line, finding.end_column)
    around = source[max(0, start - CONTEXT) : end + CONTEXT]
    context = hashlib.sha1(around.encode()).hexdigest()[:10]
    return Located(row, finding, start, end, context)


def excerpt(source: str, located: Located) -> str:
    """The match in brackets with some text either side, on one line."""
    before = source[max(0, located.start - EXCERPT) : located.start]
    inside = source[located.start : located.end]
    after = source[located.end : located.end + EXCERPT]
    text = f"{before}[[{inside}]]{after}"
    return " ".join(text.replace("\n", " ⏎ ").split())


def read_sample(path: Path) -> dict[tuple[str, int, str, str], tuple[bool, str]]:
    """Judgments by key: whether the finding is right, and why."""
    if not path.exists():
        return {}
    judged: dict[tuple[str, int, str, str], tuple[bool, str]] = {}
    with path.open(newline="", encoding="utf-8") as file:
        for record in csv.DictReader(file):
            verdict = record["verdict"].strip().lower()
            if verdict not in ("right", "wrong"):
                continue
            key = (record["rule"], int(record["row"]), record["match"], record["context"])
            judged[key] = (verdict == "right", record["why"])
    return judged


def lint_corpus(prompts: list[str]) -> tuple[list[Located], list[float], list[float]]:
    """Every finding, and per prompt the lint's time in ms: the first time (Jinja's
    analysis of the template included) and the median of the following rounds (the
    analysis cached by content, as when publishing has validated the template)."""
    guide = default_guide()
    # The first lint of a process loads the language model (half a second): not a prompt's.
    warm_up = "The first lint of a process loads the model that detects the language."
    lint(LintInput(template=warm_up, messages=None), guide)
    located: list[Located] = []
    first: list[float] = []
    again: list[list[float]] = [[] for _ in prompts]
    for round_number in range(ROUNDS):
        for index, prompt in enumerate(prompts):
            data = LintInput(template=prompt, messages=None, locale="en")
            started = time.perf_counter()
            findings = lint(data, guide)
            elapsed = (time.perf_counter() - started) * 1000
            if round_number == 0:
                first.append(elapsed)
                located.extend(locate(index + 1, prompt, f) for f in findings)
            else:
                again[index].append(elapsed)
    return located, first, [statistics.median(times) for times in again]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94]


@dataclass
class RuleFigures:
    level: str
    findings: int = 0
    prompts: int = 0
    judged: int = 0
    right: int = 0
    gone_wrong: int = 0
    gone_right: int = 0

    @property
    def precision(self) -> float | None:
        return self.right / self.judged if self.judged else None


def figures(
    located: list[Located], judged: dict[tuple[str, int, str, str], tuple[bool, str]]
) -> dict[str, RuleFigures]:
    by_rule: dict[str, RuleFigures] = {}
    prompts: dict[str, set[int]] = defaultdict(set)
    seen: set[tuple[str, int, str, str]] = set()
    for item in located:
        rule = item.finding.rule
        figure = by_rule.setdefault(rule, RuleFigures(item.finding.level))
        if item.finding.level == "error":
            figure.level = "error"  # a rule with error and warning findings (size)
        figure.findings += 1
        prompts[rule].add(item.row)
        verdict = judged.get(item.key)
        seen.add(item.key)
        if verdict is not None:
            figure.judged += 1
            figure.right += verdict[0]
    for rule, figure in by_rule.items():
        figure.prompts = len(prompts[rule])
    for key, (right, _why) in judged.items():
        if key not in seen:
            figure = by_rule.setdefault(key[0], RuleFigures("-"))
            if right:
                figure.gone_right += 1
            else:
                figure.gone_wrong += 1
    return by_rule


def rows(by_rule: dict[str, RuleFigures]) -> list[list[str]]:
    out = []
    order = ("error", "warning", "suggestion", "-")
    for rule in sorted(by_rule, key=lambda r: (order.index(by_rule[r].level), r)):
        f = by_rule[rule]
        precision = "-" if f.precision is None else f"{f.precision:.0%}"
        target = TARGETS.get(f.level)
        verdict = ""
        if f.precision is not None and target is not None:
            verdict = "met" if f.precision >= target else f"< {target:.0%}"
        out.append(
            [
                rule,
                f.level,
                str(f.findings),
                str(f.prompts),
                str(f.judged),
                str(f.right),
                precision,
                verdict,
                str(f.findings - f.judged),
                f"{f.gone_wrong}/{f.gone_right}",
            ]
        )
    return out


HEADER = [
    "rule",
    "level",
    "findings",
    "prompts",
    "judged",
    "right",
    "precision",
    "target",
    "unjudged",
    "gone wrong/right",
]


def plain(header: list[str], body: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = []
    for record in [header, *body]:
        cells = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(record)
        ]
        lines.append("  ".join(cells))
    return lines


def todo(
    located: list[Located],
    prompts: list[str],
    judged: dict[tuple[str, int, str, str], tuple[bool, str]],
    per_rule: int,
    seed: int,
) -> Iterator[list[str]]:
    """Up to ``per_rule`` unjudged findings of each rule, a seeded sample, as CSV rows."""
    by_rule: dict[str, list[Located]] = defaultdict(list)
    keys: set[tuple[str, int, str, str]] = set()
    for item in located:
        if item.key not in judged and item.key not in keys:
            keys.add(item.key)
            by_rule[item.finding.rule].append(item)
    for rule in sorted(by_rule):
        items = by_rule[rule]
        chosen = random.Random(f"{seed}:{rule}").sample(items, min(per_rule, len(items)))
        for item in sorted(chosen, key=lambda i: (i.row, i.start)):
            yield [
                rule,
                str(item.row),
                item.finding.match,
                item.context,
                excerpt(prompts[item.row - 1], item),
                "",
                "",
            ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.style_corpus", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    parser.add_argument("--todo", type=int, metavar="N", help="print N unjudged per rule")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)

    prompts = read_corpus(args.corpus)
    judged = read_sample(args.sample)
    located, first, again = lint_corpus(prompts)
    if args.todo is not None:
        writer = csv.writer(sys.stdout)
        writer.writerow(SAMPLE_FIELDS)
        writer.writerows(todo(located, prompts, judged, args.todo, args.seed))
        return

    by_rule = figures(located, judged)
    body = rows(by_rule)
    levels = Counter(item.finding.level for item in located)
    refused = {item.row for item in located if item.finding.level == "error"}
    wrong_errors = sum(
        1
        for item in located
        if item.finding.level == "error" and not judged.get(item.key, (True, ""))[0]
    )
    unjudged_errors = sum(
        1 for item in located if item.finding.level == "error" and item.key not in judged
    )
    summary = [
        f"{len(prompts)} prompts, {len(located)} findings ({levels['error']} errors, "
        f"{levels['warning']} warnings, {levels['suggestion']} suggestions); "
        f"{len(refused)} prompts would be refused at publish",
        f"errors judged wrong: {wrong_errors}; errors not judged: {unjudged_errors}",
        f"lint per prompt, first time (Jinja analysis included): median "
        f"{statistics.median(first):.2f} ms, p95 {p95(first):.2f} ms, max {max(first):.1f} ms",
        f"lint per prompt, analysis cached (median of {ROUNDS - 1} rounds): median "
        f"{statistics.median(again):.2f} ms, p95 {p95(again):.2f} ms, max {max(again):.1f} ms",
    ]
    targets = [
        # As a publish lints: the template was analysed when it was validated.
        Target("style corpus: lint p95 per prompt", p95(again), P95_LIMIT_MS, "ms"),
        Target("style corpus: error findings judged wrong", wrong_errors, 0, ""),
    ]
    if args.markdown:
        print("\n".join(table(HEADER, body)))
        print()
        print("\n".join(f"- {line}" for line in summary))
    else:
        print("\n".join(plain(HEADER, body)))
        print()
        print("\n".join(summary))
    for target in targets:
        print(target.line())


if __name__ == "__main__":
    main()
