"""Backup and restore: a registry exported and imported answers exactly like the original.

The source is the demo library plus history of every kind (label moves, translation
reviews, a stored style guide and bindings, an archived prompt). Each registry lives in
its own committed database; every answer goes through the real app.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from registry import migrate
from registry.app import create_app
from registry.backup import dumps, export_registry, import_registry, snapshot
from registry.cli import app as cli
from registry.config import Settings, get_settings
from registry.db import Database
from registry.demo import seed_demo
from registry.errors import Conflict, InvalidInput
from registry.prompts.models import Prompt
from registry.translations.models import RegistryInfo

from conftest import POSTGRES_URL, admin_token, bearer, fresh_database

HOUSE = """
name: house
description: House style.
extends: default
rules:
  house.product:
    kind: substitution
    level: error
    swap: {acme cloud: Acme Cloud}
"""
LABELS = ("production", "latest")
LOCALES = ("en", "fr", "fr-CA", "de", "es", "ja", "it")
VARIANTS: tuple[dict[str, str], ...] = (
    {},
    {"allow_stale": "true"},
    {"preview": "true"},
    {"allow_stale": "true", "preview": "true"},
)


@contextmanager
def new_registry(store: str, tmp_path: Path) -> Iterator[str]:
    """An empty registry, migrated to head, on ``store``."""
    with fresh_database(store, tmp_path) as url:
        migrate.upgrade(url)
        yield url


@contextmanager
def api(url: str) -> Iterator[TestClient]:
    headers = bearer(admin_token(url))
    with TestClient(create_app(Settings(database_url=url)), headers=headers) as client:
        yield client


@contextmanager
def database(url: str) -> Iterator[Database]:
    db = Database.from_url(url)
    try:
        yield db
    finally:
        db.dispose()


def ok(response: Any) -> Any:
    assert response.status_code < 300, response.text
    return response.json()


def add_history(client: TestClient) -> None:
    """Every kind of row the demo seed does not write."""

    def key(**body: Any) -> dict[str, str]:
        return bearer(ok(client.post("/v1/keys", json=body))["token"])

    alice = key(owner="alice", role="admin")
    marie = key(owner="marie", role="translator", locales=["fr"])
    ok(client.put("/v1/label-policies/support/", json={"protected": ["production", "staging"]}))
    ok(client.put("/v1/style-guides/house", json={"source": HOUSE}, headers=alice))
    ok(
        client.put(
            "/v1/style-guides/house",
            json={"source": HOUSE.replace("House style.", "House style, v2."), "message": "v2"},
            headers=alice,
        )
    )
    ok(client.put("/v1/style-bindings/support", json={"guide": "house"}))
    ok(client.put("/v1/style-bindings/summarize", json={"guide": "default"}))

    # A second version under the house guide, then a release and a rollback.
    base = "/v1/prompts/support/greeting"
    first = ok(client.get(f"{base}/-/versions/1"))
    body = {
        "template": first["template"] + " Thank you for your patience.",
        "variables": first["variables"],
        "config": first["config"],
        "message": "thank the customer",
    }
    assert ok(client.post(f"{base}/-/versions", json=body))["number"] == 2
    ok(client.put(f"{base}/-/labels/staging", json={"version": 2}))
    ok(client.put(f"{base}/-/labels/production", json={"version": 2, "reason": "release"}))
    ok(client.put(f"{base}/-/labels/production", json={"version": 1, "reason": "rollback"}))

    # Reviews: one rejected, one reopened as a draft (its approved text stays live).
    ticket = "/v1/prompts/classify/support-ticket/-/translations"
    fr = ok(client.get(f"{ticket}/fr"))
    submit = {"template": fr["template"], "status": "in_review", "note": "please check"}
    ok(client.put(f"{ticket}/fr", json=submit, headers=marie))
    ok(client.post(f"{ticket}/fr/review", json={"action": "reject", "note": "tone"}))
    de = ok(client.get(f"{ticket}/de"))
    ok(client.put(f"{ticket}/de", json={"template": de["template"] + " ", "status": "draft"}))

    ok(client.post("/v1/prompts/sentiment/few-shot/-/archive"))
    ok(client.patch("/v1/prompts/shared/tone-of-voice", json={"tags": ["shared", "voice"]}))


@pytest.fixture
def source(store: str, tmp_path: Path) -> Iterator[str]:
    """A registry with the demo library and extra history, committed."""
    with new_registry(store, tmp_path) as url:
        fill(url)
        yield url


def fill(url: str) -> None:
    with database(url) as db, db.session() as session:
        assert seed_demo(session)
    with api(url) as client:
        add_history(client)


def export(url: str) -> dict[str, Any]:
    with database(url) as db, db.session(write=False) as session:
        snapshot(session)
        return export_registry(session)


def restore(url: str, data: Any) -> None:
    with database(url) as db, db.session() as session:
        import_registry(session, data)


def unstamped(data: dict[str, Any]) -> str:
    return dumps({**data, "exported_at": None})


def restored(copy: dict[str, Any], source: dict[str, Any]) -> str:
    """The export of a registry restored from ``source``, with only the audit events the
    restore brought: the target's own (its first key) come before them, and the restore
    records itself last."""
    events = copy["audit_events"]
    brought = len(source["audit_events"])
    assert events[-1]["action"] == "registry.import", events[-1]
    return unstamped({**copy, "audit_events": events[len(events) - 1 - brought : -1]})


def contents(url: str) -> tuple[int, str]:
    """Prompts stored and the registry id: what a refused import must leave alone."""
    with database(url) as db, db.session(write=False) as session:
        count = session.scalar(select(func.count()).select_from(Prompt)) or 0
        return count, session.scalars(select(RegistryInfo.id)).one()


Answers = dict[tuple[Any, ...], tuple[int, Any, str | None, str | None]]


def answers(url: str, data: dict[str, Any]) -> Answers:
    """Every resolve a client can ask of the registry, answered by the real app."""
    queries: list[dict[str, Any]] = []
    for prompt in data["prompts"]:
        for label in LABELS:
            queries.append({"name": prompt["name"], "label": label})
    for version in data["versions"]:
        queries.append({"name": version["prompt"], "version": version["number"]})
    found: Answers = {}
    with api(url) as client:
        for query in queries:
            for locale in LOCALES:
                for variant in VARIANTS:
                    params = {k: v for k, v in query.items() if k != "name"}
                    params |= {"locale": locale, **variant}
                    response = client.get(f"/v1/prompts/{query['name']}/-/resolve", params=params)
                    key = (query["name"], *sorted(params.items()))
                    found[key] = (
                        response.status_code,
                        response.json(),
                        response.headers.get("etag"),
                        response.headers.get("content-language"),
                    )
    return found


class TestExport:
    def test_holds_every_kind_of_history(self, source: str) -> None:
        data = export(source)
        assert (data["format"], data["format_version"]) == ("prompt-registry-backup", 1)
        assert data["registry"]["id"] == contents(source)[1]
        moves = [
            (e["from_version"], e["to_version"], e["reason"])
            for e in data["label_events"]
            if (e["prompt"], e["label"]) == ("support/greeting", "production")
        ]
        assert moves == [(None, 1, "launch"), (1, 2, "release"), (2, 1, "rollback")]
        by_locale = {
            t["locale"]: t for t in data["translations"] if t["prompt"] == "classify/support-ticket"
        }
        assert [r["status"] for r in by_locale["fr"]["revisions"]][-2:] == [
            "in_review",
            "rejected",
        ]
        assert by_locale["de"]["status"] == "draft"
        assert by_locale["de"]["approved_texts"] is not None
        assert [len(g["versions"]) for g in data["style_guides"]] == [2]
        assert {b["folder"]: b["guide"] for b in data["style_bindings"]} == {
            "support": "house",
            "summarize": "default",
        }
        report = next(
            r
            for r in data["style_reports"]
            if (r["prompt"], r["version"]) == ("support/greeting", 2)
        )
        assert (report["guide"], report["guide_version"]) == ("house", 2)
        archived = {p["name"] for p in data["prompts"] if p["archived_at"]}
        assert archived == {"sentiment/few-shot"}
        assert [(p["path"], p["protected"]) for p in data["label_policies"]] == [
            ("support/", ["production", "staging"])
        ]
        actions = [(e["action"], e["actor"]) for e in data["audit_events"]]
        assert ("style_guide.publish", "alice") in actions
        assert ("translation.submit", "marie") in actions
        assert ("prompt.archive", "admin") in actions
        assert all("token" not in json.dumps(e) for e in data["audit_events"])
        assert "api_keys" not in data
        (experiment,) = data["experiments"]
        assert (experiment["prompt"], experiment["status"]) == ("summarize/article", "stopped")
        assert [a["version"] for a in experiment["arms"]] == [1, 2]
        exposed = {e["subject"] for e in experiment["exposures"]}
        assert {f["subject"] for f in experiment["feedback"]} <= exposed
        assert len(experiment["feedback"]) > 100

    def test_a_second_export_is_identical_apart_from_exported_at(self, source: str) -> None:
        first, second = export(source), export(source)
        assert first["exported_at"] != second["exported_at"]
        assert unstamped(first) == unstamped(second)


class TestRestore:
    def test_on_the_same_store_every_resolve_answers_the_same(
        self, source: str, store: str, tmp_path: Path
    ) -> None:
        data = export(source)
        with new_registry(store, tmp_path) as copy_url:
            restore(copy_url, json.loads(dumps(data)))
            assert restored(export(copy_url), data) == unstamped(data)
            original, answered = answers(source, data), answers(copy_url, data)
        assert answered == original
        statuses = {status for status, *_ in original.values()}
        assert statuses == {200, 409}  # served, and the archived prompt's labels refused
        served = {body["locale_match"] for status, body, *_ in original.values() if status == 200}
        assert served == {"exact", "fallback", "source"}

    @pytest.mark.skipif(not POSTGRES_URL, reason="REGISTRY_TEST_DATABASE_URL is not set")
    def test_sqlite_to_postgresql_and_back(self, tmp_path: Path) -> None:
        with (
            new_registry("sqlite", tmp_path) as sqlite_url,
            new_registry("postgresql", tmp_path) as postgres_url,
            new_registry("sqlite", tmp_path) as back_url,
        ):
            fill(sqlite_url)
            data = export(sqlite_url)
            restore(postgres_url, data)
            on_postgres = export(postgres_url)
            restore(back_url, on_postgres)
            assert restored(on_postgres, data) == unstamped(data)
            assert restored(export(back_url), on_postgres) == unstamped(on_postgres)
            original = answers(sqlite_url, data)
            assert answers(postgres_url, data) == original
            assert answers(back_url, data) == original


def _wrong_format_version(data: dict[str, Any]) -> None:
    data["format_version"] = 2


def _missing_field(data: dict[str, Any]) -> None:
    del data["versions"][0]["content_hash"]


def _unknown_prompt(data: dict[str, Any]) -> None:
    data["versions"][-1]["prompt"] = "nowhere/to-be-found"


def _missing_section(data: dict[str, Any]) -> None:
    del data["labels"]


def _gap_in_versions(data: dict[str, Any]) -> None:
    data["versions"] = [
        v for v in data["versions"] if (v["prompt"], v["number"]) != ("support/greeting", 2)
    ]


CORRUPTIONS: list[tuple[Callable[[dict[str, Any]], None], str, str]] = [
    (_wrong_format_version, "format_version", "version 2 is not supported"),
    (_missing_field, "versions.0.content_hash", "Field required"),
    (_unknown_prompt, "prompt", "no prompt 'nowhere/to-be-found'"),
    (_missing_section, "labels", "Field required"),
    (_gap_in_versions, "latest_version", "from 1 to 2 without gaps"),
]


class TestRefusals:
    def test_a_registry_that_is_not_empty_is_left_as_it_was(self, source: str) -> None:
        before = export(source)
        with pytest.raises(Conflict) as refused:
            restore(source, before)
        assert "not empty" in refused.value.detail
        assert unstamped(export(source)) == unstamped(before)

    @pytest.mark.parametrize(
        ("corrupt", "where", "says"), CORRUPTIONS, ids=[c[0].__name__[1:] for c in CORRUPTIONS]
    )
    def test_a_corrupted_file_is_refused_naming_the_problem(
        self,
        source: str,
        store: str,
        tmp_path: Path,
        corrupt: Callable[[dict[str, Any]], None],
        where: str,
        says: str,
    ) -> None:
        data = copy.deepcopy(export(source))
        corrupt(data)
        with new_registry(store, tmp_path) as target:
            before = contents(target)
            with pytest.raises(InvalidInput) as refused:
                restore(target, data)
            problems = [(".".join(map(str, e.loc)), e.message) for e in refused.value.errors]
            assert any(where in loc and says in message for loc, message in problems), problems
            assert says in refused.value.detail
            assert contents(target) == before == (0, before[1])

    def test_a_failure_while_writing_leaves_the_database_empty(
        self, source: str, store: str, tmp_path: Path
    ) -> None:
        data = export(source)

        def fail_midway(table: str, _count: int) -> None:
            if table == "translations":
                raise RuntimeError("disk full")

        with new_registry(store, tmp_path) as target:
            before = contents(target)
            with (
                pytest.raises(RuntimeError),
                database(target) as db,
                db.session() as session,
            ):
                import_registry(session, data, progress=fail_midway)
            assert contents(target) == before


class TestApi:
    def test_export_download_then_import_into_an_empty_registry(
        self, source: str, store: str, tmp_path: Path
    ) -> None:
        with api(source) as client:
            response = client.get("/v1/admin/export")
        assert response.status_code == 200
        assert response.headers["content-disposition"].startswith("attachment; filename=")
        data = response.json()
        assert unstamped(data) == unstamped(export(source))
        with new_registry(store, tmp_path) as target, api(target) as client:
            summary = ok(client.post("/v1/admin/import", json=data))
            assert (summary["prompts"], summary["versions"]) == (
                len(data["prompts"]),
                len(data["versions"]),
            )
            again = client.post("/v1/admin/import", json=data)
            assert again.status_code == 409
            assert again.headers["content-type"] == "application/problem+json"
            assert [e["loc"] for e in again.json()["errors"]] == [
                ["prompts"],
                ["style_guides"],
                ["style_bindings"],
                ["label_policies"],
            ]

    def test_a_corrupted_file_is_a_422_naming_the_problem(
        self, source: str, store: str, tmp_path: Path
    ) -> None:
        data = export(source)
        _unknown_prompt(data)
        with new_registry(store, tmp_path) as target, api(target) as client:
            response = client.post("/v1/admin/import", json=data)
            assert response.status_code == 422
            assert "no prompt 'nowhere/to-be-found'" in response.json()["detail"]
            assert client.get("/v1/prompts").json()["items"] == []


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Point the CLI's server commands at a database."""

    def use(url: str) -> None:
        monkeypatch.setenv("REGISTRY_DATABASE_URL", url)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


class TestCli:
    def test_export_then_import(
        self, source: str, store: str, tmp_path: Path, configured: Callable[[str], None]
    ) -> None:
        runner = CliRunner()
        file = tmp_path / "registry.json"
        configured(source)
        result = runner.invoke(cli, ["export", "--out", str(file)])
        assert result.exit_code == 0, result.output
        assert "exported 9 prompts" in result.output
        data = json.loads(file.read_text(encoding="utf-8"))
        with new_registry(store, tmp_path) as target:
            configured(target)
            result = runner.invoke(cli, ["import", str(file)])
            assert result.exit_code == 0, result.output
            assert "restored registry" in result.output
            assert restored(export(target), data) == unstamped(data)
            again = runner.invoke(cli, ["import", str(file)])
        assert again.exit_code == 1
        assert again.output.startswith("error: the registry is not empty")

    def test_a_broken_file_is_one_line_and_exit_1(
        self, store: str, tmp_path: Path, configured: Callable[[str], None]
    ) -> None:
        runner = CliRunner()
        broken = tmp_path / "broken.json"
        broken.write_text('{"format": "prompt-registry-backup",', encoding="utf-8")
        old = tmp_path / "old.json"
        old.write_text('{"format": "prompt-registry-backup", "format_version": 2}')
        with new_registry(store, tmp_path) as target:
            configured(target)
            for file, says in [
                (broken, "broken.json: "),
                (old, "backup format version 2 is not supported"),
                (tmp_path / "missing.json", "No such file or directory"),
            ]:
                result = runner.invoke(cli, ["import", str(file)])
                assert result.exit_code == 1
                first_line = result.output.splitlines()[0]
                assert first_line.startswith("error: ") and says in result.output, result.output
            assert contents(target)[0] == 0
