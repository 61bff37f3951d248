"""Prompts as code and the read commands, through the SDK against the real app."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from registry.cli import app
from registry.client import Client
from registry.translations import po

Invoke = Callable[..., Result]

GREETING = """\
---
kind: text
description: Greets a customer.
source_locale: en
tags:
- support
variables:
- name: customer_name
  type: string
- name: brand
  type: string
  required: false
  default: Acme
config:
  model: gpt-4o
  temperature: 0.2
---
{% include "cli/tone" %}
Hello {{ customer_name }}, welcome!
"""

TONE = """\
---
kind: text
source_locale: en
variables:
- name: brand
  type: string
  required: false
  default: Acme
---
You speak for {{ brand }}. Be warm and brief.
"""

CHAT = """\
---
kind: chat
source_locale: en
variables:
- name: question
  type: string
---
- role: system
  content: |-
    You answer questions about orders.
    Be brief.
- role: user
  content: '{{ question }}'
"""

GREETING_FR = """\
---
locale: fr
status: in_review
---
{% include "cli/tone" %}
Bonjour {{ customer_name }}, bienvenue !
"""


@pytest.fixture
def sdk(client: TestClient) -> Iterator[Client]:
    with Client(http_client=client, cache_ttl=0) as made:
        yield made


@pytest.fixture
def run(sdk: Client) -> Iterator[Invoke]:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), obj=sdk)

    yield invoke


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "prompts"
    write(
        root,
        {
            "cli/greeting.prompt": GREETING,
            "cli/tone.prompt": TONE,
            "cli/chat.prompt": CHAT,
            "cli/greeting.fr.prompt": GREETING_FR,
        },
    )
    return root


class TestPushPull:
    def test_push_creates_then_changes_nothing(self, run: Invoke, repo: Path, sdk: Client) -> None:
        first = run("push", str(repo), "--label", "production", "--json")
        assert first.exit_code == 0, first.output
        results = {r["prompt"]: r["result"] for r in json.loads(first.stdout)["results"]}
        assert results["cli/tone"].startswith("created")
        assert results["cli/greeting [fr]"] == "submitted (in_review)"
        assert sdk.read_prompt("cli/greeting").labels == {"production": 1}
        second = run("push", str(repo), "--label", "production", "--json")
        assert second.exit_code == 0, second.output
        results = {r["prompt"]: r["result"] for r in json.loads(second.stdout)["results"]}
        assert set(results.values()) == {"unchanged"}

    def test_changed_file_publishes_a_version(self, run: Invoke, repo: Path, sdk: Client) -> None:
        run("push", str(repo), "--label", "production")
        (repo / "cli/tone.prompt").write_text(TONE.replace("warm", "kind"))
        result = run("push", str(repo), "--json")
        results = {
            r["prompt"]: (r["result"], r["version"]) for r in json.loads(result.stdout)["results"]
        }
        assert results["cli/tone"] == ("published", 2)
        assert results["cli/greeting"] == ("unchanged", 1)

    def test_pull_round_trips_byte_for_byte(self, run: Invoke, repo: Path, tmp_path: Path) -> None:
        assert run("push", str(repo), "--label", "production").exit_code == 0
        pulled = tmp_path / "pulled"
        result = run("pull", str(pulled), "--prefix", "cli")
        assert result.exit_code == 0, result.output
        for name in (
            "cli/greeting.prompt",
            "cli/tone.prompt",
            "cli/chat.prompt",
            "cli/greeting.fr.prompt",
        ):
            assert (pulled / name).read_bytes() == (repo / name).read_bytes(), name

    def test_refused_files_are_listed_and_exit_non_zero(self, run: Invoke, tmp_path: Path) -> None:
        root = tmp_path / "bad"
        write(
            root,
            {
                "bad/vars.prompt": "---\nkind: text\n---\nHello {{ who }}",
                "bad/ok.prompt": "---\nkind: text\n---\nHello",
            },
        )
        result = run("push", str(root))
        assert result.exit_code == 1
        assert "'who' is used in the template but not declared" in result.output
        assert "Traceback" not in result.output

    def test_unreadable_file_is_named(self, run: Invoke, tmp_path: Path) -> None:
        root = tmp_path / "broken"
        write(root, {"x/broken.prompt": "no front matter"})
        result = run("push", str(root))
        assert result.exit_code == 1
        assert "broken.prompt:1" in result.output

    def test_bundle(self, run: Invoke, repo: Path, tmp_path: Path) -> None:
        run("push", str(repo), "--label", "production")
        target = tmp_path / "prompts.json"
        result = run("pull", str(tmp_path), "--bundle", str(target), "--prefix", "cli")
        assert result.exit_code == 0, result.output
        offline = Client(bundle=target)
        assert (
            offline.get("cli/greeting")
            .render(customer_name="Ann")
            .endswith("Hello Ann, welcome!\n")
        )


class TestReads:
    @pytest.fixture(autouse=True)
    def pushed(self, run: Invoke, repo: Path) -> None:
        assert run("push", str(repo), "--label", "production").exit_code == 0
        (repo / "cli/tone.prompt").write_text(TONE.replace("warm", "kind"))
        assert run("push", str(repo)).exit_code == 0

    def test_get_render_diff_log(self, run: Invoke) -> None:
        got = run("get", "cli/greeting", "--json")
        assert json.loads(got.stdout)["version"] == 1
        rendered = run("render", "cli/greeting", "-v", "customer_name=Ann")
        assert "Hello Ann, welcome!" in rendered.output
        values = run("render", "cli/greeting", "--vars", '{"customer_name": "Bo"}', "--json")
        assert "Hello Bo" in json.loads(values.stdout)["output"]
        diff = run("diff", "cli/tone", "1", "2", "--json")
        assert (
            "+You speak for {{ brand }}. Be kind and brief." in json.loads(diff.stdout)["content"]
        )
        log = run("log", "cli/tone", "--json")
        assert [v["number"] for v in json.loads(log.stdout)] == [2, 1]

    def test_labels(self, run: Invoke) -> None:
        moved = run("label", "set", "cli/tone", "production", "2", "--reason", "kinder")
        assert moved.exit_code == 0, moved.output
        history = json.loads(run("label", "history", "cli/tone", "production", "--json").stdout)
        newest = history["history"][0]
        assert (newest["from_version"], newest["to_version"], newest["reason"]) == (1, 2, "kinder")

    def test_user_errors_are_one_line(self, run: Invoke) -> None:
        result = run("get", "cli/missing")
        assert result.exit_code == 1
        assert "no prompt is named 'cli/missing'" in result.output
        assert "Traceback" not in result.output
        bad = run("render", "cli/greeting", "-v", "nonsense")
        assert bad.exit_code == 1


def test_translations_status_export_import(run: Invoke, repo: Path, tmp_path: Path) -> None:
    run("push", str(repo), "--label", "production")
    status = run("translations", "status", "--locale", "de", "--prefix", "cli", "--json")
    assert {i["state"] for i in json.loads(status.stdout)["items"]} == {"missing"}
    target = tmp_path / "de.po"
    exported = run(
        "translations", "export", "--locale", "de", "--prefix", "cli/tone", "-o", str(target)
    )
    assert exported.exit_code == 0, exported.output
    parsed = po.read_po(target.read_bytes())
    entry = parsed.entries[0]
    assert parsed.registry_id is not None
    target.write_bytes(
        po.write_po(
            [
                po.PoEntry(
                    context=entry.context,
                    source=entry.source,
                    translation="Sie sprechen für {{ brand }}. Seien Sie herzlich und kurz.\n",
                )
            ],
            locale="de",
            registry_id=parsed.registry_id,
        )
    )
    imported = run("translations", "import", str(target))
    assert imported.exit_code == 0, imported.output
    assert "1 updated" in imported.output
    bad = tmp_path / "bad.po"
    bad.write_text("not a po file\n")
    refused = run("translations", "import", str(bad), "--locale", "de")
    assert refused.exit_code == 1
    assert "Traceback" not in refused.output
