"""The SDK installs light: it imports and renders with none of the server's packages,
nor the style checks' (RE2, py3langid and its numpy), which come with the ``lint`` extra.
Its size and import time are measured in bench/sdk_install.py, not here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from fastapi.testclient import TestClient
from packaging.requirements import Requirement
from sqlalchemy.orm import Session

from registry import Client, write_bundle
from registry.demo import seed_demo

ROOT = Path(__file__).resolve().parents[2]
# The server's packages (with the CLI's), as import names.
SERVER_MODULES = [
    "alembic",
    "click",
    "fastapi",
    "psycopg",
    "pydantic_settings",
    "rich",
    "sqlalchemy",
    "starlette",
    "typer",
    "uvicorn",
]
# The ``lint`` extra's packages, as import names.
LINT_MODULES = ["numpy", "py3langid", "re2"]
# As if these were not installed: an import of one raises ModuleNotFoundError.
REFUSE = """
import sys
from importlib.abc import MetaPathFinder

BLOCKED = set(sys.argv[2].split(","))

class Refuse(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (not installed)", name=name)
        return None

sys.meta_path.insert(0, Refuse())
"""
CHILD = (
    REFUSE
    + """
import json
import registry
from registry import AsyncClient, Client, Prompt, RegistryError, write_bundle

client = Client(bundle=sys.argv[1])
greeting = client.get("support/greeting", locale="fr-CA")
chat = client.get("support/assistant", locale="ja")
print(json.dumps({
    "text": greeting.render(customer_name="Mia", open_tickets=2),
    "messages": chat.render(question="?"),
    "loaded": sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED),
}))
"""
)


def test_client_imports_and_renders_without_server_packages(
    session: Session, client: TestClient, tmp_path: Path
) -> None:
    seed_demo(session)
    bundle = tmp_path / "prompts.json"
    write_bundle(Client(http_client=client), bundle)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(bundle), ",".join(SERVER_MODULES + LINT_MODULES)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout)
    assert result["loaded"] == []
    sdk = Client(http_client=client)
    assert result["text"] == sdk.render(
        "support/greeting", {"customer_name": "Mia", "open_tickets": 2}, locale="fr-CA"
    )
    assert result["messages"] == sdk.render("support/assistant", {"question": "?"}, locale="ja")


def test_base_install_lists_only_what_the_client_needs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    base = {Requirement(r).name.lower() for r in project["dependencies"]}
    server = {Requirement(r).name.lower() for r in project["optional-dependencies"]["server"]}
    assert {"httpx", "pydantic", "jinja2", "babel"} <= base
    server_packages = {"fastapi", "sqlalchemy", "alembic", "uvicorn", "psycopg"}
    server_packages |= {"pydantic-settings", "typer", "rich"}
    assert not base & server_packages
    assert server_packages <= server


def run_child(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


IMPORTED = """
import json, sys
import registry, registry.client
from registry import Client
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_the_sdk_loads_neither_the_server_nor_the_style_checks(tmp_path: Path) -> None:
    # Here every extra is installed: what the SDK imports is its own choice.
    child = run_child(IMPORTED, cwd=tmp_path)
    assert child.returncode == 0, child.stderr
    modules = set(json.loads(child.stdout))
    loaded = {module.partition(".")[0] for module in modules}
    assert "registry" in loaded
    assert not loaded & {"numpy", "py3langid", "re2", "sqlalchemy", "fastapi", "yaml"}
    assert not loaded & {"openai", "langchain_core"}
    # Imported on first use only: AsyncClient (and with it asyncio), the style package
    # (client.lint) and the management answers' models.
    assert "asyncio" not in loaded
    assert not modules & {
        "registry.style",
        "registry.translations.schemas",
        "registry.experiments.schemas",
    }


LINT_CHILD = (
    REFUSE
    + """
import json
import httpx
from registry import Client

answer = json.loads(sys.argv[1])
http = httpx.Client(
    base_url="http://registry.test",
    transport=httpx.MockTransport(lambda request: httpx.Response(200, json=answer)),
)
result = Client(http_client=http).lint(template="Help {{ who }}. TODO: ask.")
print(json.dumps({
    "result": result.model_dump(mode="json"),
    "loaded": sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED),
}))
"""
)


def test_the_registrys_lint_is_read_without_the_style_checks(
    client: TestClient, tmp_path: Path
) -> None:
    """``client.lint`` asks the registry: its answer is read with no RE2 or py3langid."""
    answer = client.post("/v1/lint", json={"template": "Help {{ who }}. TODO: ask."})
    assert answer.status_code == 200, answer.text
    blocked = ",".join(SERVER_MODULES + LINT_MODULES)
    child = run_child(LINT_CHILD, answer.text, blocked, cwd=tmp_path)
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout)
    assert result["loaded"] == []
    assert result["result"] == answer.json()
    assert any(f["rule"] == "prompt.leftover-notes" for f in result["result"]["findings"])


SCRIPT = (
    REFUSE
    + """
sys.argv = ["registry", *sys.argv[3:]]
from registry.cli import main
main()
"""
)


def test_the_cli_in_an_sdk_only_install_says_which_extra_to_install(tmp_path: Path) -> None:
    child = run_child(SCRIPT, "", ",".join(SERVER_MODULES), "--help", cwd=tmp_path)
    assert child.returncode == 1
    assert child.stdout == ""
    assert child.stderr.splitlines() == [
        "registry: the command line needs the 'server' extra (no module named 'typer'): "
        "pip install 'prompt-registry[server]'"
    ]


def test_registry_lint_without_the_lint_extra_says_which_extra_to_install(
    tmp_path: Path,
) -> None:
    prompt = tmp_path / "greeting.prompt"
    prompt.write_text("---\nkind: text\n---\nHelp them with their order.\n", encoding="utf-8")
    child = run_child(SCRIPT, "", ",".join(LINT_MODULES), "lint", str(prompt), cwd=tmp_path)
    assert child.returncode == 1
    assert child.stderr.splitlines() == [
        "registry: the command line needs the 'lint' extra (no module named 're2'): "
        "pip install 'prompt-registry[lint]'"
    ]


def test_the_style_checks_come_with_the_lint_extra_and_the_server() -> None:
    optional = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    base = {Requirement(r).name.lower() for r in optional["dependencies"]}
    extras = optional["optional-dependencies"]
    lint = {Requirement(r).name.lower() for r in extras["lint"]}
    assert {"py3langid", "google-re2"} <= lint
    assert not base & lint
    server = [Requirement(r) for r in extras["server"]]
    assert any(r.name == "prompt-registry" and "lint" in r.extras for r in server)
