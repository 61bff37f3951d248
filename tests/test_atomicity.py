"""A failed request of any kind leaves the database as it was.

Each case sends a real request that writes several rows in one transaction, through the
app exactly as served (its own engine and migrated database, one committed transaction
per request, no outer test transaction). A fault armed on the app's engine makes a later
write of that request fail after earlier ones went through: either the code raises
(``python``) or the database itself refuses the statement (``database``: it names a table
that does not exist). The answer must be a problem+json error, promptly, and a dump of
every row of every table must equal the dump taken before the request. The same request
then succeeds once the fault is disarmed, which proves its writes really span the tables
the fault interrupted.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, create_engine, event, select

from registry import migrate
from registry.app import create_app
from registry.config import Settings
from registry.db import Base
from registry.models import load_all
from registry.translations import po

from conftest import admin_token, bearer, fresh_database

PO_TYPE = {"content-type": "text/x-gettext-translation"}
# A request that does not answer within this long is hanging (a lock never released).
ANSWER_WITHIN_S = 30
WRITES = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)

Dump = dict[str, list[tuple[Any, ...]]]


def dump(url: str) -> Dump:
    """Every row of every table in the database, ordered by primary key."""
    load_all()
    engine = create_engine(url)
    try:
        stored = MetaData()
        stored.reflect(engine)
        assert set(Base.metadata.tables) <= set(stored.tables)
        rows: Dump = {}
        with engine.connect() as conn:
            for name, table in sorted(stored.tables.items()):
                order = list(table.primary_key.columns) or list(table.columns)
                rows[name] = [tuple(row) for row in conn.execute(select(table).order_by(*order))]
        return rows
    finally:
        engine.dispose()


def changed_tables(before: Dump, after: Dump) -> set[str]:
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


class InjectedFault(RuntimeError):
    """The fault a test armed; nothing in the registry raises it."""


@dataclass
class Fault:
    """Fails the ``nth`` write statement on ``table`` (``verb`` INSERT, UPDATE or DELETE).

    ``python`` raises from the driver call; ``database`` sends the statement to the
    database naming a table that does not exist, so the database refuses it. Counts
    every write statement seen, to show the failing one came after others.
    """

    table: str
    nth: int
    how: str
    verb: str = "INSERT"
    armed: bool = False
    matched: int = 0
    writes: list[str] = field(default_factory=list)
    fired_after: list[str] | None = None

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before, retval=True)

    def detach(self, engine: Engine) -> None:
        event.remove(engine, "before_cursor_execute", self._before)

    def _before(
        self,
        _conn: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> tuple[str, Any]:
        if not self.armed:
            return statement, parameters
        match = WRITES.match(statement)
        if match is None:
            return statement, parameters
        verb, table = match.group(1).split()[0].upper(), match.group(2).lower()
        if verb == self.verb and table == self.table:
            self.matched += 1
            if self.matched == self.nth:
                self.armed = False
                self.fired_after = list(self.writes)
                if self.how == "python":
                    raise InjectedFault(f"injected: {verb} {table} #{self.nth} fails")
                missing = f"{table}_injected_missing"
                return re.sub(rf'"?\b{table}\b"?', missing, statement, count=1), parameters
        self.writes.append(f"{verb} {table}")
        return statement, parameters


@dataclass
class Registry:
    url: str
    client: TestClient
    engine: Engine

    def ok(self, response: httpx.Response) -> Any:
        assert response.status_code < 300, response.text
        return response.json() if response.content else None


@pytest.fixture
def registry(migrated_url: str) -> Iterator[Registry]:
    """The app as served on its own migrated database, with an admin key (owner ``admin``).

    SQLite waits 10 s for the write lock, not 30: a failed request that kept the lock
    shows as a 503 on the next write rather than as a long wait.
    """
    settings = Settings(
        database_url=migrated_url, max_body_bytes=1 << 20, sqlite_busy_timeout_ms=10_000
    )
    app = create_app(settings)
    token = admin_token(migrated_url)
    with TestClient(app, raise_server_exceptions=False, headers=bearer(token)) as client:
        yield Registry(migrated_url, client, app.state.db.engine)


def answer(send: Callable[[], httpx.Response]) -> httpx.Response:
    """The response to ``send()``, failing the test if none comes in time."""
    result: list[httpx.Response | BaseException] = []

    def run() -> None:
        try:
            result.append(send())
        except BaseException as exc:  # reported in the test's thread
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(ANSWER_WITHIN_S)
    assert result, f"no answer within {ANSWER_WITHIN_S} s"
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


# ---------------------------------------------------------------- the requests

Send = Callable[[], httpx.Response]


@dataclass(frozen=True)
class Scene:
    """Where a case runs: the registry under test, its store and a scratch directory."""

    registry: Registry
    store: str
    tmp_path: Path


def create_prompt_with_tags(scene: Scene) -> Send:
    """Writes the prompt, its tags and an audit event."""
    reg = scene.registry
    reg.ok(reg.client.post("/v1/prompts", json={"name": "atom/other"}))
    body = {"name": "atom/tagged", "description": "Tagged.", "tags": ["one", "two", "three"]}
    return lambda: reg.client.post("/v1/prompts", json=body)


def publish_with_labels(scene: Scene) -> Send:
    """Writes the version, its style report, audit events, two label moves and their events."""
    reg = scene.registry
    base = "/v1/prompts/atom/labelled"
    reg.ok(reg.client.post("/v1/prompts", json={"name": "atom/labelled"}))
    reg.ok(reg.client.post(f"{base}/-/versions", json={"template": "Good morning."}))
    for label in ("staging", "production"):
        reg.ok(reg.client.put(f"{base}/-/labels/{label}", json={"version": 1}))
    body = {
        "template": "Good afternoon.",
        "message": "afternoon",
        "labels": ["staging", "production"],
    }
    return lambda: reg.client.post(f"{base}/-/versions", json=body)


def move_label_if_match(scene: Scene) -> Send:
    """Updates the label, writes its event and an audit event."""
    reg = scene.registry
    base = "/v1/prompts/atom/moved"
    reg.ok(reg.client.post("/v1/prompts", json={"name": "atom/moved"}))
    for text in ("Good morning.", "Good evening."):
        reg.ok(reg.client.post(f"{base}/-/versions", json={"template": text}))
    reg.ok(reg.client.put(f"{base}/-/labels/production", json={"version": 1}))
    etag = reg.client.get(f"{base}/-/labels/production").headers["ETag"]
    body = {"version": 2, "reason": "release"}
    return lambda: reg.client.put(
        f"{base}/-/labels/production", json=body, headers={"If-Match": etag}
    )


FRENCH = {
    "atom/po/a": ("Good morning.", "Bonjour."),
    "atom/po/b": ("Good evening.", "Bonsoir."),
    "atom/po/c": ("Thank you.", "Merci."),
    "atom/po/d": ("See you soon.", "À bientôt."),
}


def import_po_file(scene: Scene) -> Send:
    """Updates one translation and adds three, each with a revision and an audit event."""
    reg = scene.registry
    for name, (source, _) in FRENCH.items():
        reg.ok(reg.client.post("/v1/prompts", json={"name": name}))
        reg.ok(reg.client.post(f"/v1/prompts/{name}/-/versions", json={"template": source}))
    reg.ok(reg.client.put("/v1/prompts/atom/po/a/-/translations/fr", json={"template": "Salut."}))
    exported = reg.client.get(
        "/v1/translations/export", params={"locale": "fr", "prefix": "atom/po"}
    )
    assert exported.status_code == 200, exported.text
    parsed = po.read_po(exported.content)
    by_context = {f"{name}@1": french for name, (_, french) in FRENCH.items()}
    entries = [
        po.PoEntry(
            context=e.context,
            source=e.source,
            translation=by_context[e.context],
            previous_source=e.previous_source,
            comments=e.comments,
        )
        for e in parsed.entries
    ]
    assert len(entries) == len(FRENCH)
    assert parsed.locale and parsed.registry_id
    data = po.write_po(entries, locale=parsed.locale, registry_id=parsed.registry_id)
    return lambda: reg.client.post("/v1/translations/import", content=data, headers=PO_TYPE)


def import_backup(scene: Scene) -> Send:
    """Replaces the registry id, then writes prompts, versions, labels, translations."""
    with fresh_database(scene.store, scene.tmp_path) as source_url:
        migrate.upgrade(source_url)
        app = create_app(Settings(database_url=source_url))
        with TestClient(app, headers=bearer(admin_token(source_url))) as source:
            source_scene = Scene(
                Registry(source_url, source, app.state.db.engine), scene.store, scene.tmp_path
            )
            publish_with_labels(source_scene)()
            import_po_file(source_scene)()
            exported = source.get("/v1/admin/export")
            assert exported.status_code == 200, exported.text
            data = exported.json()
    assert data["prompts"] and data["versions"] and data["labels"]
    reg = scene.registry
    return lambda: reg.client.post("/v1/admin/import", json=data)


@dataclass(frozen=True)
class Case:
    prepare: Callable[[Scene], Send]
    table: str
    nth: int
    succeeds_with: int
    verb: str = "INSERT"

    @property
    def id(self) -> str:
        return f"{self.prepare.__name__}-{self.verb.lower()}-{self.table}-{self.nth}"


CASES = [
    Case(create_prompt_with_tags, "prompt_tags", 1, 201),
    Case(create_prompt_with_tags, "audit_events", 1, 201),
    Case(publish_with_labels, "audit_events", 1, 201),
    Case(publish_with_labels, "labels", 2, 201, verb="UPDATE"),
    Case(publish_with_labels, "label_events", 2, 201),
    Case(publish_with_labels, "audit_events", 3, 201),
    Case(move_label_if_match, "audit_events", 1, 200),
    Case(import_po_file, "translations", 2, 200),
    Case(import_po_file, "audit_events", 3, 200),
    Case(import_backup, "prompt_versions", 1, 200),
    Case(import_backup, "audit_events", 1, 200),
]


@pytest.mark.parametrize("how", ["python", "database"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_failed_write_leaves_the_database_as_it_was(
    registry: Registry, store: str, tmp_path: Path, case: Case, how: str
) -> None:
    send = case.prepare(Scene(registry, store, tmp_path))
    before = dump(registry.url)

    fault = Fault(case.table, case.nth, how, verb=case.verb)
    fault.attach(registry.engine)
    try:
        fault.armed = True
        failed = answer(send)
    finally:
        fault.armed = False
        fault.detach(registry.engine)

    assert fault.fired_after is not None, f"the request never made write {case.nth}: {fault}"
    # The failing write came after others of the same request, all in its transaction.
    assert fault.fired_after, "the failing write was the request's first"
    assert failed.status_code >= 400, failed.text
    assert failed.headers["content-type"] == "application/problem+json", failed.text
    problem = failed.json()
    assert problem["status"] == failed.status_code
    assert "injected" not in problem["detail"]  # the fault's text is logged, not shown
    after = dump(registry.url)
    assert after == before, f"left changed: {sorted(changed_tables(before, after))}"

    # Nothing half-written or still locked stands in the way of the same request.
    retried = answer(send)
    assert retried.status_code == case.succeeds_with, retried.text
    changed = changed_tables(before, dump(registry.url))
    written = {write.split()[1] for write in fault.fired_after} | {case.table}
    assert written <= changed, (written, changed)


def test_a_request_refused_after_its_first_writes_leaves_the_database_as_it_was(
    registry: Registry, store: str, tmp_path: Path
) -> None:
    """No fault armed: the registry itself refuses the second label of a publish (422)
    after the version, its report, its audit event and the first label move are written."""
    send = publish_with_labels(Scene(registry, store, tmp_path))
    base = "/v1/prompts/atom/labelled"
    body = {"template": "Good night.", "labels": ["staging", "latest"]}
    writes: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        match = WRITES.match(statement)
        if match is not None:
            writes.append(match.group(2).lower())

    before = dump(registry.url)
    event.listen(registry.engine, "before_cursor_execute", record)
    try:
        refused = answer(lambda: registry.client.post(f"{base}/-/versions", json=body))
    finally:
        event.remove(registry.engine, "before_cursor_execute", record)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "latest" in refused.json()["detail"]
    assert {"prompt_versions", "labels", "label_events", "audit_events"} <= set(writes), writes
    after = dump(registry.url)
    assert after == before, f"left changed: {sorted(changed_tables(before, after))}"
    assert send().status_code == 201
