"""`registry keys` against a real SQLite file: the bootstrap key, listing and revoking."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from registry import migrate
from registry.app import create_app
from registry.cli import app
from registry.config import Settings, get_settings


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    monkeypatch.setenv("REGISTRY_DATABASE_URL", url)
    get_settings.cache_clear()
    migrate.upgrade(url)
    yield url
    get_settings.cache_clear()


def status(url: str, token: str) -> int:
    with TestClient(create_app(Settings(database_url=url))) as client:
        response = client.get("/v1/prompts", headers={"Authorization": f"Bearer {token}"})
        return response.status_code


def test_the_first_admin_key_comes_from_the_command_line(sqlite_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["keys", "create", "--role", "admin", "--owner", "ops"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("rk_")
    assert status(sqlite_url, token) == 200

    listed = json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)
    assert [(k["owner"], k["role"]) for k in listed] == [("ops", "admin")]
    assert token.startswith(listed[0]["prefix"] + "_")
    assert "token" not in listed[0]

    revoked = runner.invoke(app, ["keys", "revoke", listed[0]["prefix"]])
    assert revoked.exit_code == 0, revoked.output
    assert status(sqlite_url, token) == 401
    assert runner.invoke(app, ["keys", "list", "--json"]).stdout.strip() == "[]"


def test_translator_keys_name_their_locales_and_expiry_is_checked(sqlite_url: str) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["keys", "create", "--role", "translator", "--owner", "lu"])
    assert missing.exit_code == 1
    assert "needs the locales" in missing.output
    made = runner.invoke(
        app,
        [
            "keys",
            "create",
            "--role=translator",
            "--owner=lu",
            "--locale=fr",
            "--locale=de-AT",
            "--expires-in=30d",
            "--json",
        ],
    )
    assert made.exit_code == 0, made.output
    key = json.loads(made.stdout)
    assert key["locales"] == ["de_AT", "fr"] and key["expires_at"]
    bad = runner.invoke(app, ["keys", "create", "--role=reader", "--expires-in=soon"])
    assert bad.exit_code == 1 and "--expires-in" in bad.output
    unknown = runner.invoke(app, ["keys", "revoke", "rk_nope"])
    assert unknown.exit_code == 1 and "no key" in unknown.output


def test_seeding_the_demo_prints_one_working_admin_key(sqlite_url: str) -> None:
    runner = CliRunner()
    seeded = runner.invoke(app, ["seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    tokens = [word for word in seeded.stdout.split() if word.startswith("rk_")]
    assert len(tokens) == 1
    assert status(sqlite_url, tokens[0]) == 200
    again = runner.invoke(app, ["seed-demo"])
    assert "rk_" not in again.stdout
