"""The SDK's own install, `pip install prompt-registry` with no extra: size on disk,
dependency count and the time of ``from registry import Client``, before and after.

Two fresh virtual environments are made in a temporary folder, in the same run: one
installs the baseline revision (``BASELINE``, the registry as it was before language
detection and RE2 moved to the ``lint`` extra), the other this checkout. Sizes count
the files that installing the registry added to site-packages (the venv's own pip and
setuptools left out), as apparent bytes. Import time is the median of fresh processes,
run in turns so that the machine's drift falls on both. Targets (issue #19): import
under 0.3 s and the install under 40 MB; Babel's locale data alone is about 35 MB of it,
so the table lists the largest packages.

``python -m bench sdk_install`` runs it (pip needs the package index, or the wheels it
has cached). ``python -m bench.sdk_install REVISION`` compares with another revision.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.results import Section, Target, table

ROOT = Path(__file__).resolve().parent.parent
# The last commit whose base install brought py3langid (and with it numpy) and RE2.
BASELINE = "b148c0a"
IMPORT_RUNS = 9
# What `python -m venv` installs, not the registry.
VENV_OWN = ("pip", "setuptools", "pkg_resources", "_distutils_hack", "distutils-precedence.pth")
IMPORT = (
    "import time; started = time.perf_counter(); from registry import Client; "
    "print(time.perf_counter() - started)"
)


@dataclass
class Install:
    """One base install: what it holds and how long the SDK takes to import."""

    name: str
    python: Path
    site: Path
    packages: dict[str, int]  # top-level name in site-packages → bytes
    distributions: list[str]
    imports: list[float]

    @property
    def size(self) -> int:
        return sum(self.packages.values())

    @property
    def import_s(self) -> float:
        return statistics.median(self.imports)


def _bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _own(entry: str) -> bool:
    return any(entry == own or entry.startswith(f"{own}-") for own in VENV_OWN)


def install(name: str, source: Path, folder: Path) -> Install:
    """A venv in ``folder`` with ``pip install source`` (no extras)."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(source),
        ],
        check=True,
    )
    site = next((folder / "lib").glob("python3*/site-packages"))
    entries = [p for p in site.iterdir() if not _own(p.name) and p.name != "__pycache__"]
    packages = {p.name: _bytes(p) for p in entries}
    distributions = sorted(
        p.name.removesuffix(".dist-info").rsplit("-", 1)[0]
        for p in entries
        if p.name.endswith(".dist-info")
    )
    return Install(name, python, site, packages, distributions, [])


def import_once(target: Install, cwd: Path) -> float:
    done = subprocess.run(
        [str(target.python), "-c", IMPORT],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,  # not the checkout: the installed package is what is imported
    )
    return float(done.stdout)


def imported_modules(target: Install, cwd: Path) -> list[str]:
    code = (
        "import sys; from registry import Client; "
        "print(' '.join(sorted({m.partition('.')[0] for m in sys.modules} - "
        "set(sys.stdlib_module_names) - {'registry'})))"
    )
    done = subprocess.run(
        [str(target.python), "-c", code], capture_output=True, text=True, check=True, cwd=cwd
    )
    return [name for name in done.stdout.split() if not name.startswith("_")]


def mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def main(baseline: str = BASELINE) -> Section:
    with tempfile.TemporaryDirectory(prefix="sdk-install-") as tmp:
        folder = Path(tmp)
        source = folder / "baseline-src"
        source.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", baseline], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
        before = install(f"before ({baseline})", source, folder / "before")
        after = install("after (this checkout)", ROOT, folder / "after")
        for _ in range(IMPORT_RUNS):
            for target in (before, after):
                target.imports.append(import_once(target, folder))
        loaded = {t.name: imported_modules(t, folder) for t in (before, after)}

    rows = []
    for target in (before, after):
        rows.append(
            [
                target.name,
                mb(target.size),
                str(len(target.distributions) - 1),  # prompt-registry itself left out
                f"{target.import_s * 1000:.0f} ms",
                f"{min(target.imports) * 1000:.0f} ms",
            ]
        )
    print(f"SDK base install (no extras); import: median of {IMPORT_RUNS} runs")
    print(f"{'install':<28}{'size':>10}{'deps':>6}{'import':>9}{'best':>9}")
    for row in rows:
        print(f"{row[0]:<28}{row[1]:>10}{row[2]:>6}{row[3]:>9}{row[4]:>9}")
    ratio = after.import_s / before.import_s
    print(f"import time after ÷ before: {ratio:.2f}x")
    largest = sorted(after.packages.items(), key=lambda item: -item[1])[:8]
    print("largest in the install after:", ", ".join(f"{n} {mb(s)}" for n, s in largest))
    for target in (before, after):
        print(f"packages the import loads, {target.name}:", " ".join(loaded[target.name]))
    gone = sorted(set(before.distributions) - set(after.distributions))
    print("no longer installed:", ", ".join(gone) or "none")

    babel = after.packages.get("babel", 0)
    markdown = [
        f"`pip install prompt-registry` (no extras) into a fresh venv, {baseline} against this "
        f"checkout; sizes are the files the install adds to site-packages (pip and setuptools "
        f"left out); import time of `from registry import Client`, the median of "
        f"{IMPORT_RUNS} fresh processes run in turns.",
        "",
        *table(["install", "size", "dependencies", "import (median)", "import (best)"], rows),
        "",
        f"Import after ÷ before: {ratio:.2f}x. No longer installed: {', '.join(gone) or 'none'}.",
        "",
        f"Largest after: {', '.join(f'{n} {mb(s)}' for n, s in largest)}. Babel's locale data "
        f"is most of Babel's {mb(babel)}; the SDK renders with Babel's number, date and plural "
        "rules, as the server does.",
    ]
    targets = [
        Target("SDK: from registry import Client (median)", after.import_s, 0.3, "s"),
        Target("SDK: base install size", after.size / 1e6, 40, "MB"),
    ]
    return Section("6e. SDK install: size, dependencies, import time", markdown, targets)


if __name__ == "__main__":
    from bench.results import print_targets

    print_targets(main(*sys.argv[1:2]).targets)
