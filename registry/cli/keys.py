"""Key commands, run against the database: the first admin key comes from here.

They need no running server and no key of their own, only the database
(``REGISTRY_DATABASE_URL``): whoever can reach it is already trusted with everything.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from registry.cli.app import JsonOption, app, console, err_console, fail, print_json
from registry.cli.server import session_scope

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

_UNITS = {"d": "days", "h": "hours", "w": "weeks"}


def _expiry(expires_in: str | None) -> datetime | None:
    if expires_in is None:
        return None
    amount, unit = expires_in[:-1], expires_in[-1:]
    if not amount.isdigit() or unit not in _UNITS or int(amount) == 0:
        raise fail(f"--expires-in takes a count and a unit (h, d or w), e.g. 90d; not {expires_in}")
    return datetime.now(UTC) + timedelta(**{_UNITS[unit]: int(amount)})


@keys_app.command("create")
def create(
    role: Annotated[
        str, typer.Option(help="reader, translator, editor, reviewer or admin.", show_default=False)
    ],
    owner: Annotated[
        str, typer.Option(help="Person or service the key is for; recorded with its writes.")
    ] = "admin",
    folder: Annotated[
        list[str] | None,
        typer.Option(help="Limit the key to a folder, e.g. support/ (repeat for several)."),
    ] = None,
    read_folder: Annotated[
        list[str] | None,
        typer.Option(help="A folder a limited key may also read, e.g. shared/ (repeat)."),
    ] = None,
    locale: Annotated[
        list[str] | None, typer.Option(help="A locale a translator key may write (repeat).")
    ] = None,
    expires_in: Annotated[
        str | None, typer.Option(help="Refuse the key after this long, e.g. 90d, 12h, 2w.")
    ] = None,
    description: Annotated[str, typer.Option(help="What the key is for.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Create a key and print its token once; only a salted hash is stored."""
    from pydantic import ValidationError

    from registry.access import keys
    from registry.access.schemas import KeyCreate

    try:
        data = KeyCreate(
            owner=owner,
            role=role,
            folders=folder or None,
            read_folders=read_folder or [],
            locales=locale or [],
            description=description,
            expires_at=_expiry(expires_in),
        )
    except ValidationError as exc:
        details = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise fail("the key was not created", details) from None
    with session_scope() as session:
        created = keys.create_key(session, data, created_by="registry keys create")
    if as_json:
        print_json(created)
        return
    err_console.print(
        f"[green]created[/green] {created.role} key {created.prefix} for {created.owner}"
        + (f", limited to {', '.join(created.folders)}" if created.folders else "")
        + (f", reading {', '.join(created.read_folders)}" if created.read_folders else "")
        + (f", locales {', '.join(created.locales)}" if created.locales else ""),
        highlight=False,
    )
    err_console.print("The token is shown only now; keep it secret:", highlight=False)
    console.print(created.token, highlight=False, soft_wrap=True)


@keys_app.command("list")
def list_command(
    include_revoked: Annotated[bool, typer.Option(help="List revoked keys too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Keys, without their secrets."""
    from registry.access import keys

    with session_scope() as session:
        found = keys.list_keys(session, include_revoked=include_revoked)
    if as_json:
        print_json(found)
        return
    table = Table("id", "prefix", "owner", "role", "folders", "locales", "expires", "last used")
    for key in found:
        table.add_row(
            str(key.id),
            key.prefix + (" (revoked)" if key.revoked_at else ""),
            key.owner,
            key.role.value,
            ", ".join(key.folders or ()) + "".join(f", {f} (read)" for f in key.read_folders),
            ", ".join(key.locales),
            f"{key.expires_at:%Y-%m-%d %H:%M}" if key.expires_at else "",
            f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(
    key: Annotated[str, typer.Argument(help="The key's id or prefix (rk_…).")],
    as_json: JsonOption = False,
) -> None:
    """Revoke a key; every server refuses it from the next request on."""
    from registry.access import keys

    with session_scope() as session:
        revoked = keys.revoke_key(session, key)
    if as_json:
        print_json(revoked)
        return
    console.print(f"[green]revoked[/green] {revoked.prefix} ({revoked.owner})", highlight=False)
