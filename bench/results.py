"""Targets, verdicts and the machine description that every benchmark reports with."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata

PACKAGES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "h11",
    "httptools",
    "uvloop",
    "pydantic",
    "pydantic-core",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "jinja2",
    "babel",
    "httpx",
)


@dataclass(frozen=True)
class Target:
    """One figure checked against a limit: ``value <= limit``, or ``>=`` with ``at_least``."""

    figure: str
    value: float
    limit: float
    unit: str
    at_least: bool = False

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def shown(self, value: float) -> str:
        if self.unit == "%":
            return f"{value:.0%}"
        if self.unit == "x":
            return f"{value:.2f}x"
        if not self.unit:
            return f"{value:g}"
        digits = 2 if abs(value) < 10 else 1 if abs(value) < 100 else 0
        return f"{value:,.{digits}f} {self.unit}"

    @property
    def wanted(self) -> str:
        return f"{'≥' if self.at_least else '≤'} {self.shown(self.limit)}"

    @property
    def verdict(self) -> str:
        """ "met", or by how much the figure misses, relative to the limit."""
        if self.met:
            return "met"
        if not self.limit:
            return "missed"
        if self.at_least:
            short = 1 - self.value / self.limit
            return f"missed by {short:.0%} (needs {self.limit / self.value:.2f}x the figure)"
        over = self.value / self.limit - 1
        return f"missed by {over:.0%} (needs the figure ÷ {self.value / self.limit:.2f})"

    def line(self) -> str:
        return (
            f"target {self.figure}: {self.shown(self.value)}, wanted {self.wanted}: {self.verdict}"
        )


def print_targets(targets: list[Target]) -> None:
    for target in targets:
        print(target.line())


@dataclass
class Section:
    """One benchmark's part of RESULTS.md: Markdown to show and the targets it checked."""

    title: str
    markdown: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table; columns after the first are right-aligned."""
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join(["---", *["---:"] * (len(header) - 1)]) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _cpuinfo() -> tuple[dict[str, str], int]:
    """The first processor's fields, and how many processors /proc/cpuinfo lists."""
    info: dict[str, str] = {}
    count = 0
    try:
        with open("/proc/cpuinfo") as file:
            for row in file:
                key, _, value = row.partition(":")
                count += key.strip() == "processor"
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return info, count


def _meminfo_gib() -> float:
    try:
        with open("/proc/meminfo") as file:
            for row in file:
                if row.startswith("MemTotal:"):
                    return int(row.split()[1]) / 1024**2
    except OSError:
        pass
    return 0.0


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def wrk_version() -> str | None:
    try:
        done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    first = (done.stdout or done.stderr).splitlines()
    return first[0].split("Copyright")[0].strip() if first else None


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> list[str]:
    """The machine, the software and the date, as Markdown list items."""
    cpu, cores = _cpuinfo()
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        nproc = str(len(os.sched_getaffinity(0)))
    flags = cpu.get("flags", "").split()
    model = cpu.get("model name", platform.processor() or platform.machine())
    packages = ", ".join(
        f"{name} {version}" for name in PACKAGES if (version := _version(name)) is not None
    )
    missing = [name for name in ("httptools", "uvloop") if _version(name) is None]
    return [
        f"date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"CPU: {model}, {cores} logical CPUs in /proc/cpuinfo, `nproc` {nproc}, "
        f"{cpu.get('cpu MHz', '?')} MHz, cache {cpu.get('cache size', '?')}"
        f"{', AVX2' if 'avx2' in flags else ''}"
        f"{', virtual machine' if 'hypervisor' in flags else ''}",
        f"memory: {_meminfo_gib():.1f} GiB",
        f"OS: {platform.platform()}",
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"SQLite {sqlite3.sqlite_version}",
        f"packages: {packages}"
        + (
            f" (not installed: {', '.join(missing)}: uvicorn serves with h11 and asyncio)"
            if missing
            else ""
        ),
        f"load generator: {wrk_version() or 'wrk not installed: async httpx loop'}",
        f"load average at start: {load_average()}",
        f"Python speed at start: {python_speed_ms():.0f} ms for a fixed pure-Python loop (the "
        "median of five runs; lower is faster). This shared machine's speed drifts, by up to "
        "about 2x within an hour: the absolute targets (publish, lint, push) are met or "
        "missed with it, and this figure at the start and the end of a run says how far",
    ]


def python_speed_ms() -> float:
    """Milliseconds for a fixed interpreter-bound workload: one million loop turns with
    integer arithmetic, a dict store and a string method, the kind of work the registry's
    Python does. A reference for the absolute targets (publish, lint, push)."""

    def workload() -> int:
        seen: dict[int, str] = {}
        total = 0
        for i in range(1_000_000):
            total += i % 7
            if i % 100 == 0:
                seen[i] = "word".upper()
        return total + len(seen)

    runs = []
    for _ in range(5):
        started = time.perf_counter()
        workload()
        runs.append((time.perf_counter() - started) * 1000)
    return sorted(runs)[2]
