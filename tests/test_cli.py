"""The `registry` command: migrations and the demo seed against a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from registry.cli import app
from registry.config import get_settings


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("REGISTRY_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_db_upgrade_and_seed(sqlite_url: str) -> None:
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


def test_translations_export_and_import(sqlite_url: str, tmp_path: Path) -> None:
    from registry.i18n import po

    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["seed-demo"]).exit_code == 0
    target = tmp_path / "it.po"
    result = runner.invoke(
        app, ["translations", "export", "--locale", "it", "--prefix", "support", "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    parsed = po.read_po(target.read_bytes())
    greeting = next(e for e in parsed.entries if e.context.startswith("support/greeting@"))
    entries = [
        po.PoEntry(
            context=e.context,
            source=e.source,
            translation=(
                '{% include "shared/tone-of-voice@production" %}\n'
                "Saluta {{ customer_name }} e chiedi come puoi aiutare oggi."
                "{% if open_tickets > 0 %} Ricorda che ha {{ open_tickets }} "
                "ticket aperti.{% endif %}"
            )
            if e is greeting
            else e.translation,
            fuzzy=e.fuzzy,
            previous_source=e.previous_source,
        )
        for e in parsed.entries
    ]
    assert parsed.registry_id is not None
    target.write_bytes(po.write_po(entries, locale="it", registry_id=parsed.registry_id))
    result = runner.invoke(app, ["translations", "import", str(target), "--author", "lucia"])
    assert result.exit_code == 0, result.output
    assert "1 updated" in result.output
    queue = runner.invoke(app, ["translations", "queue", "--locale", "it", "--prefix", "support"])
    assert "in_review" in queue.output

    bad = tmp_path / "bad.po"
    bad.write_text("not a po file at all\n")
    result = runner.invoke(app, ["translations", "import", str(bad), "--locale", "it"])
    assert result.exit_code == 1
