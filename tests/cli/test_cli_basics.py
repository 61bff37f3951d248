"""What a newcomer meets first: the version, the list of prompts, output that is not a
terminal, `pull --bundle` as the README writes it, and an API key that is missing or wrong."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import registry
from registry.cli import app
from registry.client import Client

from conftest import admin_token, live_server

LONG = "A description far longer than eighty columns, " * 3 + "ending here."


@pytest.fixture
def sdk(client: TestClient) -> Iterator[Client]:
    with Client(http_client=client, cache_ttl=0) as made:
        for name, description in (
            ("support/greeting", "Greets."),
            ("support/farewell", LONG),
            ("top", "A prompt in no folder."),
        ):
            made.create_prompt(name, description=description)
            made.publish(name, template="Hello.", labels=["staging"])
        made.publish("support/greeting", template="Hello there.")
        made.set_label("support/greeting", "production", 1)
        yield made


def run(sdk: Client | None, *args: str) -> Result:
    # As a pipe or a file sees it: no COLUMNS (pytest-xdist's workers set COLUMNS=80).
    return CliRunner().invoke(app, list(args), obj=sdk, env={"COLUMNS": None})


def test_version() -> None:
    result = run(None, "--version")
    assert result.exit_code == 0
    assert result.stdout == f"registry {registry.__version__}\n"


class TestList:
    def test_json(self, sdk: Client) -> None:
        result = run(sdk, "list", "--json")
        assert result.exit_code == 0, result.output
        listed = {p["name"]: (p["latest_version"], p["labels"]) for p in json.loads(result.stdout)}
        assert listed["support/greeting"] == (2, {"production": 1, "staging": 1})
        assert listed["top"] == (1, {"staging": 1})

    def test_table_has_folder_and_label_columns(self, sdk: Client) -> None:
        result = run(sdk, "list")
        assert result.exit_code == 0, result.output
        rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines()[3:-1]}
        greeting = [cell.strip() for cell in rows["support/greeting"].split("│")[1:-1]]
        assert greeting[:5] == [
            "support/greeting",
            "support/",
            "text",
            "2",
            "production → 1, staging → 1",
        ]
        assert [cell.strip() for cell in rows["top"].split("│")][2] == "-"

    def test_a_folder(self, sdk: Client) -> None:
        result = run(sdk, "list", "support/", "--json")
        assert [p["name"] for p in json.loads(result.stdout)] == [
            "support/farewell",
            "support/greeting",
        ]

    def test_output_that_is_not_a_terminal_is_not_cut_to_80_columns(self, sdk: Client) -> None:
        result = run(sdk, "list")
        assert LONG in result.stdout  # whole, on one line
        assert max(len(line) for line in result.stdout.splitlines()) > 150


class TestPullBundle:
    def test_as_the_readme_writes_it(
        self, sdk: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        result = run(sdk, "pull", "--bundle", "prompts.json")
        assert result.exit_code == 0, result.output
        assert Client(bundle=tmp_path / "prompts.json").get("support/greeting").render() == (
            "Hello."
        )
        assert sorted(p.name for p in tmp_path.iterdir()) == ["prompts.json"]

    def test_neither_a_folder_nor_a_bundle(self, sdk: Client) -> None:
        result = run(sdk, "pull")
        assert result.exit_code == 1
        assert "give a DIRECTORY to write prompt files to, or --bundle FILE" in result.stderr


class TestApiKeyErrors:
    """A refused key is told in the command line's terms, not as an HTTP header."""

    @pytest.fixture
    def url(self, migrated_url: str) -> Iterator[str]:
        with live_server(migrated_url) as served:
            yield served

    def invoke(self, monkeypatch: pytest.MonkeyPatch, *args: str, key: str | None) -> Result:
        monkeypatch.delenv("REGISTRY_API_KEY", raising=False)
        if key is not None:
            monkeypatch.setenv("REGISTRY_API_KEY", key)
        return CliRunner().invoke(app, list(args))

    def test_no_key(self, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        result = self.invoke(monkeypatch, "--url", url, "list", key=None)
        assert result.exit_code == 1
        assert result.stderr == (
            "error: no API key: set REGISTRY_API_KEY or pass --api-key "
            "(`registry keys create --role admin` makes one)\n"
        )

    def test_unknown_key_in_the_environment(
        self, url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        result = self.invoke(monkeypatch, "--url", url, "get", "x/y", key="rk_abcdefghij_nope")
        assert result.exit_code == 1
        assert "refused the key in REGISTRY_API_KEY" in result.stderr
        assert "--api-key" in result.stderr
        assert "Authorization" not in result.stderr and "Bearer" not in result.stderr

    def test_unknown_key_as_an_option(self, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        result = self.invoke(
            monkeypatch, "--url", url, "--api-key", "rk_abcdefghij_nope", "list", key="ignored"
        )
        assert "refused the key in --api-key" in result.stderr

    def test_a_good_key(self, url: str, migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        result = self.invoke(monkeypatch, "--url", url, "list", key=admin_token(migrated_url))
        assert result.exit_code == 0, result.output
        assert "no prompts" in result.stdout
