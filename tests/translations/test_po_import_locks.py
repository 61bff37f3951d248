"""A PO import over several prompts locks them in name order, whatever the file's order.

Two imports over the same prompts, each locking them in its own file's order, could each
hold a lock the other waits for; PostgreSQL would abort one of them. The import is run
through the app with real commits while another transaction holds the first prompt's
lock: the import must wait for it before it holds any other.
"""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from registry.translations import po

from factories import unique_name

WHO = [{"name": "who", "type": "string"}]
PO_TYPE = {"content-type": "text/x-gettext-translation"}


def waiting_on_a_lock(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock'"
                    )
                ).scalar()
            )
    finally:
        engine.dispose()


def test_an_import_locks_its_prompts_in_name_order(
    committing_client: TestClient, migrated_url: str, store: str
) -> None:
    if store != "postgresql":
        pytest.skip("SQLite's writers take turns on the whole file")
    client = committing_client
    root = unique_name("locks")
    first, second = f"{root}/a", f"{root}/b"
    for name in (first, second):
        assert client.post("/v1/prompts", json={"name": name}).status_code == 201
        body = {"template": f"Hello {{{{ who }}}}, this is {name}.", "variables": WHO}
        assert client.post(f"/v1/prompts/{name}/-/versions", json=body).status_code == 201
    exported = client.get("/v1/translations/export", params={"locale": "fr", "prefix": root})
    assert exported.status_code == 200, exported.text
    parsed = po.read_po(exported.content)
    entries = [
        po.PoEntry(
            context=e.context, source=e.source, translation=f"Bonjour {{{{ who }}}} ({e.context})"
        )
        for e in reversed(parsed.entries)  # the second prompt first
    ]
    assert [e.context.split("@")[0] for e in entries] == [second, first]
    assert parsed.locale and parsed.registry_id
    data = po.write_po(entries, locale=parsed.locale, registry_id=parsed.registry_id)

    holder = create_engine(migrated_url)
    answers: list[int] = []
    try:
        with holder.connect() as held:
            held.execute(text("SELECT id FROM prompts WHERE name = :n FOR UPDATE"), {"n": first})
            importer = threading.Thread(
                target=lambda: answers.append(
                    client.post(
                        "/v1/translations/import", content=data, headers=PO_TYPE
                    ).status_code
                )
            )
            importer.start()
            deadline = time.monotonic() + 10
            while not waiting_on_a_lock(migrated_url):
                assert time.monotonic() < deadline, "the import never waited for the lock"
                assert importer.is_alive(), f"the import did not wait: {answers}"
                time.sleep(0.02)
            # Waiting for the first prompt, the import holds no lock on the second.
            with holder.connect() as other:
                locked = other.execute(
                    text("SELECT id FROM prompts WHERE name = :n FOR UPDATE NOWAIT"),
                    {"n": second},
                ).scalar()
                assert locked is not None
                other.rollback()
            held.rollback()
        importer.join(timeout=30)
    finally:
        holder.dispose()
    assert answers == [200]
    for name in (first, second):
        served = client.get(f"/v1/prompts/{name}/-/translations/fr")
        assert served.status_code == 200, served.text
