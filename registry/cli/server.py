"""Server commands: serve the API, manage the database schema, seed the demo."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from registry.cli.app import app, console, fail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# The server's packages (the `server` extra) are imported inside the commands, so the
# client-side commands work with the SDK's install alone.

db_app = typer.Typer(help="Create and upgrade the database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names, or None for other stores and in-memory databases."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.query.get("uri") == "true":  # file:…?mode=ro&uri=true names a URI, not a path
        return None
    return Path(parsed.database).resolve()


def require_migrated(url: str) -> None:
    """Stop with one line unless the database at ``url`` exists at the newest schema.

    Connecting to a SQLite path that does not exist creates an empty file, and a command
    run on it ends in a traceback about a missing table: say instead which database was
    looked at and what to run, and leave nothing behind.
    """
    from sqlalchemy.exc import DBAPIError

    from registry import migrate

    where = _safe(url)
    missing = _sqlite_file(url)
    if missing is not None and not missing.is_file():
        raise fail(
            f"no registry database at {missing} ({where}): run `registry db upgrade` to "
            "create it, or set REGISTRY_DATABASE_URL to the registry's database"
        )
    try:
        current, head = migrate.current(url)
    except DBAPIError as exc:
        raise fail(f"cannot open the database {where}: {_first_line(exc.orig)}") from None
    if current is None:
        raise fail(f"the database {where} has no registry tables yet: run `registry db upgrade`")
    if current != head:
        raise fail(
            f"the database {where} is at schema {current}, this registry needs {head}: "
            "run `registry db upgrade`"
        )


def _first_line(error: object) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction against the configured database, committed at the end."""
    from sqlalchemy.exc import DBAPIError

    from registry.config import get_settings
    from registry.db import Database
    from registry.errors import RegistryError

    url = get_settings().database_url
    require_migrated(url)
    db = Database.from_url(url)
    try:
        with db.session() as session:
            yield session
    except RegistryError as exc:
        details = [f"{'.'.join(map(str, e.loc))}: {e.message}" for e in exc.errors]
        raise fail(exc.detail, details) from None
    except DBAPIError as exc:
        raise fail(f"the database {_safe(url)} failed: {_first_line(exc.orig)}") from None
    finally:
        db.dispose()


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def _reaching(url: str) -> Iterator[None]:
    """A database that cannot be reached or refuses a migration is one line, not a trace."""
    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except DBAPIError as exc:
        raise fail(f"the database {_safe(url)} failed: {_first_line(exc.orig)}") from None


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from registry import migrate
    from registry.config import get_settings

    url = get_settings().database_url
    with _reaching(url):
        migrate.upgrade(url, revision)
    console.print(f"[green]database at {revision}[/green]: {_safe(url)}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision the database is at, and the newest one available."""
    from registry import migrate
    from registry.config import get_settings

    url = get_settings().database_url
    missing = _sqlite_file(url)
    if missing is not None and not missing.is_file():
        # Connecting would create the file: report without leaving one behind.
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
        console.print(
            f"no database at {missing} yet; newest {head}: [yellow]needs upgrade[/yellow]",
            soft_wrap=True,
        )
        return
    with _reaching(url):
        current, head = migrate.current(url)
    state = "[green]up to date[/green]" if current == head else "[yellow]needs upgrade[/yellow]"
    # One line, whatever the width: scripts read it.
    console.print(
        f"database at {current or 'base (empty)'}; newest {head}: {state}", soft_wrap=True
    )


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (`base` removes every table)."""
    from registry import migrate
    from registry.config import get_settings

    url = get_settings().database_url
    missing = _sqlite_file(url)
    if missing is not None and not missing.is_file():
        raise fail(f"no registry database at {missing}: nothing to downgrade")
    with _reaching(url):
        migrate.downgrade(url, revision)
    console.print(f"[yellow]database at {revision}[/yellow]: {_safe(url)}")


@app.command("seed-demo")
def seed_demo_command() -> None:
    """Load the demo library into an empty registry."""
    from registry.access import keys
    from registry.access.schemas import KeyCreate
    from registry.demo import seed_demo

    with session_scope() as session:
        created = seed_demo(session)
        # The demo's first key, printed once; later keys come from `registry keys create`.
        key = (
            keys.create_key(
                session,
                KeyCreate(owner="demo-admin", role="admin", description="made by seed-demo"),
                created_by="registry seed-demo",
            )
            if created
            else None
        )
    if key is None:
        console.print("registry is not empty; demo not seeded")
        return
    console.print(f"[green]seeded {created} demo prompts[/green]")
    console.print(
        "An admin key for the demo, shown only now: put it in REGISTRY_API_KEY for the CLI"
        " and the SDK (`registry keys create` makes more):",
        highlight=False,
    )
    console.print(f"  [bold]{key.token}[/bold]", highlight=False, soft_wrap=True)


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
    from registry import migrate, server
    from registry.config import get_settings
    from registry.observability.metrics import multiprocess_directory

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
    console.print("Every request needs an API key: `registry keys create --role admin`.")
    # Several workers write their metrics to files that a scrape of any of them adds up.
    with multiprocess_directory(workers):
        # Not uvicorn.run: with several workers it leaves Nagle's algorithm on (registry.server).
        server.run("registry.app:create_app", factory=True, host=host, port=port, workers=workers)
