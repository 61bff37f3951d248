"""`registry experiments …` through the SDK against the real app."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from registry.cli import app
from registry.client import Client

from experimenting import exposures_in_test, prompt_with_versions

Invoke = Callable[..., Result]


@pytest.fixture
def run(client: TestClient, session: Session) -> Iterator[Invoke]:
    api = next(exposures_in_test(client, session))
    runner = CliRunner()
    with Client(http_client=api, cache_ttl=0) as sdk:

        def invoke(*args: str) -> Result:
            return runner.invoke(app, list(args), obj=sdk)

        yield invoke


def test_create_show_and_promote(run: Invoke, client: TestClient, session: Session) -> None:
    name = prompt_with_versions(session)
    created = run(
        "experiments",
        "create",
        name,
        "--name",
        "shorter",
        "--arm",
        "control=1:50",
        "--arm",
        "short=2:50",
        "--min-samples",
        "10",
        "--json",
    )
    assert created.exit_code == 0, created.output
    experiment = json.loads(created.output)
    assert [a["name"] for a in experiment["arms"]] == ["control", "short"]
    for subject, value in (("a", True), ("b", False), ("c", True), ("d", True), ("e", False)):
        client.post(
            "/v1/experiments/feedback",
            json={"experiment": experiment["id"], "subject": subject, "value": value},
        )
    shown = run("experiments", "show", str(experiment["id"]))
    assert shown.exit_code == 0, shown.output
    assert "control" in shown.output and "short" in shown.output
    assert "not enough outcomes for a verdict yet" in shown.output
    as_json = json.loads(run("experiments", "show", str(experiment["id"]), "--json").output)
    assert sum(a["outcomes"] for a in as_json["arms"]) == 5
    listed = run("experiments", "list", name)
    assert "shorter" in listed.output and "running" in listed.output
    promoted = run("experiments", "promote", str(experiment["id"]), "short", "--reason", "won")
    assert promoted.exit_code == 0, promoted.output
    assert "version 2" in promoted.output
    assert client.get(f"/v1/prompts/{name}/-/labels/production").json()["version"] == 2


def test_stop(run: Invoke, session: Session) -> None:
    name = prompt_with_versions(session)
    created = json.loads(
        run(
            "experiments", "create", name, "--name", "e", "--arm", "1:50", "--arm", "2:50", "--json"
        ).output
    )
    stopped = run("experiments", "stop", str(created["id"]), "--json")
    assert json.loads(stopped.output)["status"] == "stopped"
    listed = json.loads(run("experiments", "list", "--status", "stopped", "--json").output)
    assert created["id"] in [e["id"] for e in listed]


def test_errors_are_one_clear_line(run: Invoke, session: Session) -> None:
    name = prompt_with_versions(session)
    bad_arm = run("experiments", "create", name, "--name", "e", "--arm", "one:50")
    assert bad_arm.exit_code == 1 and "VERSION:WEIGHT" in bad_arm.output
    weights = run("experiments", "create", name, "--name", "e", "--arm", "1:50", "--arm", "2:40")
    assert weights.exit_code == 1 and "sum to 100" in weights.output
    missing = run("experiments", "show", "999999")
    assert missing.exit_code == 1 and "no experiment 999999" in missing.output
