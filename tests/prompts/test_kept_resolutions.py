"""Kept resolutions: served only while every prompt they were read from is unchanged.

Through the app exactly as served (its own engine, committed requests), on both stores.
Each test checks that a kept resolution was served (the hit count), so a cache that
never served one could not pass, and that every change is served from the next
request on. The tests' usual
``client`` is checked to serve them too (``test_kept_in_tests.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.orm import Session

from registry.access.models import ApiKey
from registry.app import create_app
from registry.config import Settings
from registry.db import Database, utcnow
from registry.prompts.kept import KeptResolutions
from registry.prompts.models import Prompt

from conftest import admin_token, bearer
from factories import make_prompt, unique_name
from factories import publish as publish_version

SERVED_HEADERS = ("content-type", "content-length", "etag", "cache-control", "content-language")


def cache_of(client: TestClient) -> KeptResolutions:
    kept: KeptResolutions = client.app.state.kept_resolutions  # type: ignore[attr-defined]
    return kept


def make(client: TestClient, *templates: str, label: str = "production", **extra: Any) -> str:
    name = extra.pop("name", None) or unique_name("answers/p")
    assert client.post("/v1/prompts", json={"name": name, **extra}).status_code == 201
    for template in templates:
        variables = [{"name": "who"}] if "{{ who }}" in template else []
        body = {"template": template, "variables": variables}
        published = client.post(f"/v1/prompts/{name}/-/versions", json=body)
        assert published.status_code == 201, published.text
    assert client.put(f"/v1/prompts/{name}/-/labels/{label}", json={"version": 1}).status_code == (
        200
    )
    return name


def resolve(client: TestClient, name: str, **params: Any) -> Any:
    headers = params.pop("headers", {})
    return client.get(f"/v1/prompts/{name}/-/resolve", params=params, headers=headers)


def served_twice(client: TestClient, name: str, **params: Any) -> Any:
    """The answer to a resolve asked twice; the second one must come from the cache."""
    cache = cache_of_after(client, name, **params)
    hits = cache.hits
    again = resolve(client, name, **params)
    assert cache.hits == hits + 1, "the second identical request was not answered from memory"
    return again


def cache_of_after(client: TestClient, name: str, **params: Any) -> KeptResolutions:
    first = resolve(client, name, **params)
    assert first.status_code == 200, first.text
    return cache_of(client)


@pytest.fixture
def client(committing_client: TestClient) -> TestClient:
    return committing_client


class TestServing:
    def test_a_repeated_resolve_is_answered_exactly_as_the_app_answered(
        self, client: TestClient
    ) -> None:
        name = make(client, "Hello {{ who }}")
        first = resolve(client, name, locale="fr")
        again = served_twice(client, name, locale="fr")
        assert again.status_code == 200
        assert again.content == first.content
        for header in SERVED_HEADERS:
            assert again.headers[header] == first.headers[header], header
        assert again.headers["vary"] == first.headers["vary"]

    def test_if_none_match_gets_the_apps_304(self, client: TestClient) -> None:
        name = make(client, "Hello {{ who }}")
        etag = resolve(client, name).headers["etag"]
        from_app = resolve(client, name, label="latest", headers={"If-None-Match": etag})
        cache = cache_of(client)
        hits = cache.hits
        cached = resolve(client, name, headers={"If-None-Match": f'W/{etag}, "other"'})
        assert cache.hits == hits + 1
        assert cached.status_code == 304 and cached.content == b""
        assert from_app.status_code == 304
        assert cached.headers["etag"] == etag
        assert cached.headers["cache-control"] == from_app.headers["cache-control"]
        assert "content-type" not in cached.headers
        stale = resolve(client, name, headers={"If-None-Match": '"not-it"'})
        assert stale.status_code == 200 and stale.headers["etag"] == etag

    def test_a_revalidation_that_misses_is_kept_too(self, client: TestClient) -> None:
        # The SDK's requests after its own cache expired carry If-None-Match from the start.
        name = make(client, "Hello {{ who }}")
        etag = resolve(client, name, label="latest").headers["etag"]
        conditional = {"headers": {"If-None-Match": etag}}
        first = resolve(client, name, **conditional)
        assert first.status_code == 304 and first.headers["etag"] == etag
        cache = cache_of(client)
        hits = cache.hits
        again = resolve(client, name, **conditional)
        assert again.status_code == 304 and cache.hits == hits + 1
        assert resolve(client, name).json()["version"] == 1
        assert cache.hits == hits + 2
        other = make(client, "Hi {{ who }}")
        fresh = resolve(client, other, headers={"If-None-Match": '"old"'})
        assert fresh.status_code == 200 and fresh.json()["template"] == "Hi {{ who }}"

    def test_requests_differing_in_query_or_language_are_kept_apart(
        self, client: TestClient
    ) -> None:
        name = make(client, "Hello {{ who }}")
        client.put(f"/v1/prompts/{name}/-/translations/fr", json={"template": "Salut {{ who }}"})
        client.post(f"/v1/prompts/{name}/-/translations/fr/review", json={"action": "approve"})
        body = {"template": "Bye {{ who }}", "variables": [{"name": "who"}]}
        client.post(f"/v1/prompts/{name}/-/versions", json=body)
        client.put(f"/v1/prompts/{name}/-/labels/staging", json={"version": 2})
        assert served_twice(client, name).json()["template"] == "Hello {{ who }}"
        assert served_twice(client, name, label="staging").json()["template"] == "Bye {{ who }}"
        french = {"headers": {"Accept-Language": "fr"}}
        assert served_twice(client, name, **french).json()["template"] == "Salut {{ who }}"
        assert served_twice(client, name, version=1).json()["template"] == "Hello {{ who }}"

    def test_errors_are_never_kept(self, client: TestClient) -> None:
        name = make(client, "Hello {{ who }}")
        cache = cache_of_after(client, name)
        for _ in range(2):
            assert resolve(client, name, label="nope").status_code == 404
            assert resolve(client, "answers/missing").status_code == 404
        assert cache.hits == 0

    def test_a_subject_in_an_experiment_is_never_answered_from_memory(
        self, client: TestClient
    ) -> None:
        name = make(client, "one {{ who }}", "two {{ who }}")
        body = {"name": "try", "arms": [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}]}
        assert client.post(f"/v1/prompts/{name}/-/experiments", json=body).status_code == 201
        cache = cache_of_after(client, name, subject="user-1")
        ids = {resolve(client, name, subject="user-1").json()["experiment"]["resolve_id"]}
        ids.add(resolve(client, name, subject="user-1").json()["experiment"]["resolve_id"])
        assert len(ids) == 2
        assert cache.hits == 0
        # Without a subject the label's own version is served, and may be kept.
        assert served_twice(client, name).json()["experiment"] is None


class TestEveryChangeIsServedAtOnce:
    def test_a_label_move(self, client: TestClient) -> None:
        name = make(client, "one {{ who }}", "two {{ who }}")
        assert served_twice(client, name).json()["version"] == 1
        client.put(f"/v1/prompts/{name}/-/labels/production", json={"version": 2})
        assert served_twice(client, name).json()["version"] == 2

    def test_a_publish_moves_latest(self, client: TestClient) -> None:
        name = make(client, "one {{ who }}")
        assert served_twice(client, name, label="latest").json()["version"] == 1
        body = {"template": "two {{ who }}", "variables": [{"name": "who"}]}
        client.post(f"/v1/prompts/{name}/-/versions", json=body)
        assert served_twice(client, name, label="latest").json()["version"] == 2

    def test_a_translation_written_then_approved(self, client: TestClient) -> None:
        name = make(client, "Hello {{ who }}")
        assert served_twice(client, name, locale="fr").json()["locale"] == "en"
        client.put(f"/v1/prompts/{name}/-/translations/fr", json={"template": "Salut {{ who }}"})
        assert served_twice(client, name, locale="fr", preview=True).json()["template"] == (
            "Salut {{ who }}"
        )
        assert served_twice(client, name, locale="fr").json()["locale"] == "en"
        client.post(f"/v1/prompts/{name}/-/translations/fr/review", json={"action": "approve"})
        assert served_twice(client, name, locale="fr").json()["template"] == "Salut {{ who }}"

    def test_a_components_label_move(self, client: TestClient) -> None:
        part = make(client, "formal", "casual")
        name = make(client, f'Hi. {{% include "{part}" %}}')
        assert served_twice(client, name).json()["components"][0]["version"] == 1
        client.put(f"/v1/prompts/{part}/-/labels/production", json={"version": 2})
        assert served_twice(client, name).json()["components"][0]["template"] == "casual"

    def test_an_experiment_started_on_the_label(self, client: TestClient) -> None:
        name = make(client, "one {{ who }}", "two {{ who }}")
        assert served_twice(client, name).json()["experiment_plan"] is None
        body = {"name": "try", "arms": [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}]}
        experiment = client.post(f"/v1/prompts/{name}/-/experiments", json=body).json()
        plan = served_twice(client, name).json()["experiment_plan"]
        assert plan is not None and plan["id"] == experiment["id"]
        client.post(f"/v1/experiments/{experiment['id']}/stop")
        assert served_twice(client, name).json()["experiment_plan"] is None

    def test_an_archive(self, client: TestClient) -> None:
        name = make(client, "one {{ who }}")
        served_twice(client, name)
        client.post(f"/v1/prompts/{name}/-/archive")
        assert resolve(client, name).status_code == 409

    def test_a_change_made_through_another_process(self, migrated_url: str) -> None:
        headers = bearer(admin_token(migrated_url))
        apps = [create_app(Settings(database_url=migrated_url)) for _ in range(2)]
        with (
            TestClient(apps[0], headers=headers) as one,
            TestClient(apps[1], headers=headers) as two,
        ):
            name = make(one, "one {{ who }}", "two {{ who }}")
            assert served_twice(two, name).json()["version"] == 1
            one.put(f"/v1/prompts/{name}/-/labels/production", json={"version": 2})
            assert resolve(two, name).json()["version"] == 2

    def test_a_change_written_straight_to_the_store(self, client: TestClient) -> None:
        # A translation reviewed by hand in the database: the triggers still see it.
        name = make(client, "Hello {{ who }}")
        client.put(f"/v1/prompts/{name}/-/translations/fr", json={"template": "Salut {{ who }}"})
        assert served_twice(client, name, locale="fr").json()["locale"] == "en"
        database = Database(create_engine(str(client.app.state.db.engine.url)))  # type: ignore[attr-defined]
        try:
            with database.session(write=True) as session:
                session.execute(
                    text("UPDATE translations SET status = 'approved', approved_texts = texts")
                )
        finally:
            database.dispose()
        assert resolve(client, name, locale="fr").json()["template"] == "Salut {{ who }}"


class TestRender:
    @pytest.fixture
    def uncached(self, migrated_url: str) -> Iterator[TestClient]:
        """The same registry served without kept answers."""
        app = create_app(Settings(database_url=migrated_url, answer_cache_bytes=0))
        with TestClient(app, headers=bearer(admin_token(migrated_url))) as test_client:
            yield test_client

    def render(self, client: TestClient, name: str, **body: Any) -> Any:
        headers = body.pop("headers", {})
        return client.post(f"/v1/prompts/{name}/-/render", json=body, headers=headers)

    def test_each_request_renders_its_own_values_into_the_kept_resolve(
        self, client: TestClient, uncached: TestClient
    ) -> None:
        part = make(client, "Be brief.")
        name = make(client, f'Hi {{{{ who }}}}. {{% include "{part}" %}}')
        french = f'Salut {{{{ who }}}}. {{% include "{part}" %}}'
        written = client.put(f"/v1/prompts/{name}/-/translations/fr", json={"template": french})
        assert written.status_code == 201, written.text
        client.post(f"/v1/prompts/{name}/-/translations/fr/review", json={"action": "approve"})
        assert self.render(client, name, variables={"who": "Ann"}).status_code == 200
        cache = cache_of(client)
        for who, locale in (("Bob", None), ("Éva", "fr-CA"), ("Cy", "fr-CA")):
            body: dict[str, Any] = {"variables": {"who": who}}
            if locale:
                body["locale"] = locale
            hits = cache.hits
            kept = self.render(client, name, **body)
            if locale != "fr-CA" or who == "Cy":
                assert cache.hits == hits + 1, who
            fresh = self.render(uncached, name, **body)
            assert kept.status_code == fresh.status_code == 200
            assert kept.content == fresh.content
            for header in ("content-type", "content-length", "content-language", "vary"):
                assert kept.headers[header] == fresh.headers[header], header
        assert kept.json()["text"] == "Salut Cy. Be brief."
        assert kept.json()["locale"] == "fr"

    def test_values_that_do_not_fit_get_the_apps_error(
        self, client: TestClient, uncached: TestClient
    ) -> None:
        name = make(client, "Hi {{ who }}")
        assert self.render(client, name, variables={"who": "Ann"}).status_code == 200
        for variables in ({}, {"who": 3}, {"who": "Ann", "extra": 1}):
            kept = self.render(client, name, variables=variables)
            fresh = self.render(uncached, name, variables=variables)
            assert kept.status_code == fresh.status_code == 422
            assert kept.json() == fresh.json()
        bad = client.post(f"/v1/prompts/{name}/-/render", content=b"{not json")
        assert bad.status_code == 422
        body = b'{"variables": {"who": "Ann"}}'
        for content_type, status in (
            ("text/plain", 422),
            ("application/merge-patch+json", 200),
            ("application/json; charset=utf-8", 200),
        ):
            for app in (client, uncached):
                answer = app.post(
                    f"/v1/prompts/{name}/-/render",
                    content=body,
                    headers={"Content-Type": content_type},
                )
                assert answer.status_code == status, (content_type, answer.text)
        unknown = self.render(client, name, variables={"who": "Ann"}, colour="red")
        assert unknown.status_code == 422
        assert self.render(client, name, variables={"who": "A"}, locale="xx-??").status_code == 422

    def test_a_body_over_the_limit_is_refused(self, migrated_url: str) -> None:
        app = create_app(Settings(database_url=migrated_url, max_body_bytes=2_000))
        with TestClient(app, headers=bearer(admin_token(migrated_url))) as small:
            name = make(small, "Hi {{ who }}")
            assert self.render(small, name, variables={"who": "Ann"}).status_code == 200
            assert self.render(small, name, variables={"who": "Ann"}).status_code == 200
            assert cache_of(small).hits == 1
            answer = self.render(small, name, variables={"who": "x" * 3_000})
            assert answer.status_code == 413

    def test_a_label_move_is_rendered_from_the_next_request(self, client: TestClient) -> None:
        name = make(client, "one {{ who }}", "two {{ who }}")
        for _ in range(2):
            assert self.render(client, name, variables={"who": "A"}).json()["text"] == "one A"
        client.put(f"/v1/prompts/{name}/-/labels/production", json={"version": 2})
        assert self.render(client, name, variables={"who": "B"}).json()["text"] == "two B"

    def test_a_subject_in_an_experiment_is_rendered_afresh(self, client: TestClient) -> None:
        name = make(client, "one {{ who }}", "two {{ who }}")
        assert self.render(client, name, variables={"who": "A"}).status_code == 200
        body = {"name": "try", "arms": [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}]}
        assert client.post(f"/v1/prompts/{name}/-/experiments", json=body).status_code == 201
        assert self.render(client, name, variables={"who": "A"}).status_code == 200
        cache = cache_of(client)
        hits = cache.hits
        served = self.render(client, name, variables={"who": "A"}, subject="user-9")
        assert served.json()["experiment"]["subject"] == "user-9"
        assert cache.hits == hits
        assert self.render(client, name, variables={"who": "A"}).json()["experiment"] is None
        assert cache.hits == hits + 1


class TestKeys:
    def key(self, client: TestClient, role: str = "reader", **extra: Any) -> dict[str, str]:
        body = {"owner": unique_name("answers-key"), "role": role, **extra}
        created = client.post("/v1/keys", json=body)
        assert created.status_code == 201, created.text
        return bearer(created.json()["token"])

    def test_a_revoked_key_is_refused_though_the_answer_is_kept(self, client: TestClient) -> None:
        name = make(client, "Hello {{ who }}")
        reader = self.key(client)
        served_twice(client, name, headers=reader)
        prefix = reader["Authorization"].removeprefix("Bearer ")[:13]
        assert client.delete(f"/v1/keys/{prefix}").status_code == 200
        refused = resolve(client, name, headers=reader)
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")

    def test_an_expired_key_is_refused(self, client: TestClient) -> None:
        name = make(client, "Hello {{ who }}")
        reader = self.key(client, expires_at=(utcnow() + timedelta(hours=1)).isoformat())
        served_twice(client, name, headers=reader)
        engine = client.app.state.db.engine  # type: ignore[attr-defined]
        with engine.begin() as conn:
            conn.execute(update(ApiKey).values(expires_at=utcnow() - timedelta(seconds=1)))
        assert resolve(client, name, headers=reader).status_code == 401

    def test_missing_or_malformed_keys_are_refused(self, client: TestClient) -> None:
        name = make(client, "Hello {{ who }}")
        served_twice(client, name)
        for authorization in ("", "Bearer", "Basic abc", "Bearer rk_nope", "Bearer rk_a_b"):
            answer = resolve(client, name, headers={"Authorization": authorization})
            assert answer.status_code == 401, authorization

    def test_every_role_reads_through_the_cache(self, client: TestClient) -> None:
        name = make(client, "Hello {{ who }}")
        for role, extra in (("translator", {"locales": ["fr", "de-AT"]}), ("editor", {})):
            assert served_twice(client, name, headers=self.key(client, role, **extra)).json()

    def test_a_key_limited_to_a_folder(self, client: TestClient) -> None:
        inside = make(client, "Hello {{ who }}", name=unique_name("answers/in/p"))
        outside = make(client, "Hello {{ who }}", name=unique_name("answers/out/p"))
        limited = self.key(client, folder="answers/in")
        assert served_twice(client, inside, headers=limited).status_code == 200
        served_twice(client, outside)
        refused = resolve(client, outside, headers=limited)
        assert refused.status_code == 403
        assert "answers/in/" in refused.json()["detail"]

    def test_a_kept_answer_with_a_component_outside_the_keys_folders(
        self, client: TestClient
    ) -> None:
        """Kept for a key that may read the component, it is never served to one that may not."""
        secret = make(client, "OUTSIDE-TEXT", name=unique_name("answers/out/secret"))
        name = make(
            client, f'{{% include "{secret}@production" %}} Hello', name=unique_name("answers/in/p")
        )
        limited = self.key(client, folders=["answers/in"])
        sharing = self.key(client, folders=["answers/in"], read_folders=["answers/out"])
        for path in ("resolve", "render"):
            request = {"method": "GET"} if path == "resolve" else {"method": "POST", "json": {}}
            url = f"/v1/prompts/{name}/-/{path}"
            for headers in ({}, sharing, {}, sharing):  # kept, then served from memory
                answer = client.request(url=url, headers=headers, **request)
                assert answer.status_code == 200 and "OUTSIDE-TEXT" in answer.text
            hits = cache_of(client).hits
            refused = client.request(url=url, headers=limited, **request)
            assert refused.status_code == 403, refused.text
            assert "OUTSIDE-TEXT" not in refused.text
            assert cache_of(client).hits == hits
        assert cache_of(client).hits >= 4

    def test_a_keys_use_is_still_recorded(self, client: TestClient) -> None:
        name = make(client, "Hello {{ who }}")
        reader = self.key(client)
        served_twice(client, name, headers=reader)
        engine = client.app.state.db.engine  # type: ignore[attr-defined]
        long_ago = utcnow() - timedelta(hours=1)
        prefix = reader["Authorization"].removeprefix("Bearer ")[:13]
        with engine.begin() as conn:
            conn.execute(update(ApiKey).values(last_used_at=long_ago))
        cache = cache_of(client)
        hits = cache.hits
        assert resolve(client, name, headers=reader).status_code == 200
        # Served from memory in a session of its own, which recorded the use.
        assert cache.hits == hits + 1
        with engine.connect() as conn:
            used = conn.execute(
                select(ApiKey.last_used_at).where(ApiKey.prefix == prefix)
            ).scalar_one()
        assert used is not None and used > long_ago


class TestBounds:
    @pytest.fixture
    def small(self, migrated_url: str) -> Iterator[TestClient]:
        app = create_app(Settings(database_url=migrated_url, answer_cache_bytes=4_000))
        with TestClient(app, headers=bearer(admin_token(migrated_url))) as test_client:
            yield test_client

    def test_answers_are_dropped_least_recently_used_first(self, small: TestClient) -> None:
        names = [make(small, f"Hello {n} {{{{ who }}}}") for n in range(6)]
        for name in names:
            resolve(small, name)
        cache = cache_of(small)
        assert 0 < len(cache) < len(names)
        assert cache.size <= 4_000
        hits = cache.hits
        resolve(small, names[-1])
        resolve(small, names[0])
        assert cache.hits == hits + 1

    def test_zero_bytes_turns_the_cache_off(self, migrated_url: str) -> None:
        app = create_app(Settings(database_url=migrated_url, answer_cache_bytes=0))
        with TestClient(app, headers=bearer(admin_token(migrated_url))) as off:
            name = make(off, "Hello {{ who }}")
            for _ in range(3):
                assert resolve(off, name).status_code == 200
            cache = cache_of(off)
            assert cache.hits == 0 and len(cache) == 0


class TestRevisions:
    """The store's triggers, whoever writes: what changes what a prompt serves bumps it."""

    def revision(self, session: Session, name: str) -> int:
        return session.scalar(select(Prompt.revision).where(Prompt.name == name)) or 0

    def test_what_changes_serving_bumps_the_revision(self, session: Session) -> None:
        name = make_prompt(session, labels=("production", "staging"))
        prompt_id = session.scalar(select(Prompt.id).where(Prompt.name == name))
        where = {"id": prompt_id}
        changes = [
            "UPDATE labels SET updated_by = 'someone' WHERE prompt_id = :id",
            "DELETE FROM labels WHERE prompt_id = :id AND name = 'staging'",
            "UPDATE prompts SET source_locale = 'de' WHERE id = :id",
            "UPDATE prompts SET latest_version = latest_version WHERE id = :id",
        ]
        for statement in changes:
            before = self.revision(session, name)
            session.execute(text(statement), where)
            after = self.revision(session, name)
            if "latest_version = latest_version" in statement:
                # PostgreSQL bumps only when a serving column's value changes.
                assert after >= before, statement
            else:
                assert after > before, statement
        before = self.revision(session, name)
        publish_version(session, name=name, template="again {{ who }}")
        assert self.revision(session, name) > before

    def test_other_columns_and_other_prompts_leave_it(self, session: Session) -> None:
        name = make_prompt(session)
        other = make_prompt(session)
        before = self.revision(session, name)
        session.execute(
            text("UPDATE prompts SET description = 'words' WHERE name = :name"), {"name": name}
        )
        publish_version(session, name=other, template="other {{ who }}")
        assert self.revision(session, name) == before


class TestReads:
    def test_only_a_sqlite_file_in_wal_mode_is_read_on_the_event_loop(
        self, migrated_url: str, store: str
    ) -> None:
        database = Database.from_url(migrated_url)
        try:
            assert database.reads_wait is (store != "sqlite")
            with database.reads() as reads:
                cursor = reads.dbapi_connection.cursor()
                if store == "sqlite":
                    cursor.execute("PRAGMA busy_timeout")
                    assert cursor.fetchone()[0] == 0
                else:
                    cursor.execute("SELECT 1")
                    # No transaction was opened, so none is left to roll back.
                    status = reads.dbapi_connection.info.transaction_status.name
                    assert status == "IDLE"
                cursor.close()
        finally:
            database.dispose()

    def test_a_locked_file_is_never_waited_for_on_the_event_loop(
        self, migrated_url: str, store: str
    ) -> None:
        if store != "sqlite":
            pytest.skip("SQLite's file locks")
        # No webhook worker: its reads would hold the file the lock below wants.
        settings = Settings(
            database_url=migrated_url, sqlite_busy_timeout_ms=100, webhooks_deliver=False
        )
        with TestClient(create_app(settings), headers=bearer(admin_token(migrated_url))) as app:
            name = make(app, "Hello {{ who }}")
            served_twice(app, name)
            cache = cache_of(app)
            hits = cache.hits
            # Closed, so that the lock below can be taken.
            database: Database = app.app.state.db  # type: ignore[attr-defined]
            database.dispose()
            path = migrated_url.removeprefix("sqlite:///")
            locker = sqlite3.connect(path, isolation_level=None)
            try:
                # Exclusive locking mode: readers of a WAL database are shut out too.
                locker.execute("PRAGMA locking_mode = EXCLUSIVE")
                locker.execute("BEGIN EXCLUSIVE")
                locker.execute("UPDATE prompts SET description = 'locked'")
                refused = resolve(app, name)
                assert refused.status_code == 503, refused.text
                assert cache.hits == hits
            finally:
                locker.rollback()
                locker.close()
            assert resolve(app, name).status_code == 200

    def test_a_file_locked_before_the_first_read_is_asked_again_later(
        self, migrated_url: str, store: str
    ) -> None:
        if store != "sqlite":
            pytest.skip("SQLite's file locks")
        database = Database.from_url(migrated_url)
        locker = sqlite3.connect(migrated_url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            locker.execute("PRAGMA locking_mode = EXCLUSIVE")
            locker.execute("BEGIN EXCLUSIVE")
            locker.execute("UPDATE prompts SET description = 'locked'")
            assert database.reads_wait
        finally:
            locker.rollback()
            locker.close()
        try:
            assert not database.reads_wait
        finally:
            database.dispose()

    def test_a_read_connection_the_server_dropped_is_replaced(self, client: TestClient) -> None:
        database: Database = client.app.state.db  # type: ignore[attr-defined]
        if not database.reads_wait:
            pytest.skip("a SQLite file's reads run on the event loop, with no server to drop")
        name = make(client, "Hello {{ who }}")
        served_twice(client, name)
        with database.reads() as reads:
            cursor = reads.dbapi_connection.cursor()
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
            cursor.close()
        with database.engine.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        cache = cache_of(client)
        hits = cache.hits
        answered = resolve(client, name)
        assert answered.status_code == 200 and answered.json()["version"] == 1
        assert cache.hits == hits + 1  # from memory, checked in the request's session
        served_twice(client, name)  # and the next read has a working connection


class TestSameAnswers:
    """A kept resolution is answered exactly as the same registry answers without any."""

    @pytest.fixture
    def uncached(self, migrated_url: str) -> Iterator[TestClient]:
        app = create_app(Settings(database_url=migrated_url, answer_cache_bytes=0))
        with TestClient(app, headers=bearer(admin_token(migrated_url))) as test_client:
            yield test_client

    def library(self, client: TestClient) -> tuple[str, str]:
        """A prompt including a component, both translated into French, the prompt with a
        second version on `staging` and a draft German translation."""
        component = make(client, "Be kind.", name=unique_name("answers/c"))
        name = make(client, f'Hello {{{{ who }}}}. {{% include "{component}" %}}')
        french = {
            component: "Sois gentil.",
            name: f'Salut {{{{ who }}}}. {{% include "{component}" %}}',
        }
        for prompt, template in french.items():
            body = {"template": template}
            written = client.put(f"/v1/prompts/{prompt}/-/translations/fr", json=body)
            assert written.status_code in (200, 201), written.text
            review = {"action": "approve"}
            approved = client.post(f"/v1/prompts/{prompt}/-/translations/fr/review", json=review)
            assert approved.status_code == 200, approved.text
        german = {"template": f'Hallo {{{{ who }}}}. {{% include "{component}" %}}'}
        assert client.put(f"/v1/prompts/{name}/-/translations/de", json=german).status_code in (
            200,
            201,
        )
        body = {"template": f'Bye {{{{ who }}}}. {{% include "{component}" %}}'}
        body["variables"] = [{"name": "who"}]  # type: ignore[assignment]
        assert client.post(f"/v1/prompts/{name}/-/versions", json=body).status_code == 201
        assert client.put(f"/v1/prompts/{name}/-/labels/staging", json={"version": 2}).status_code
        return name, component

    def same(self, answer: Any, expected: Any) -> None:
        assert answer.status_code == expected.status_code, answer.text
        assert answer.content == expected.content
        names = {k for k, _ in answer.headers.multi_items()} | {
            k for k, _ in expected.headers.multi_items()
        }
        for header in names - {"date", "server"}:
            assert answer.headers.get_list(header) == expected.headers.get_list(header), header

    def test_resolves(self, client: TestClient, uncached: TestClient) -> None:
        name, _ = self.library(client)
        asked: list[dict[str, Any]] = [
            {},
            {"label": "production", "locale": "fr"},
            {"locale": "fr-CA"},
            {"headers": {"Accept-Language": "de-AT, fr;q=0.5"}},
            {"locale": "de", "preview": "true"},
            {"locale": "de", "allow_stale": "false", "preview": "false"},
            {"label": "staging", "locale": "ja"},
            {"label": "latest"},
            {"version": 1, "locale": "fr"},
            {"version": "01"},  # read as 1
            {"allow_stale": "1"},  # read as true
            {"subject": "user-1"},  # no experiment: the label's version
            {"unknown": "1"},  # ignored
        ]
        cache = cache_of(client)
        for params in asked:
            answer = resolve(client, name, **dict(params))
            self.same(answer, resolve(uncached, name, **dict(params)))
            # And then kept: the same request again is answered from memory.
            hits = cache.hits
            again = resolve(client, name, **dict(params))
            assert cache.hits == hits + 1, params
            self.same(again, answer)
        # A pinned version with nothing to localize never changes: the app says so.
        pinned = make(client, "Hello {{ who }}")
        answer = resolve(client, pinned, version=1)
        self.same(answer, resolve(uncached, pinned, version=1))
        assert answer.headers["cache-control"].endswith("immutable")
        repeated = client.get(f"/v1/prompts/{name}/-/resolve?label=staging&label=production")
        assert repeated.status_code == 200
        assert repeated.json()["version"] == 1  # the last one is read

    def test_a_revalidation_gets_its_304(self, client: TestClient, uncached: TestClient) -> None:
        name, _ = self.library(client)
        etag = resolve(uncached, name, locale="fr").headers["etag"]
        conditional = {"headers": {"If-None-Match": etag}, "locale": "fr"}
        for _ in range(2):  # computed, then kept
            answer = resolve(client, name, **conditional)
            self.same(answer, resolve(uncached, name, **conditional))
            assert answer.status_code == 304

    def test_refusals(self, client: TestClient, uncached: TestClient) -> None:
        name, _ = self.library(client)
        archived = make(client, "Old {{ who }}")
        assert client.post(f"/v1/prompts/{archived}/-/archive").status_code == 200
        cache = cache_of_after(client, name)
        asked: list[tuple[str, dict[str, Any], int]] = [
            ("answers/missing", {}, 404),
            (name, {"label": "nope"}, 404),
            (archived, {}, 409),
            (name, {"label": "Bad!"}, 422),
            (name, {"version": 0}, 422),
            (name, {"version": "x"}, 422),
            (name, {"label": "staging", "version": 1}, 422),
            (name, {"locale": "not a locale!"}, 422),
            (name, {"preview": "maybe"}, 422),
            (name, {"subject": ""}, 422),
            (name, {"headers": {"Accept-Language": "x" * 1001}}, 422),
            (name, {"headers": {"Authorization": "Bearer rk_nope"}}, 401),
        ]
        for prompt, params, status in asked:
            hits = cache.hits
            for _ in range(2):
                answer = resolve(client, prompt, **dict(params))
                assert answer.status_code == status, (prompt, params, answer.text)
                assert cache.hits == hits, (prompt, params)
                self.same(answer, resolve(uncached, prompt, **dict(params)))

    def test_a_parameters_refusal_names_it_as_for_every_route(self, client: TestClient) -> None:
        name, _ = self.library(client)
        refused = resolve(client, name, label="Bad!", version="x")
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("application/problem+json")
        located = {tuple(error["loc"]) for error in refused.json()["errors"]}
        assert located == {("query", "label"), ("query", "version")}
        header = resolve(client, name, headers={"Accept-Language": "x" * 1001})
        assert {tuple(e["loc"]) for e in header.json()["errors"]} == {("header", "accept-language")}
        # The same shape as a parameter FastAPI reads (GET /v1/prompts?limit=0).
        listed = client.get("/v1/prompts", params={"limit": 0}).json()["errors"][0]
        label = next(e for e in refused.json()["errors"] if e["loc"][-1] == "label")
        assert listed.keys() == label.keys()

    def test_a_key_due_to_be_recorded_is_served_in_a_session(self, client: TestClient) -> None:
        name, _ = self.library(client)
        reader = TestKeys().key(client)
        cache = cache_of_after(client, name, headers=reader)  # records the key's first use
        engine = client.app.state.db.engine  # type: ignore[attr-defined]
        long_ago = utcnow() - timedelta(hours=1)
        with engine.begin() as conn:
            conn.execute(update(ApiKey).values(last_used_at=long_ago))
        hits = cache.hits
        assert resolve(client, name, headers=reader).status_code == 200
        assert cache.hits == hits + 1
        prefix = reader["Authorization"].removeprefix("Bearer ")[:13]
        with engine.connect() as conn:
            used = conn.execute(
                select(ApiKey.last_used_at).where(ApiKey.prefix == prefix)
            ).scalar_one()
        assert used > long_ago

    def test_renders(self, client: TestClient, uncached: TestClient) -> None:
        name, _ = self.library(client)
        url = f"/v1/prompts/{name}/-/render"
        cache = cache_of(client)
        asked: list[dict[str, Any]] = [
            {"variables": {"who": "Ann"}},
            {"variables": {"who": "Bob"}, "locale": "fr-CA"},
            {"variables": {"who": "Cy"}, "label": "staging", "locale": "de"},
            {"variables": {"who": "Di"}, "version": 1, "locale": "de", "preview": True},
        ]
        for body in asked:
            self.same(client.post(url, json=body), uncached.post(url, json=body))
            hits = cache.hits
            self.same(client.post(url, json=body), uncached.post(url, json=body))
            assert cache.hits == hits + 1, body
        refused: list[tuple[str, dict[str, Any]]] = [
            (name, {"variables": {"who": 3}, "locale": "es"}),  # 422: the value's type
            (name, {"variables": {}, "locale": "it"}),  # 422: a value missing
            (name, {"variables": {"who": "Ann"}, "label": "nope"}),  # 404
            ("answers/missing", {"variables": {"who": "Ann"}}),  # 404
            ("Not/A/Name", {"variables": {"who": "Ann"}}),  # 422 from the framework
        ]
        for prompt, body in refused:
            url = f"/v1/prompts/{prompt}/-/render"
            self.same(client.post(url, json=body), uncached.post(url, json=body))
