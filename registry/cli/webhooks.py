"""Server command: deliver the webhook outbox from a process of its own."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from registry.cli.app import app, err_console, fail
from registry.cli.server import _first_line, _safe, require_migrated

webhooks_app = typer.Typer(help="Deliver webhook events.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("deliver")
def deliver(
    once: Annotated[
        bool, typer.Option("--once", help="Post what is due now, then exit (cron, CI).")
    ] = False,
) -> None:
    """Post webhook events until stopped (Ctrl-C).

    It runs next to the servers' own workers, or instead of them
    (REGISTRY_WEBHOOKS_DELIVER=false turns those off).
    """
    from sqlalchemy.exc import DBAPIError

    from registry.config import get_settings
    from registry.db import Database
    from registry.events.delivery import DeliveryWorker

    settings = get_settings()
    require_migrated(settings.database_url)
    db = Database.from_url(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    worker = DeliveryWorker(db, settings)
    try:
        if once:
            posted = 0
            while True:
                batch = worker.deliver_due()
                if batch == 0:
                    break
                posted += batch
            err_console.print(f"posted {posted} webhook deliveries", highlight=False)
            return
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        err_console.print(
            f"delivering webhook events from {_safe(settings.database_url)}; Ctrl-C stops",
            highlight=False,
        )
        worker.run(stop)
    except DBAPIError as exc:
        raise fail(
            f"the database {_safe(settings.database_url)} failed: {_first_line(exc.orig)}"
        ) from None
    finally:
        worker.close()
        db.dispose()
