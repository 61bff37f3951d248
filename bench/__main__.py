"""Run every benchmark, print its figures, and write bench/RESULTS.md.

``python -m bench`` runs them all (about ten minutes on two cores); ``python -m bench http
scale`` runs the named ones and prints their figures without writing the file.
"""

from __future__ import annotations

import io
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from typing import TextIO

from bench import console, http, lint, postgres, publish, push, render, scale, sdk, sdk_install
from bench.load import GENERATOR
from bench.results import Section, Target, load_average, machine, python_speed_ms, table

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
# In-process figures first, then the servers; the largest database in the middle.
BENCHMARKS: dict[str, Callable[[], Section]] = {
    "render": render.main,
    "sdk": sdk.main,
    "sdk_install": sdk_install.main,
    "lint": lint.main,
    "http": http.main,
    "scale": scale.main,
    "console": console.main,
    "publish": publish.main,
    "postgres": postgres.main,
    "push": push.main,
}


class Tee(io.TextIOBase):
    """Writes to the terminal and keeps a copy."""

    def __init__(self, terminal: TextIO) -> None:
        self.terminal = terminal
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.terminal.write(text)
        self.terminal.flush()
        return self.copy.write(text)


def run(name: str, benchmark: Callable[[], Section]) -> tuple[Section, str, float]:
    tee = Tee(sys.stdout)
    started = time.perf_counter()
    with redirect_stdout(tee):
        print(f"\n=== {name}")
        try:
            section = benchmark()
        except Exception:
            traceback.print_exc(file=tee)
            section = Section(f"{name}: FAILED", ["The benchmark failed; see the console output."])
    return section, tee.copy.getvalue(), time.perf_counter() - started


def summary(targets: list[Target]) -> list[str]:
    rows = [[t.figure, t.shown(t.value), t.wanted, t.verdict] for t in targets]
    return table(["figure", "measured", "target", "met or missed"], rows)


def write(
    results: list[tuple[Section, str, float]], started: float, machine_lines: list[str]
) -> None:
    output = "".join(printed for _, printed, _ in results)
    # In the issue's order (the sections' titles are numbered), not in the order they ran.
    results = sorted(results, key=lambda result: result[0].title)
    targets = [target for section, _, _ in results for target in section.targets]
    met = sum(target.met for target in targets)
    lines = [
        "# Benchmark results",
        "",
        f"Written by `.venv/bin/python -m bench` in {(time.perf_counter() - started) / 60:.1f} "
        "minutes. One run on a shared machine: absolute figures drift between runs, so each "
        "target is a ratio against a baseline measured in the same run where the issue asks "
        f"for one. HTTP load generator: {GENERATOR}.",
        "",
        "## Machine",
        "",
        *(f"- {line}" for line in machine_lines),
        f"- load average at the end: {load_average()}",
        f"- Python speed at the end: {python_speed_ms():.0f} ms",
        "",
        f"## Targets: {met} of {len(targets)} met",
        "",
        *summary(targets),
    ]
    for section, printed, seconds in results:
        lines += ["", f"## {section.title}", "", f"_{seconds:.0f} s._", ""]
        if section.markdown:
            lines += section.markdown
        else:
            lines += ["```", *printed.strip().splitlines()[1:], "```"]
    lines += ["", "## Console output", "", "<details><summary>Everything printed</summary>", ""]
    lines += ["```", *output.strip().splitlines(), "```"]
    lines += ["", "</details>", ""]
    RESULTS.write_text("\n".join(lines))


def main(names: list[str]) -> None:
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    started = time.perf_counter()
    machine_lines = machine()
    for line in machine_lines:
        print(line)
    chosen = names or list(BENCHMARKS)
    results = [run(name, BENCHMARKS[name]) for name in chosen]
    targets = [target for section, _, _ in results for target in section.targets]
    print("\n=== targets")
    for target in targets:
        print(target.line())
    if not names:
        write(results, started, machine_lines)
        print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main(sys.argv[1:])
