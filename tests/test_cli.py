"""The `registry` server commands: migrations and the demo seed against a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from registry.cli import app
from registry.config import get_settings


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
