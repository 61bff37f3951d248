"""The translator's commands: the queue, and PO files out and in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from registry.cli.app import JsonOption, app, client, console, fail, print_json, user_errors
from registry.translations.schemas import ReviewAction, TranslationStatus

translations_app = typer.Typer(
    help="Translator workflow: queue, review, PO export and import.", no_args_is_help=True
)
app.add_typer(translations_app, name="translations")

LocaleOption = Annotated[str, typer.Option(help="Target locale, e.g. fr or pt-BR.")]
PrefixOption = Annotated[str | None, typer.Option(help="Only this folder.")]


@translations_app.command("status")
@user_errors
def status(
    ctx: typer.Context,
    locale: Annotated[
        str | None, typer.Option(help="Target locale, e.g. fr. Default: every locale.")
    ] = None,
    prefix: PrefixOption = None,
    json: JsonOption = False,
) -> None:
    """What is missing, stale or in review for a locale, and completeness per folder;
    without --locale, every prompt against every locale."""
    if locale is None:
        overview = client(ctx).translation_overview(prefix=prefix)
        if json:
            print_json(overview)
            return
        grid = Table(title="Translations")
        grid.add_column("prompt")
        grid.add_column("version")
        for each in overview.locales:
            grid.add_column(each.locale)
        for row in overview.prompts:
            cells = [row.states.get(p.locale, "(source)") for p in overview.locales]
            grid.add_row(row.prompt, str(row.version), *cells)
        grid.add_row(
            "(complete)", "", *(f"{p.completeness:.0%}" for p in overview.locales), end_section=True
        )
        console.print(grid)
        return
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


@translations_app.command("review")
@user_errors
def review(
    ctx: typer.Context,
    prompts: Annotated[
        list[str] | None,
        typer.Argument(help="Prompts to review; none: every one under --prefix."),
    ] = None,
    locale: LocaleOption = ...,  # type: ignore[assignment]
    action: Annotated[
        ReviewAction, typer.Option(help="approve, reject, or submit (send to review).")
    ] = ReviewAction.approve,
    prefix: PrefixOption = None,
    status: Annotated[
        list[TranslationStatus] | None,
        typer.Option(
            help="Without prompts: the statuses to select (repeat). Default: in "
            "review to approve or reject, draft to submit."
        ),
    ] = None,
    version: Annotated[
        int | None, typer.Option(help="With one prompt: this version, not the newest.")
    ] = None,
    note: Annotated[str, typer.Option(help="Why, recorded with each revision.")] = "",
    json: JsonOption = False,
) -> None:
    """Approve, reject or submit one translation, or many at once (all or nothing)."""
    sdk = client(ctx)
    if prompts and len(prompts) == 1 and prefix is None and status is None:
        reviewed = sdk.review_translation(prompts[0], locale, action, version=version, note=note)
        if json:
            print_json(reviewed)
            return
        console.print(
            f"{reviewed.prompt}@{reviewed.version} [{reviewed.locale}]: "
            f"[green]{reviewed.status}[/green]"
        )
        return
    if version is not None:
        raise fail("--version applies to one prompt only")
    result = sdk.review_translations(
        locale,
        action,
        prompts=prompts or None,
        prefix=prefix,
        status=[s.value for s in status] if status else None,
        note=note,
    )
    if json:
        print_json(result)
        return
    for item in result.reviewed:
        console.print(f"{item.prompt}@{item.version}: [green]{item.status}[/green]")
    done = {"approve": "approved", "reject": "rejected", "submit": "submitted for review"}
    console.print(f"{len(result.reviewed)} {result.locale} translation(s) {done[action.value]}")
    for warning in result.warnings:
        where = ".".join(str(part) for part in warning.loc)
        console.print(f"[yellow]warning[/yellow] {where}: {warning.message}")


@translations_app.command("withdraw")
@user_errors
def withdraw(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Argument(help="The prompt whose translation to delete.")],
    locale: LocaleOption,
    version: Annotated[int | None, typer.Option(help="Default: the newest version.")] = None,
) -> None:
    """Withdraw (delete) a translation; approved text needs a reviewer's key."""
    client(ctx).withdraw_translation(prompt, locale, version=version)
    console.print(f"withdrew the {locale} translation of {prompt}")


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
