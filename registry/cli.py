"""The ``registry`` command: serve the API and manage the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from registry import migrate
from registry.config import get_settings
from registry.db import Database
from registry.errors import RegistryError

app = typer.Typer(help="Prompt registry: versioned, style-checked, localized prompts.")
db_app = typer.Typer(help="Create and upgrade the database schema.")
app.add_typer(db_app, name="db")
translations_app = typer.Typer(help="Translator workflow: queue, PO export and import.")
app.add_typer(translations_app, name="translations")
console = Console()
err_console = Console(stderr=True)


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction against the configured database, committed at the end."""
    db = Database.from_url(get_settings().database_url)
    try:
        with db.session() as session:
            yield session
    except RegistryError as exc:
        err_console.print(f"[red]{exc.title}:[/red] {exc.detail}")
        for item in exc.errors:
            where = f"line {item.line}: " if item.line else ""
            err_console.print(f"  {where}{'.'.join(map(str, item.loc))}: {item.message}")
        raise typer.Exit(1) from None
    finally:
        db.dispose()


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    url = get_settings().database_url
    migrate.upgrade(url, revision)
    console.print(f"[green]database at {revision}[/green]: {_safe(url)}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision the database is at, and the newest one available."""
    url = get_settings().database_url
    current, head = migrate.current(url)
    state = "[green]up to date[/green]" if current == head else "[yellow]needs upgrade[/yellow]"
    console.print(f"database at {current or 'base (empty)'}; newest {head}: {state}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (`base` removes every table)."""
    url = get_settings().database_url
    migrate.downgrade(url, revision)
    console.print(f"[yellow]database at {revision}[/yellow]: {_safe(url)}")


@app.command("seed-demo")
def seed_demo_command() -> None:
    """Load the demo library into an empty registry."""
    from registry.demo import seed_demo

    with session_scope() as session:
        created = seed_demo(session)
    if created:
        console.print(f"[green]seeded {created} demo prompts[/green]")
    else:
        console.print("registry is not empty; demo not seeded")


@translations_app.command("queue")
def translations_queue(
    locale: Annotated[str, typer.Option(help="Target locale, e.g. fr or pt-BR.")],
    prefix: Annotated[str | None, typer.Option(help="Only this folder.")] = None,
) -> None:
    """What is missing, stale or in review for a locale, and completeness per folder."""
    from registry.i18n import service

    with session_scope() as session:
        result = service.queue(session, locale, prefix=prefix)
    table = Table(title=f"Translation queue: {result.locale}")
    for column in ("prompt", "version", "state"):
        table.add_column(column)
    for item in result.items:
        table.add_row(item.prompt, str(item.version), item.state)
    console.print(table)
    folders = Table(title="Completeness")
    for column in ("folder", "prompts", "approved", "complete"):
        folders.add_column(column)
    for progress in [*result.folders, result.total]:
        folders.add_row(
            progress.folder or "(all)",
            str(progress.prompts),
            str(progress.approved),
            f"{progress.completeness:.0%}",
        )
    console.print(folders)


@translations_app.command("export")
def translations_export(
    locale: Annotated[str, typer.Option(help="Target locale, e.g. fr or pt-BR.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="PO file to write.")],
    prefix: Annotated[str | None, typer.Option(help="Only this folder.")] = None,
    label: Annotated[str | None, typer.Option(help="Translate this label's version.")] = None,
    include_approved: Annotated[
        bool, typer.Option("--all", help="Everything, not only the queue.")
    ] = False,
) -> None:
    """Write a locale's queue as a PO file for any PO editor."""
    from registry.i18n import service

    with session_scope() as session:
        locale_id, data = service.export_po(
            session, locale, prefix=prefix, label=label, include_approved=include_approved
        )
    output.write_bytes(data)
    console.print(f"[green]wrote {output}[/green] ({locale_id})")


@translations_app.command("import")
def translations_import(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Edited PO file.")],
    locale: Annotated[str | None, typer.Option(help="Default: the file's Language.")] = None,
    author: Annotated[str, typer.Option(help="Recorded as the translator.")] = "cli",
) -> None:
    """Apply a translated PO file: every entry is checked; all or nothing."""
    from registry.i18n import service

    with session_scope() as session:
        result = service.import_po(session, path.read_bytes(), locale=locale, author=author)
    console.print(
        f"[green]{result.locale}[/green]: {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.untranslated} untranslated"
    )
    for warning in result.warnings:
        console.print(f"[yellow]warning[/yellow] line {warning.line}: {warning.message}")


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000 or REGISTRY_PORT).")] = None,
    demo: Annotated[bool, typer.Option(help="Seed the demo library if empty.")] = False,
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply migrations before serving.")
    ] = True,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the REST API."""
    import uvicorn

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    if migrate_first:
        migrate.upgrade(settings.database_url)
    if demo:
        seed_demo_command()
    console.print(
        f"registry on [bold]http://{host}:{port}[/bold] · store {_safe(settings.database_url)}"
    )
    console.print(f"OpenAPI docs: http://{host}:{port}/docs")
    console.print("API keys are not required yet: every request is accepted.")
    uvicorn.run("registry.app:create_app", factory=True, host=host, port=port, workers=workers)


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
