"""The SDK installs light: it imports and renders with none of the server's packages."""

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
CHILD = """
import json, sys
from importlib.abc import MetaPathFinder

BLOCKED = set(sys.argv[2].split(","))

class Refuse(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (not installed)", name=name)
        return None

sys.meta_path.insert(0, Refuse())

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


def test_client_imports_and_renders_without_server_packages(
    session: Session, client: TestClient, tmp_path: Path
) -> None:
    seed_demo(session)
    bundle = tmp_path / "prompts.json"
    write_bundle(Client(http_client=client), bundle)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(bundle), ",".join(SERVER_MODULES)],
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
