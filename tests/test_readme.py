"""Every shell command in the README runs as written against the demo registry.

The README's fenced ``sh``, ``bash``, ``shell`` and ``console`` blocks run in order, in one
bash script (``set -e``, ``pipefail``), in a new folder where ``registry serve --demo``
serves a fresh demo database, with the environment the README asks for:
``REGISTRY_URL`` and ``REGISTRY_API_KEY`` (the admin key the demo printed), and the
virtualenv's ``registry`` and ``python3`` first on ``PATH``. ``curl`` fails on an HTTP
error (``--fail-with-body``), so a request the registry refuses fails the test too.

Two things are read as the README's reader would: the address ``localhost:8000`` (or
``127.0.0.1:8000``) is the test server's, and the key placeholder ``rk_…`` is the demo's
admin key.

A comment on the line before a block changes how it is taken; use them sparingly:

- ``<!-- not tested: REASON -->``: not run (``make serve`` would never return);
- ``<!-- fails as shown: REASON -->``: run, and must fail (an example of a refusal);
- ``<!-- synopsis -->``: the lines are command synopses (``registry get NAME
  [--label L]``): each command path must exist and each option it names must be in its
  ``--help``;
- ``<!-- file: PATH -->`` before any fenced block: its text is written to PATH first.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from test_faults import registry_serve
from typer.testing import CliRunner

from registry import migrate
from registry.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"
SHELLS = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^```(\S*)\s*$")
MARKER = re.compile(r"^<!--\s*(not tested|fails as shown|synopsis|file)\s*:?\s*(.*?)\s*-->$")
ADDRESS = re.compile(r"(localhost|127\.0\.0\.1):8000")
KEY_PLACEHOLDER = "rk_…"


@dataclass
class Block:
    line: int  # of the block's first line of text, in README.md
    language: str
    text: str
    marker: str = ""  # "not tested", "fails as shown", "synopsis", "file" or ""
    argument: str = ""


def read_blocks(markdown: str) -> list[Block]:
    blocks: list[Block] = []
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        start = index + 1
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        before = index - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        marked = MARKER.match(lines[before].strip()) if before >= 0 else None
        blocks.append(
            Block(
                line=start + 1,
                language=opening.group(1),
                text="\n".join(lines[start:end]) + "\n",
                marker=marked.group(1) if marked else "",
                argument=marked.group(2) if marked else "",
            )
        )
        index = end + 1
    return blocks


BLOCKS = read_blocks(README.read_text(encoding="utf-8"))


def test_markers_are_used_sparingly_and_with_reasons() -> None:
    shell = [b for b in BLOCKS if b.language in SHELLS]
    skipped = [b for b in shell if b.marker == "not tested"]
    assert all(b.argument for b in skipped), "say why a block is not tested"
    assert len(skipped) <= len(shell) // 4, [b.line for b in skipped]
    assert all(b.argument for b in BLOCKS if b.marker == "file")


def script(blocks: list[Block], base: str, key: str) -> tuple[str, dict[int, int]]:
    """One bash script of the README's runnable blocks, and script line → README line."""
    lines = [
        "set -eEo pipefail",
        "trap 'echo \"README_FAILED_AT $LINENO\" >&2' ERR",
    ]
    where: dict[int, int] = {}

    def add(text: str, readme_line: int) -> None:
        for offset, line in enumerate(text.splitlines()):
            lines.append(line)
            where[len(lines)] = readme_line + offset

    for block in blocks:
        if block.marker == "file":
            target = shlex.quote(block.argument)
            lines.append(f'mkdir -p "$(dirname {target})"')
            lines.append(f"cat > {target} <<'README_FILE_END'")
            lines.extend(block.text.splitlines())
            lines.append("README_FILE_END")
            continue
        if block.language not in SHELLS or block.marker in ("not tested", "synopsis"):
            continue
        text = ADDRESS.sub(base.removeprefix("http://"), block.text).replace(KEY_PLACEHOLDER, key)
        lines.append(f"printf '\\n>>> README.md line {block.line}\\n'")
        if block.marker == "fails as shown":
            lines.append("set +e; (set -e")
            add(text, block.line)
            lines.append(
                f") && {{ echo 'README_FAILED_AT {len(lines) + 1}: expected to fail' >&2; "
                "exit 1; }; set -e"
            )
            where[len(lines)] = block.line
        else:
            add(text, block.line)
    return "\n".join(lines) + "\n", where


def failed_line(stderr: str, where: dict[int, int]) -> str:
    found = re.findall(r"README_FAILED_AT (\d+)", stderr)
    if not found:
        return "?"
    number = int(found[-1])
    known = [line for line in where if line <= number]
    return str(where[max(known)]) if known else "?"


def test_every_shell_command_runs_as_written(tmp_path: Path) -> None:
    bash, curl = shutil.which("bash"), shutil.which("curl")
    if bash is None or curl is None:
        pytest.skip("needs bash and curl")
    work = tmp_path / "work"
    work.mkdir()
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "curl").write_text(f'#!/bin/sh\nexec {curl} --fail-with-body "$@"\n')
    (shims / "curl").chmod(0o755)
    url = f"sqlite:///{work / 'registry.db'}"
    migrate.upgrade(url)
    with registry_serve(url, work, "--demo") as (_, base):
        log = next(work.glob("serve-*.log")).read_text()
        key = re.search(r"\brk_[A-Za-z0-9_-]+", log)
        assert key, log
        text, where = script(BLOCKS, base, key.group(0))
        (tmp_path / "readme.sh").write_text(text)
        environment = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("REGISTRY_") and name not in ("AUTH",)
        }
        environment |= {
            "PATH": os.pathsep.join(
                [str(shims), str(Path(sys.executable).parent), environment.get("PATH", "")]
            ),
            "REGISTRY_URL": base,
            "REGISTRY_API_KEY": key.group(0),
            "COLUMNS": "100",
        }
        result = subprocess.run(
            [bash, str(tmp_path / "readme.sh")],
            cwd=work,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert result.returncode == 0, (
        f"README.md line {failed_line(result.stderr, where)} failed\n"
        f"--- stdout (end)\n{result.stdout[-3000:]}\n--- stderr (end)\n{result.stderr[-3000:]}"
    )


SYNOPSES = [b for b in BLOCKS if b.marker == "synopsis"]


def synopsis_commands(block: Block) -> list[tuple[int, list[str], list[str]]]:
    """(README line, command path, options) for each alternative of each synopsis line."""
    found: list[tuple[int, list[str], list[str]]] = []
    lines = block.text.splitlines()
    for offset in range(len(lines)):
        if offset and lines[offset - 1].endswith("\\"):
            continue  # read with the line it continues
        following = lines[offset:]
        while following[0].endswith("\\") and len(following) > 1:
            following = [following[0][:-1] + " " + following[1].strip(), *following[2:]]
        line = following[0].split("  #", 1)[0].strip()
        if not line.startswith("registry "):
            continue
        parent: list[str] = []
        for alternative in re.split(r"\s*\|\s*(?=[a-z])", line.removeprefix("registry ")):
            words = alternative.split()
            path = []
            for word in words:
                if not re.fullmatch(r"[a-z][a-z-]*", word):
                    break
                path.append(word)
            options = [w.strip("[]").split("=")[0] for w in words if w.strip("[").startswith("-")]
            # `translations status|export`: a sibling of the command before, if it is one.
            sibling = [*parent[:-1], *path]
            if parent and sibling != path and _help(sibling).exit_code == 0:
                path = sibling
            found.append((block.line + offset, path, options))
            parent = path
    return found


def _help(path: list[str]) -> Result:
    return CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})


@pytest.mark.parametrize("block", SYNOPSES, ids=lambda b: f"line {b.line}")
def test_synopses_name_commands_and_options_that_exist(block: Block) -> None:
    commands = synopsis_commands(block)
    assert commands
    for line, path, options in commands:
        result = _help(path)
        assert result.exit_code == 0, f"README.md line {line}: registry {' '.join(path)}"
        for option in options:
            assert option in result.stdout, f"README.md line {line}: {option} of {path}"
