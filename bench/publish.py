"""Item 4: versions published per second through the HTTP API, on SQLite and PostgreSQL.

One uvicorn worker on a new database. One client, then several at once, each publishing
to a prompt of its own, a new version after the previous one is answered: every publish
validates the template, checks the declared variables and runs the default style guide
(style checks are always on), then writes the version, its style report and its audit
event. Each client sends an editor's API key. The load generator is an async httpx loop
in this process (each body is new, and each answer is checked for 201); its own CPU time
is reported, since it shares the machine's two cores with the server.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from registry import migrate

from bench.results import Section, Target, print_targets, table
from bench.server import (
    REGISTRY,
    Server,
    create_key,
    database_size_mb,
    postgres_available,
    postgres_database,
    serve,
)

CLIENTS = 8
VERSIONS = 100  # per client, timed
TARGET = 300.0

TEMPLATE = """\
You are the support assistant of an online shop that sells outdoor gear. Answer
{{ customer_name }} in three short sentences about the question below, using only the
order data and the policies you were given. Keep every answer accurate, say what the
customer can do next, and hand the conversation over to a human agent when the
question is not about orders, products or policies.

Policy revision {revision}: returns are accepted within 30 days of delivery.

Question: {{ question }}
"""
VARIABLES = [
    {"name": "customer_name", "type": "string", "description": "First name."},
    {"name": "question", "type": "string", "description": "The customer's message."},
]


@dataclass(frozen=True)
class Publish:
    backend: str
    versions: int
    seconds: float
    latencies: list[float]
    server_cpu_s: float
    client_cpu_s: float
    size_mb: float

    @property
    def rate(self) -> float:
        return self.versions / self.seconds

    def cells(self) -> list[str]:
        cuts = statistics.quantiles(self.latencies, n=100)
        return [
            self.backend,
            f"{self.versions:,}",
            f"{self.seconds:.2f} s",
            f"{self.rate:,.0f}",
            f"{cuts[49] * 1000:.1f}",
            f"{cuts[98] * 1000:.1f}",
            f"{self.server_cpu_s / self.versions * 1000:.2f}",
            f"{self.client_cpu_s / self.versions * 1000:.2f}",
            f"{self.size_mb:.1f} MB",
        ]


def body(client: int, revision: int) -> dict[str, object]:
    text = TEMPLATE.replace("{revision}", f"{client}.{revision}")
    return {"template": text, "variables": VARIABLES, "message": f"revision {revision}"}


async def _publish_all(server: Server, clients: int) -> tuple[float, list[float], float, float]:
    """``clients`` clients, each publishing ``VERSIONS`` versions to a prompt of its own."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = server.headers
    prompts = [f"bench/publish-{clients}-{client:02d}" for client in range(clients)]
    async with httpx.AsyncClient(
        base_url=server.url, limits=limits, timeout=60, headers=headers
    ) as http:

        async def publish(client: int, revision: int) -> float:
            path = f"/v1/prompts/{prompts[client]}/-/versions"
            start = time.perf_counter()
            response = await http.post(path, json=body(client, revision))
            elapsed = time.perf_counter() - start
            if response.status_code != 201:
                raise RuntimeError(f"publish answered {response.status_code}: {response.text}")
            return elapsed

        for name in prompts:
            created = await http.post("/v1/prompts", json={"name": name, "tags": ["bench"]})
            created.raise_for_status()
        # The first publish of a process compiles the guide and loads the language model.
        await asyncio.gather(*(publish(client, 0) for client in range(clients)))

        async def client_loop(client: int) -> list[float]:
            return [await publish(client, revision) for revision in range(1, VERSIONS + 1)]

        cpu_server, cpu_client = server.cpu_seconds(), time.process_time()
        started = time.perf_counter()
        results = await asyncio.gather(*(client_loop(client) for client in range(clients)))
        seconds = time.perf_counter() - started
        cpu_server = server.cpu_seconds() - cpu_server
        cpu_client = time.process_time() - cpu_client
    return seconds, [t for ts in results for t in ts], cpu_server, cpu_client


def measure(backend: str, url: str) -> list[Publish]:
    """One client, then ``CLIENTS`` at once, on one server over a new database."""
    migrate.upgrade(url)
    token = create_key(url, "editor")
    results = []
    with serve(REGISTRY, {"REGISTRY_DATABASE_URL": url}, token=token) as server:
        for clients in (1, CLIENTS):
            seconds, latencies, cpu_server, cpu_client = asyncio.run(_publish_all(server, clients))
            result = Publish(
                f"{backend}, {clients} client{'s' if clients > 1 else ''}",
                clients * VERSIONS,
                seconds,
                latencies,
                cpu_server,
                cpu_client,
                database_size_mb(url),
            )
            cuts = statistics.quantiles(latencies, n=100)
            print(
                f"{result.backend:<24} {result.versions:4} versions in {seconds:5.2f} s: "
                f"{result.rate:6.0f}/s  p50 {cuts[49] * 1000:6.1f} ms  "
                f"p99 {cuts[98] * 1000:6.1f} ms  "
                f"server CPU {cpu_server / result.versions * 1000:5.2f} ms/version"
            )
            results.append(result)
    return results


def main() -> Section:
    print(
        f"Item 4: publish over HTTP, 1 then {CLIENTS} clients x {VERSIONS} versions, each to "
        "its own prompt; style checks on; one worker; async httpx loop"
    )
    results = []
    with tempfile.TemporaryDirectory() as folder:
        results += measure("SQLite", f"sqlite:///{Path(folder) / 'publish.db'}")
    if postgres_available():
        with postgres_database("publish") as url:
            results += measure("PostgreSQL", url)
    else:
        print("PostgreSQL: not reachable, skipped")
    sqlite = results[1]
    targets = [Target(f"publish on {sqlite.backend}, versions/s", sqlite.rate, TARGET, "/s", True)]
    print_targets(targets)
    section = Section("4. Publish over HTTP (style checks on)", targets=targets)
    section.markdown += [
        f"One client, then {CLIENTS} concurrent clients (an async httpx loop in the "
        f"benchmark's process), each publishing {VERSIONS} versions to a prompt of its own, "
        "one after the other, after one untimed publish each. The target applies to the "
        "concurrent clients. Each version is a new ~600-byte template with two variables, "
        "no include; the default style guide runs on every publish. The clients send an "
        "editor's API key, verified on every request; each publish also writes its audit "
        "event. One uvicorn worker. "
        "Server CPU is the uvicorn process's; PostgreSQL's own processes are not counted. "
        "Client CPU is this benchmark's process.",
        "",
        *table(
            [
                "database, clients",
                "versions",
                "time",
                "versions/s",
                "p50 ms",
                "p99 ms",
                "server CPU ms/version",
                "client CPU ms/version",
                "database size",
            ],
            [result.cells() for result in results],
        ),
    ]
    if len(results) < 4:
        section.markdown += ["", "PostgreSQL was not reachable: not measured."]
    return section


if __name__ == "__main__":
    main()
