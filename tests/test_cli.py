"""The `registry` server commands: migrations and the demo seed against a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from registry import migrate
from registry.cli import app
from registry.config import get_settings

from conftest import fresh_database


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("REGISTRY_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_db_upgrade_current_seed_and_downgrade(sqlite_url: str) -> None:
    runner = CliRunner()
    assert "needs upgrade" in runner.invoke(app, ["db", "current"]).output
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "up to date" in runner.invoke(app, ["db", "current"]).output
    engine = create_engine(sqlite_url)
    assert "prompt_versions" in inspect(engine).get_table_names()
    result = runner.invoke(app, ["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "seeded" in result.output
    again = runner.invoke(app, ["seed-demo"])
    assert "not empty" in again.output
    result = runner.invoke(app, ["db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    assert "prompt_versions" not in inspect(engine).get_table_names()
    engine.dispose()


class TestWithoutAMigratedDatabase:
    """Commands that open the database say which one and what to run, in one line,
    and create nothing: no file, no table."""

    COMMANDS = (
        ["keys", "create", "--role", "admin"],
        ["keys", "list"],
        ["keys", "revoke", "rk_x"],
        ["seed-demo"],
        ["export", "--out", "backup.json"],
    )

    @pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
    def test_no_sqlite_file(
        self, sqlite_url: str, tmp_path: Path, command: list[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 1
        assert result.exception is None or isinstance(result.exception, SystemExit)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert str(tmp_path / "cli.db") in lines[0]
        assert "registry db upgrade" in lines[0]
        assert list(tmp_path.iterdir()) == []

    def test_db_current_reports_a_missing_file_without_making_it(
        self, sqlite_url: str, tmp_path: Path
    ) -> None:
        result = CliRunner().invoke(app, ["db", "current"])
        assert result.exit_code == 0, result.output
        assert "no database at" in result.output and "needs upgrade" in result.output
        assert not (tmp_path / "cli.db").exists()

    def test_db_downgrade_of_a_missing_file_makes_none(
        self, sqlite_url: str, tmp_path: Path
    ) -> None:
        result = CliRunner().invoke(app, ["db", "downgrade", "base"])
        assert result.exit_code == 1
        assert "nothing to downgrade" in result.stderr
        assert not (tmp_path / "cli.db").exists()

    def test_a_database_without_tables(
        self, store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with fresh_database(store, tmp_path) as url:
            if store == "sqlite":
                Path(make_url(url).database or "").touch()
            monkeypatch.setenv("REGISTRY_DATABASE_URL", url)
            get_settings.cache_clear()
            try:
                result = CliRunner().invoke(app, ["keys", "create", "--role", "admin"])
            finally:
                get_settings.cache_clear()
            assert result.exit_code == 1
            assert result.stderr.count("\n") == 1, result.stderr
            assert "has no registry tables yet: run `registry db upgrade`" in result.stderr
            engine = create_engine(url)
            try:
                assert inspect(engine).get_table_names() == []
            finally:
                engine.dispose()

    def test_a_database_behind_the_code(self, sqlite_url: str) -> None:
        migrate.upgrade(sqlite_url, "0001_initial_schema")
        result = CliRunner().invoke(app, ["keys", "list"])
        assert result.exit_code == 1
        assert "is at schema 0001_initial_schema" in result.stderr
        assert "run `registry db upgrade`" in result.stderr

    def test_a_server_that_does_not_answer(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
        monkeypatch.setenv(
            "REGISTRY_DATABASE_URL", "postgresql+psycopg://registry:secret@127.0.0.1:9/registry"
        )
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(app, ["keys", "list"])
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 1
        assert result.stderr.count("\n") == 1, result.stderr
        assert "cannot open the database postgresql+psycopg://registry:***@127.0.0.1:9" in (
            result.stderr
        )
        assert "secret" not in result.stderr
