"""The translator's commands: the queue, and PO files out and in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from registry.cli.app import JsonOption, app, client, console, print_json, user_errors

translations_app = typer.Typer(
    help="Translator workflow: queue, PO export and import.", no_args_is_help=True
)
app.add_typer(translations_app, name="translations")

LocaleOption = Annotated[str, typer.Option(help="Target locale, e.g. fr or pt-BR.")]
PrefixOption = Annotated[str | None, typer.Option(help="Only this folder.")]


@translations_app.command("status")
@user_errors
def status(
    ctx: typer.Context, locale: LocaleOption, prefix: PrefixOption = None, json: JsonOption = False
) -> None:
    """What is missing, stale or in review for a locale, and completeness per folder."""
    queue = client(ctx).translation_queue(locale, prefix=prefix)
    if json:
        print_json(queue)
        return
    table = Table(title=f"Translation queue: {queue.locale}")
    for column in ("prompt", "version", "state"):
        table.add_column(column)
    for item in queue.items:
        table.add_row(item.prompt, str(item.version), item.state)
    console.print(table)
    folders = Table(title="Completeness")
    for column in ("folder", "prompts", "approved", "complete"):
        folders.add_column(column)
    for progress in [*queue.folders, queue.total]:
        folders.add_row(
            progress.folder or "(all)",
            str(progress.prompts),
            str(progress.approved),
            f"{progress.completeness:.0%}",
        )
    console.print(folders)


@translations_app.command("export")
@user_errors
def export(
    ctx: typer.Context,
    locale: LocaleOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="PO file to write.")],
    prefix: PrefixOption = None,
    label: Annotated[str | None, typer.Option(help="Translate this label's version.")] = None,
    include_approved: Annotated[
        bool, typer.Option("--all", help="Everything, not only the queue.")
    ] = False,
) -> None:
    """Write a locale's queue as a PO file for any PO editor."""
    with console.status(f"exporting {locale}…"):
        data = client(ctx).export_translations(
            locale, prefix=prefix, label=label, include_approved=include_approved
        )
    output.write_bytes(data)
    console.print(f"[green]wrote {output}[/green] ({data.count(b'msgctxt ')} entries)")


@translations_app.command("import")
@user_errors
def import_(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Edited PO file.")],
    locale: Annotated[str | None, typer.Option(help="Default: the file's Language.")] = None,
    json: JsonOption = False,
) -> None:
    """Apply a translated PO file: every entry is checked; all or nothing."""
    with console.status(f"importing {path}…"):
        result = client(ctx).import_translations(path.read_bytes(), locale=locale)
    if json:
        print_json(result)
        return
    console.print(
        f"[green]{result.locale}[/green]: {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.untranslated} untranslated"
    )
    for warning in result.warnings:
        console.print(f"[yellow]warning[/yellow] line {warning.line}: {warning.message}")
