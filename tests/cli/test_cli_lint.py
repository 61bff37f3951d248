"""`registry lint`: offline, positions in the file, exit codes, and no server needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from registry.cli import app

CLEAN = """\
---
kind: text
source_locale: en
variables:
- name: who
  type: string
---
Help {{ who }} with their order.
"""

DIRTY = """\
---
kind: text
source_locale: en
variables:
- name: who
  type: string
---
Help {{ who }} with their order.
TODO: ask the chairman.
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_clean_folder_passes(tmp_path: Path) -> None:
    write(tmp_path / "a/clean.prompt", CLEAN)
    result = CliRunner().invoke(app, ["lint", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "no findings" in result.output


def test_findings_point_into_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "a/dirty.prompt", DIRTY)
    result = CliRunner().invoke(app, ["lint", str(path)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    todo = next(line for line in lines if "prompt.leftover-notes" in line)
    assert todo.startswith(f"{path}:9:1 error prompt.leftover-notes")
    chairman = next(line for line in lines if "inclusive.gendered-nouns" in line)
    assert chairman.startswith(f"{path}:9:15 warning")


def test_json_output(tmp_path: Path) -> None:
    write(tmp_path / "a/dirty.prompt", DIRTY)
    result = CliRunner().invoke(app, ["lint", str(tmp_path), "--format", "json"])
    rows = json.loads(result.stdout)
    assert {row["rule"] for row in rows} >= {"prompt.leftover-notes", "inclusive.gendered-nouns"}
    assert result.exit_code == 1


def test_translations_use_their_locale(tmp_path: Path) -> None:
    write(tmp_path / "a/greet.prompt", CLEAN)
    write(
        tmp_path / "a/greet.de.prompt",
        "---\nlocale: de\nstatus: draft\n---\nHelfen Sie {{ who }} und den Mitarbeitern.\n",
    )
    result = CliRunner().invoke(app, ["lint", str(tmp_path)])
    assert "greet.de.prompt" in result.stdout
    assert "inclusive.gendered-nouns" in result.stdout


def test_custom_guide_and_bad_guide(tmp_path: Path) -> None:
    write(tmp_path / "a/clean.prompt", CLEAN)
    guide = write(
        tmp_path / "guide.yaml",
        "extends: default\nrules:\n  no-order:\n    kind: existence\n    level: error\n"
        "    message: avoid {match}\n    tokens: [order]\n",
    )
    result = CliRunner().invoke(app, ["lint", str(tmp_path / "a"), "--guide", str(guide)])
    assert result.exit_code == 1
    assert "no-order" in result.stdout
    bad = write(tmp_path / "bad.yaml", "rules:\n  x:\n    kind: nonsense\n")
    refused = CliRunner().invoke(app, ["lint", str(tmp_path / "a"), "--guide", str(bad)])
    assert refused.exit_code == 1
    assert "cannot be used" in refused.output


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a/broken.prompt", "no front matter")
    result = CliRunner().invoke(app, ["lint", str(tmp_path)])
    assert result.exit_code == 1
    assert "broken.prompt:1:1 error file" in result.stdout


def test_lint_runs_without_the_server_packages(tmp_path: Path) -> None:
    path = write(tmp_path / "a/dirty.prompt", DIRTY)
    blocker = (
        "import sys\n"
        "BLOCKED = {'fastapi', 'starlette', 'sqlalchemy', 'alembic', 'uvicorn', 'psycopg',"
        " 'pydantic_settings'}\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in BLOCKED:\n"
        "            raise ImportError(f'{name} is blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from registry.cli import app\n"
        f"app(['lint', {str(path)!r}])\n"
    )
    result = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert "prompt.leftover-notes" in result.stdout
