"""Webhooks: what the outbox adds to a write, and how fast the worker posts.

``python -m bench.webhooks``. On a new SQLite database, in this process (no HTTP in front):

- a label move of a component that 200 prompts include, through the prompts service in
  one committed transaction each: with no subscription (the baseline: one extra query
  for the active subscriptions), with one subscription to every event (the event rows,
  and the walk of the dependents for ``answer.changed``, 400 events a move), and with
  one to ``label.moved`` only (no walk);
- the worker posting 2,000 deliveries to a receiver on loopback (a threading
  ``http.server``), one subscription and eight.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import delete

from registry import migrate
from registry.config import Settings
from registry.db import Database, utcnow
from registry.events.delivery import DeliveryWorker
from registry.events.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from registry.events.outbox import Event, write
from registry.events.schemas import EventType
from registry.events.signing import new_secret
from registry.prompts.labels import set_label
from registry.prompts.prompts import create_prompt
from registry.prompts.publish import publish_version
from registry.prompts.schemas import LabelSet, PromptCreate, VersionCreate

DEPENDENTS = 200
MOVES = 30
DELIVERIES = 2000


class _Quiet(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


def _library(db: Database) -> None:
    with db.session() as s:
        create_prompt(s, PromptCreate(name="shared/tone"))
        for text in ("Be kind.", "Be brief."):
            publish_version(s, "shared/tone", VersionCreate(template=text), author="b")
        set_label(s, "shared/tone", "production", LabelSet(version=1), actor="b")
    for i in range(DEPENDENTS):
        with db.session() as s:
            name = f"support/p{i}"
            create_prompt(s, PromptCreate(name=name))
            body = VersionCreate(
                template='{% include "shared/tone@production" %} Hello.', labels=["production"]
            )
            publish_version(s, name, body, author="b")


def _subscribe(db: Database, url: str, types: list[str] | None) -> None:
    with db.session() as s:
        s.execute(delete(WebhookSubscription))
        if types is not None:
            s.add(
                WebhookSubscription(
                    url=url, event_types=types, secret=new_secret(), created_by="bench"
                )
            )


def _clear_outbox(db: Database) -> None:
    with db.session() as s:
        s.execute(delete(WebhookDelivery))
        s.execute(delete(WebhookEvent))


def _time_moves(db: Database) -> list[float]:
    times = []
    for n in range(MOVES):
        started = time.perf_counter()
        with db.session() as s:
            version = 2 if n % 2 == 0 else 1
            set_label(s, "shared/tone", "production", LabelSet(version=version), actor="b")
        times.append(time.perf_counter() - started)
    return times


def _deliver_all(db: Database, settings: Settings) -> float:
    worker = DeliveryWorker(db, settings)
    started = time.perf_counter()
    try:
        while worker.deliver_due():
            pass
    finally:
        worker.close()
    return time.perf_counter() - started


def _fill(db: Database, url: str, subscriptions: int) -> None:
    _subscribe(db, url, None)
    with db.session() as s:
        ids = []
        for _ in range(subscriptions):
            row = WebhookSubscription(
                url=url, event_types=[], secret=new_secret(), created_by="bench"
            )
            s.add(row)
            s.flush()
            ids.append(row.id)
        events = [
            (Event(EventType.version_published, "bench/p", {"prompt": "bench/p", "n": i}), ids)
            for i in range(DELIVERIES // subscriptions)
        ]
        write(s, events, utcnow())


def main() -> None:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    receiver.daemon_threads = True
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    with tempfile.TemporaryDirectory() as folder:
        db_url = f"sqlite:///{Path(folder) / 'bench.db'}"
        migrate.upgrade(db_url)
        db = Database.from_url(db_url)
        try:
            _library(db)
            print(f"label move of a component {DEPENDENTS} prompts include ({MOVES} moves)")
            print(f"{'subscriptions':<34}{'median ms':>10}{'p90 ms':>9}{'ratio':>8}")
            baseline = None
            cases: list[tuple[str, list[str] | None]] = [
                ("none", None),
                ("label.moved only", ["label.moved"]),
                ("every event (answer.changed walk)", []),
            ]
            for title, types in cases:
                _subscribe(db, url, types)
                _clear_outbox(db)
                times = _time_moves(db)
                median = statistics.median(times)
                p90 = statistics.quantiles(times, n=10)[8]
                baseline = baseline or median
                print(
                    f"{title:<34}{median * 1000:>10.2f}{p90 * 1000:>9.2f}{median / baseline:>8.2f}"
                )
            _clear_outbox(db)

            settings = Settings(database_url=db_url, webhooks_deliver=False)
            print(f"\nworker posting {DELIVERIES} deliveries to a loopback receiver")
            for subscriptions in (1, 8):
                _fill(db, url, subscriptions)
                seconds = _deliver_all(db, settings)
                print(
                    f"{subscriptions} subscription(s): {seconds:.2f} s, "
                    f"{DELIVERIES / seconds:,.0f} deliveries/s"
                )
                _clear_outbox(db)
        finally:
            db.dispose()
            receiver.shutdown()


if __name__ == "__main__":
    main()
