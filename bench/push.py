"""`registry push` of 1,000 prompt files into an empty SQLite registry, over HTTP.

A real uvicorn server (one worker) on 127.0.0.1 with a new SQLite file; the CLI runs in
this process against it, as a user's `registry push prompts/` would, with an admin's API
key (it moves `production`, a protected label). The second push, with nothing changed,
is timed too.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

from registry import migrate
from registry.cli import app
from registry.client import Client

from bench.results import Section, Target
from bench.server import REGISTRY, create_key, serve

COUNT = 1000

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
You speak for {{ brand }}. Be warm, brief and concrete.
"""


def prompt_file(i: int) -> str:
    return f"""\
---
kind: text
description: Answers question type {i} for a customer.
source_locale: en
tags:
- bench
- group-{i % 10}
variables:
- name: customer_name
  type: string
- name: question
  type: string
- name: brand
  type: string
  required: false
  default: Acme
config:
  model: gpt-4o-mini
  temperature: 0.{i % 10}
---
{{% include "shared/tone" %}}
Greet {{{{ customer_name }}}} by name. Answer the question below about topic {i} in
three short sentences, and say what they can do next.

Question: {{{{ question }}}}
"""


def main() -> Section:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "prompts"
        (root / "shared").mkdir(parents=True)
        (root / "shared/tone.prompt").write_text(TONE)
        for i in range(COUNT - 1):
            path = root / f"group-{i % 10}" / f"prompt-{i:04d}.prompt"
            path.parent.mkdir(exist_ok=True)
            path.write_text(prompt_file(i))
        url = f"sqlite:///{Path(folder) / 'push.db'}"
        migrate.upgrade(url)
        token = create_key(url, "admin")
        with serve(REGISTRY, {"REGISTRY_DATABASE_URL": url}) as server:
            base = server.url
            runner = CliRunner()
            timings = []
            for _ in range(2):
                with Client(base, api_key=token, cache_ttl=0) as client:
                    start = time.perf_counter()
                    result = runner.invoke(
                        app, ["push", str(root), "--label", "production", "--json"], obj=client
                    )
                    timings.append(time.perf_counter() - start)
                assert result.exit_code == 0, result.output[-2000:]
        size = os.path.getsize(Path(folder) / "push.db")
    print(f"registry push of {COUNT} prompt files into an empty SQLite registry (HTTP, 1 worker)")
    print(f"first push:  {timings[0]:6.1f} s  ({COUNT / timings[0]:5.0f} prompts/s)  target < 20 s")
    print(f"second push: {timings[1]:6.1f} s  (nothing changed)")
    print(f"database: {size / 1e6:.1f} MB")
    target = Target(f"registry push of {COUNT:,} prompt files, first push", timings[0], 20, "s")
    return Section("6c. registry push", targets=[target])


if __name__ == "__main__":
    main()
