"""Rendering cost of a template of plain substitutions, against ``str.format``.

The baseline is measured in the same run, so the ratio holds on a noisy shared machine.
"""

from __future__ import annotations

import platform
import statistics
import timeit

from registry.templating import render_template

from bench.results import Section

JINJA = "Hello {{ name }}, your order {{ order }} ships on {{ day }}."
FORMAT = "Hello {name}, your order {order} ships on {day}."
TONE = "Be warm and brief."
WITH_INCLUDE = '{% include "shared/tone@production" %} ' + JINJA
VALUES = {"name": "Ada", "order": "A-1042", "day": "Monday"}


def best_of(stmt: object, number: int = 20_000, repeat: int = 7) -> float:
    """Median seconds per call over ``repeat`` runs of ``number`` calls."""
    runs = timeit.repeat(stmt, number=number, repeat=repeat)  # type: ignore[arg-type]
    return statistics.median(runs) / number


def main() -> Section:
    assert render_template(JINJA, VALUES) == FORMAT.format(**VALUES)
    baseline = best_of(lambda: FORMAT.format(**VALUES))
    plain = best_of(lambda: render_template(JINJA, VALUES))
    included = best_of(
        lambda: render_template(WITH_INCLUDE, VALUES, {"shared/tone@production": TONE})
    )
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, Python {platform.python_version()}")
    print(f"str.format                 {baseline * 1e6:8.2f} µs")
    for label, seconds in (("render, 3 substitutions", plain), ("render, + one include", included)):
        print(f"{label:<26} {seconds * 1e6:8.2f} µs   {seconds / baseline:6.1f}x str.format")
    return Section("6d. Template engine: render against str.format")


if __name__ == "__main__":
    main()
