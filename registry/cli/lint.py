"""`registry lint`: check prompt files against a style guide offline, for CI and pre-commit."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated

import typer

from registry.cli.app import app, console, fail
from registry.promptfiles import (
    PromptFileError,
    body_line,
    parse_prompt,
    parse_translation,
    scan,
)
from registry.style import Finding, GuideError, LintInput, default_guide, lint, load_guide


def _files(paths: list[Path]) -> list[tuple[Path, str, str | None]]:
    """(path, prompt name, locale) of every prompt file named or under a named folder."""
    found: list[tuple[Path, str, str | None]] = []
    for path in paths:
        if path.is_dir():
            found.extend((f.path, f.name, f.locale) for f in scan(path))
        elif path.is_file():
            stem = path.name.removesuffix(".prompt")
            base, _, tail = stem.rpartition(".")
            sibling = path.with_name(f"{base}.prompt") if base else None
            if sibling is not None and sibling.is_file():
                found.append((path, base, tail))
            else:
                found.append((path, stem, None))
        else:
            raise fail(f"{path}: no such file or folder")
    return found


@app.command("lint")
def lint_command(
    paths: Annotated[list[Path], typer.Argument(help="Prompt files or folders.")],
    guide: Annotated[
        Path | None, typer.Option(help="A style guide (YAML file or folder); default: built in.")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    localized: Annotated[
        bool, typer.Option(help="The prompts will be translated (idiom checks).")
    ] = False,
) -> None:
    """Check prompt files against a style guide, offline; exit 1 when any error is found."""
    if output not in ("text", "json"):
        raise fail("--format is text or json")
    try:
        chosen = load_guide(guide) if guide is not None else default_guide()
    except GuideError as exc:
        raise fail(f"{guide}: the style guide cannot be used", str(exc).splitlines()) from None
    results: list[dict[str, object]] = []
    errors = 0
    for path, name, locale in _files(paths):
        try:
            text = path.read_text(encoding="utf-8")
            if locale is None:
                prompt = parse_prompt(text, name=name, path=str(path))
                variables = [v.model_dump(mode="json") for v in prompt.variables]
                data = LintInput(
                    template=prompt.template,
                    messages=[(m.role, m.content) for m in prompt.messages]
                    if prompt.messages is not None
                    else None,
                    variables=variables,
                    locale=prompt.source_locale,
                    localized=localized,
                )
            else:
                source = parse_prompt(
                    path.with_name(f"{name.rsplit('/', 1)[-1]}.prompt").read_text(encoding="utf-8"),
                    name=name,
                )
                translation = parse_translation(text, name=name, kind=source.kind, path=str(path))
                roles = [m.role for m in source.messages] if source.messages is not None else None
                data = LintInput(
                    template=translation.texts[0] if roles is None else None,
                    messages=list(zip(roles, translation.texts, strict=False)) if roles else None,
                    variables=[v.model_dump(mode="json") for v in source.variables],
                    locale=translation.locale,
                    localized=True,
                )
        except (PromptFileError, OSError, UnicodeDecodeError) as exc:
            results.append(
                {
                    "file": str(path),
                    "line": 1,
                    "column": 1,
                    "level": "error",
                    "rule": "file",
                    "message": str(exc),
                }
            )
            errors += 1
            continue
        offset = body_line(text) - 1
        for finding in lint(data, chosen):
            errors += finding.level == "error"
            results.append(_row(path, finding, offset if data.template is not None else None))
    if output == "json":
        console.print_json(jsonlib.dumps(results, ensure_ascii=False))
    else:
        for row in results:
            console.print(
                f"{row['file']}:{row['line']}:{row['column']} {row['level']} {row['rule']} "
                f"{row['message']}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        if not results:
            console.print("no findings", style="green")
    if errors:
        raise typer.Exit(1)


def _row(path: Path, finding: Finding, offset: int | None) -> dict[str, object]:
    """A finding placed in the file: exact for a template; per message for a chat prompt."""
    row: dict[str, object] = {
        "file": str(path),
        "line": finding.line + offset if offset is not None else finding.line,
        "column": finding.column,
        "level": finding.level,
        "rule": finding.rule,
        "message": finding.message,
        "match": finding.match,
        "fix": finding.fix,
    }
    if finding.unit is not None:
        row["message"] = f"[message {finding.unit + 1}, {finding.role}] {finding.message}"
    return row
