"""`registry translations review`, `withdraw` and the every-locale `status`, through the
SDK against the real app."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from registry.cli import app
from registry.client import Client

from factories import unique_name

Invoke = Callable[..., Result]
WHO = [{"name": "who", "type": "string"}]
BONJOUR = "Bonjour {{ who }}, bienvenue dans notre boutique."


@pytest.fixture
def sdk(client: TestClient) -> Iterator[Client]:
    with Client(http_client=client, cache_ttl=0) as made:
        yield made


@pytest.fixture
def run(sdk: Client) -> Invoke:
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), obj=sdk)


@pytest.fixture
def folder(sdk: Client) -> str:
    """A folder of three prompts with French text: two in review, one a draft."""
    root = unique_name("clitr")
    for name, status in (("a", "in_review"), ("b", "in_review"), ("c", "draft")):
        sdk.create_prompt(f"{root}/{name}")
        sdk.publish(
            f"{root}/{name}", template="Hello {{ who }}, welcome to our shop.", variables=WHO
        )
        sdk.submit_translation(f"{root}/{name}", "fr", template=BONJOUR, status=status)
    return root


def test_review_one(run: Invoke, sdk: Client, folder: str) -> None:
    result = run("translations", "review", f"{folder}/c", "--locale", "fr", "--action", "reject")
    assert result.exit_code == 0, result.output
    assert "rejected" in result.output
    assert sdk.get_translation(f"{folder}/c", "fr").status == "rejected"


def test_review_a_folder_at_once(run: Invoke, sdk: Client, folder: str) -> None:
    result = run(
        "translations", "review", "--locale", "fr", "--prefix", folder, "--note", "ok", "--json"
    )
    assert result.exit_code == 0, result.output
    reviewed = json.loads(result.stdout)["reviewed"]
    assert [r["prompt"] for r in reviewed] == [f"{folder}/a", f"{folder}/b"]
    assert sdk.get_translation(f"{folder}/c", "fr").status == "draft"


def test_a_refused_bulk_review_names_each_and_changes_nothing(
    run: Invoke, sdk: Client, folder: str
) -> None:
    names = [f"{folder}/a", f"{folder}/c", f"{folder}/missing"]
    result = run("translations", "review", *names, "--locale", "fr", "--action", "submit")
    assert result.exit_code == 1
    assert "cannot be reviewed; nothing was changed" in result.output
    assert "body.prompts.0" in result.output and "body.prompts.2" in result.output
    assert "Traceback" not in result.output
    assert sdk.get_translation(f"{folder}/c", "fr").status == "draft"


def test_status_of_every_locale(run: Invoke, sdk: Client, folder: str) -> None:
    sdk.submit_translation(
        f"{folder}/a", "de", template="Hallo {{ who }}, willkommen in unserem Laden."
    )
    result = run("translations", "status", "--prefix", folder, "--json")
    assert result.exit_code == 0, result.output
    overview = json.loads(result.stdout)
    assert [p["locale"] for p in overview["locales"]] == ["de", "fr"]
    assert overview["prompts"][0]["states"] == {"de": "draft", "fr": "in_review"}
    table = run("translations", "status", "--prefix", folder)
    assert "in_review" in table.output and "missing" in table.output


def test_withdraw(run: Invoke, sdk: Client, folder: str) -> None:
    result = run("translations", "withdraw", f"{folder}/c", "--locale", "fr")
    assert result.exit_code == 0, result.output
    assert [t.locale for t in sdk.list_translations(f"{folder}/c")] == []
    again = run("translations", "withdraw", f"{folder}/c", "--locale", "fr")
    assert again.exit_code == 1
    assert "has no fr translation" in again.output
