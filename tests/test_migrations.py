"""The schema comes only from the migrations, and they agree with the models."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect, select, text

from registry import migrate
from registry.access.models import ApiKey

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


def test_a_keys_folder_becomes_its_folders_and_back(store: str, tmp_path: Path) -> None:
    """0007_key_folders: a key limited to one folder keeps it, as a list of one."""
    with fresh_database(store, tmp_path) as url:
        migrate.upgrade(url, "0006_prompt_revisions")
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                for prefix, folder in (("rk_limited", "support/"), ("rk_everywhere", None)):
                    conn.execute(
                        text(
                            "INSERT INTO api_keys (prefix, salt, secret_hash, owner, description,"
                            " role, folder, locales, created_at, created_by) VALUES (:prefix,"
                            " 's', 'h', 'o', '', 'reader', :folder, '[]', :at, 'tests')"
                        ),
                        {"prefix": prefix, "folder": folder, "at": datetime.now(UTC)},
                    )
            migrate.upgrade(url)
            with engine.connect() as conn:
                rows = conn.execute(
                    select(ApiKey.prefix, ApiKey.folders, ApiKey.read_folders).order_by(
                        ApiKey.prefix
                    )
                ).all()
            assert [tuple(row) for row in rows] == [
                ("rk_everywhere", None, []),
                ("rk_limited", ["support/"], []),
            ]
            migrate.downgrade(url, "0006_prompt_revisions")
            with engine.connect() as conn:
                folders = conn.execute(
                    text("SELECT prefix, folder FROM api_keys ORDER BY prefix")
                ).all()
            assert [tuple(row) for row in folders] == [
                ("rk_everywhere", None),
                ("rk_limited", "support/"),
            ]
        finally:
            engine.dispose()
