"""The schema comes only from the migrations, and they agree with the models."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect

from registry import migrate

from conftest import fresh_database

TABLES = {"prompts", "prompt_tags", "prompt_versions", "labels", "label_events"}


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_models_match_migrations(database_url: str) -> None:
    # Raises if autogenerate would find any difference between models and schema.
    command.check(migrate.alembic_config(database_url))


def test_downgrade_to_base_and_upgrade_to_head(store: str, tmp_path: Path) -> None:
    with fresh_database(store, tmp_path) as url:
        migrate.upgrade(url)
        assert table_names(url) >= TABLES
        migrate.downgrade(url, "base")
        assert table_names(url) == set()
        migrate.upgrade(url)
        assert table_names(url) >= TABLES
        command.check(migrate.alembic_config(url))


def test_migration_files_are_named_by_date_and_slug() -> None:
    names = [p.name for p in (migrate.MIGRATIONS / "versions").glob("*.py")]
    assert names
    for name in names:
        year, month, day, slug = name.removesuffix(".py").split("_", 3)
        assert (len(year), len(month), len(day)) == (4, 2, 2), name
        assert slug and slug.replace("_", "").isalnum(), name
