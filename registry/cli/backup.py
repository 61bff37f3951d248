"""Server commands: write the whole registry to a JSON backup, and restore one."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from registry.cli.app import app, console, err_console, fail, user_errors
from registry.cli.server import session_scope


@app.command("export")
@user_errors
def export_command(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="File to write; `-` for standard output."),
    ],
) -> None:
    """Write every prompt, version, label, translation and style guide to a JSON backup."""
    from registry.backup import dumps, export_registry, snapshot

    with err_console.status("reading the registry…"), session_scope() as session:
        snapshot(session)
        data = export_registry(session)
    text = dumps(data)
    if str(out) == "-":
        sys.stdout.write(text)
    else:
        _write_atomically(out, text)
    counts = ", ".join(
        f"{len(data[key])} {key.replace('_', ' ')}"
        for key in ("prompts", "versions", "labels", "translations", "style_guides")
    )
    err_console.print(f"[green]exported[/green] {counts}", highlight=False)
    if str(out) != "-":
        err_console.print(f"backup written to {out}", highlight=False)


def _write_atomically(path: Path, text: str) -> None:
    # A failed or interrupted export must not leave half a backup under the final name.
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@app.command("import")
@user_errors
def import_command(
    file: Annotated[Path, typer.Argument(help="A backup written by `registry export`.")],
) -> None:
    """Restore a JSON backup into an empty registry, all or nothing."""
    from registry.backup import import_registry

    try:
        data = json.loads(file.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise fail(f"{file}: {exc}") from None

    def progress(table: str, count: int) -> None:
        console.print(f"  {table.replace('_', ' ')}: {count}", highlight=False)

    with console.status("restoring…"), session_scope() as session:
        summary = import_registry(session, data, progress=progress)
    console.print(
        f"[green]restored[/green] registry {summary.registry_id}: {summary.prompts} prompts, "
        f"{summary.versions} versions, {summary.translations} translations",
        highlight=False,
        soft_wrap=True,
    )
