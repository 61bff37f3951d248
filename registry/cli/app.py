"""The Typer application and what its commands share: the client, output, errors."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.syntax import Syntax

from registry.client import AuthError, Client
from registry.client.errors import RegistryError as ClientError
from registry.promptfiles import PromptFileError

app = typer.Typer(
    help="Prompt registry: versioned, style-checked, localized prompts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)

DEFAULT_URL = "http://127.0.0.1:8000"
# Output that is not a terminal (a file, a pipe, CI logs) has no width of its own; Rich
# would cut tables to 80 columns and wrap names that scripts and greps then miss.
UNBOUNDED_WIDTH = 10_000

P = ParamSpec("P")
R = TypeVar("R")


def _print_version(value: bool) -> None:
    if value:
        from registry import __version__

        console.print(f"registry {__version__}", highlight=False)
        raise typer.Exit()


def _fit_to_output() -> None:
    for output in (console, err_console):
        if not output.is_terminal and "COLUMNS" not in os.environ:
            output.width = UNBOUNDED_WIDTH


@app.callback()
def main(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option(help="Registry URL (default: $REGISTRY_URL or localhost:8000).")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(help="API key for the registry (default: $REGISTRY_API_KEY).", hidden=False),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Prompt registry: versioned, style-checked, localized prompts."""
    _fit_to_output()
    if url is not None:
        ctx.meta["registry_url"] = url
    if api_key is not None:
        ctx.meta["api_key"] = api_key


def client(ctx: typer.Context) -> Client:
    """The SDK client for this invocation (tests pass one as the context object)."""
    if isinstance(ctx.obj, Client):
        return ctx.obj
    url = ctx.meta.get("registry_url") or os.environ.get("REGISTRY_URL") or DEFAULT_URL
    made = Client(url, api_key=ctx.meta.get("api_key"), cache_ttl=0)
    ctx.obj = made
    ctx.call_on_close(made.close)
    return made


def fail(message: str, details: list[str] | None = None) -> typer.Exit:
    """Print a one-line error (and its details) and return the exit to raise."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    for detail in details or []:
        err_console.print(f"  {detail}", highlight=False)
    return typer.Exit(1)


def _key_refused(exc: AuthError, context: object) -> typer.Exit:
    """A 401 in the command line's terms: the server's own words name an HTTP header."""
    meta = getattr(context, "meta", None)
    given = isinstance(meta, dict) and bool(meta.get("api_key"))
    if not given and not os.environ.get("REGISTRY_API_KEY"):
        return fail(
            "no API key: set REGISTRY_API_KEY or pass --api-key "
            "(`registry keys create --role admin` makes one)"
        )
    source = "--api-key" if given else "REGISTRY_API_KEY"
    return fail(
        f"the registry refused the key in {source}: {exc.detail}; "
        "set REGISTRY_API_KEY or pass --api-key with a key of this registry"
    )


def user_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors a user can cause into one clear line and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except AuthError as exc:
            if exc.status == 401:
                raise _key_refused(exc, kwargs.get("ctx")) from None
            raise fail(f"{exc.title}: {exc.detail}" if exc.title else exc.detail) from None
        except ClientError as exc:
            details = []
            for item in exc.errors:
                where = ".".join(str(part) for part in item.loc)
                at = f" (line {item.line})" if item.line else ""
                details.append(f"{where}{at}: {item.message}")
            title = f"{exc.title}: " if exc.title else ""
            raise fail(f"{title}{exc.detail}", details) from None
        except PromptFileError as exc:
            raise fail(str(exc)) from None
        except OSError as exc:
            raise fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from None

    return wrapper


def print_code(code: str, lexer: str) -> None:
    """Highlighted on a terminal; elsewhere the text as it is, without the padding to the
    full width that ``Syntax`` adds to every line."""
    if console.is_terminal:
        console.print(Syntax(code, lexer, word_wrap=True))
    else:
        console.print(code, markup=False, highlight=False, soft_wrap=True, end="")
        if not code.endswith("\n"):
            console.print()


def print_json(value: Any) -> None:
    """Machine-readable output for scripts."""
    data: Any
    if isinstance(value, BaseModel):
        data = value.model_dump(mode="json")
    elif isinstance(value, list):
        data = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    else:
        data = value
    console.print_json(json.dumps(data, ensure_ascii=False))


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _register() -> None:
    # Importing the command modules attaches their commands to `app`.
    from registry.cli import (  # noqa: F401
        backup,
        experiments,
        keys,
        lint,
        prompts,
        server,
        translations,
        webhooks,
    )


_register()
