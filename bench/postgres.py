"""Item 5: resolve on PostgreSQL with two uvicorn workers, and no stale cache in any of them.

The demo library in a new PostgreSQL database, served by two uvicorn workers with
TCP_NODELAY on their connections, as ``registry serve --workers 2`` runs them (see
``bench.uvicorn_nodelay``); the trivial endpoint is served with two workers too, as the
baseline, and once as plain ``uvicorn --workers 2`` runs it, to show what Nagle's
algorithm costs there. The figures are item 1's; the registry's requests carry a
reader's API key.

Then the correctness check: with both workers warm on a label, the label is moved by one
request (with an admin's key: ``production`` is protected), and every later request must
be served the new version, by whichever process answers. Which worker answered a request
is read from outside the server: while the connection is open, /proc/net/tcp gives the
socket's inode and /proc/<pid>/fd tells which worker holds it. Requests go on fresh
connections (so the kernel spreads them over the workers) and on keep-alive connections
opened before the move.
"""

from __future__ import annotations

import http.client
import json
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field

from registry import migrate
from registry.db import Database
from registry.demo import seed_demo

from bench.http import PING, PROMPTS, resolve_requests
from bench.load import GENERATOR, Figures, Subject, compare, figures_table
from bench.results import Section, Target, print_targets
from bench.server import (
    REGISTRY,
    Server,
    bearer,
    create_key,
    owner_of_connection,
    postgres_available,
    postgres_database,
    postgres_version,
    serve,
)

WORKERS = 2
SECONDS = 3.0
ROUNDS = 3
TRIVIAL = "bench.trivial_app:app"
PROMPT = "summarize/article"  # versions 1 and 2; production starts on 1
CHECK_PATH = f"/v1/prompts/{PROMPT}/-/resolve?label=production&locale=fr"
AFTER_MOVE = 200
MOVES = (2, 1, 2)


@dataclass
class Check:
    """What the requests after the label moves saw."""

    moves: list[str] = field(default_factory=list)
    requests: int = 0
    stale: int = 0
    by_pid: Counter[int | None] = field(default_factory=Counter)
    other_process: int = 0
    workers: int = 0

    @property
    def passed(self) -> bool:
        return self.stale == 0 and self.requests > 0

    def lines(self) -> list[str]:
        answered = ", ".join(f"pid {pid}: {n}" for pid, n in sorted(self.by_pid.items(), key=str))
        verdict = "PASS" if self.passed else "FAIL"
        return [
            f"correctness ({verdict}): {len(self.moves)} label moves "
            f"({'; '.join(self.moves)}); {self.requests} requests after the moves, "
            f"{self.stale} served a stale version",
            f"answered by {len([p for p in self.by_pid if p])} of {self.workers} worker "
            f"processes ({answered}); {self.other_process} answered by a process other than "
            "the one that moved the label",
        ]


def _request(
    server: Server,
    method: str,
    path: str,
    body: dict[str, object] | None = None,
    conn: http.client.HTTPConnection | None = None,
    token: str | None = None,
) -> tuple[int, dict[str, object], int | None]:
    """Status, JSON answer, and the worker that answered (new connection unless given);
    with ``token``'s key, else the server's."""
    fresh = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Content-Type": "application/json", **bearer(token or server.token)}
    conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
    response = conn.getresponse()
    data = json.loads(response.read())
    assert conn.sock is not None
    pid = owner_of_connection(server, conn.sock.getsockname()[1])
    if fresh:
        conn.close()
    return response.status, data, pid


def _version(
    server: Server, conn: http.client.HTTPConnection | None = None
) -> tuple[int, int | None]:
    status, data, pid = _request(server, "GET", CHECK_PATH, conn=conn)
    if status != 200:
        raise RuntimeError(f"resolve answered {status}: {data}")
    return int(str(data["version"])), pid


def check_label_moves(server: Server, admin: str) -> Check:
    check = Check(workers=len(server.serving_pids()))
    # Warm every worker on the label first, so a stale cache would show.
    seen: Counter[int | None] = Counter()
    for _ in range(400):
        seen[_version(server)[1]] += 1
        if len(seen) >= WORKERS and min(seen.values()) >= 3:
            break
    for target in MOVES:
        # Keep-alive connections that have just been served the old version.
        kept = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=30) for _ in range(8)]
        for conn in kept:
            _version(server, conn)
        path = f"/v1/prompts/{PROMPT}/-/labels/production"
        move = {"version": target, "reason": "bench"}
        status, data, mover = _request(server, "PUT", path, move, token=admin)
        if status != 200:
            raise RuntimeError(f"the label move answered {status}: {data}")
        check.moves.append(f"to v{target} by pid {mover}")
        answers = [_version(server, conn) for conn in kept]
        answers += [_version(server) for _ in range(AFTER_MOVE)]
        for conn in kept:
            conn.close()
        for version, pid in answers:
            check.requests += 1
            check.stale += version != target
            check.by_pid[pid] += 1
            check.other_process += pid is not None and pid != mover
    for line in check.lines():
        print(line)
    return check


def ratios(how: str, trivial: Figures, resolved: Figures) -> list[str]:
    latency = resolved.one.p50_ms / trivial.one.p50_ms
    throughput = resolved.many.rps / trivial.many.rps
    line = (
        f"- {how}: resolve p50 at 1 conn {latency:.2f}x the trivial endpoint's; "
        f"req/s at {resolved.many.connections} conns {throughput:.0%} of the trivial endpoint's"
    )
    print(line[2:])
    return [line]


def main() -> Section:
    section = Section(f"5. PostgreSQL with {WORKERS} uvicorn workers")
    if not postgres_available():
        print("Item 5: PostgreSQL is not reachable; skipped")
        section.markdown.append("PostgreSQL was not reachable: not measured.")
        return section
    print(f"Item 5: resolve on PostgreSQL {postgres_version()}, {WORKERS} workers; {GENERATOR}")
    with postgres_database("workers") as url:
        migrate.upgrade(url)
        db = Database.from_url(url)
        with db.session() as session:
            seed_demo(session)
        db.dispose()
        reader, admin = create_key(url, "reader"), create_key(url, "admin")
        env = {"REGISTRY_DATABASE_URL": url}
        requests = resolve_requests(PROMPTS)
        with ExitStack() as servers:

            def start(app: str, workers: int, nodelay: bool = True) -> Server:
                token = reader if app == REGISTRY else None
                return servers.enter_context(
                    serve(app, env, workers=workers, nodelay=nodelay, token=token)
                )

            registry = start(REGISTRY, WORKERS)
            nagle, trivial, resolved, single = compare(
                [
                    Subject(
                        f"trivial, {WORKERS} workers, as `uvicorn --workers` runs them",
                        start(TRIVIAL, WORKERS, nodelay=False),
                        PING,
                    ),
                    Subject(
                        f"trivial, {WORKERS} workers, TCP_NODELAY", start(TRIVIAL, WORKERS), PING
                    ),
                    Subject(f"resolve, {WORKERS} workers, TCP_NODELAY", registry, requests),
                    Subject("resolve, 1 worker", start(REGISTRY, 1), requests),
                ],
                rounds=ROUNDS,
                seconds=SECONDS,
            )
            check = check_label_moves(registry, admin)
            rss = registry.peak_rss_mb()
    rows = [nagle, trivial, resolved, single]
    targets = [
        Target(
            f"PostgreSQL, {WORKERS} workers: stale answers after a label move", check.stale, 0, ""
        )
    ]
    print_targets(targets)
    section.targets = targets
    section.markdown += [
        f"Load generator: {GENERATOR}. The demo library on PostgreSQL; the same resolve "
        f"requests as item 1, with a reader's API key verified on every request; the "
        f"baseline is the trivial endpoint (no key) with {WORKERS} workers. All four servers "
        f"run at once and are measured in turns, {ROUNDS} rounds of {SECONDS:g} s for each "
        "connection count. Server CPU sums both workers. `uvicorn --workers N` leaves "
        "Nagle's algorithm on for its connections "
        "(https://github.com/Kludex/uvicorn/issues/3149): every response on a keep-alive "
        "connection waits ~40 ms for the client's delayed ACK, as the first row shows. "
        "`registry serve --workers N` binds its socket through `registry.server`, which "
        "turns it off; the other multi-worker rows run through `bench.uvicorn_nodelay`, "
        "which binds the same way.",
        "",
        *figures_table(rows),
        "",
        *ratios(
            f"{WORKERS} workers with TCP_NODELAY, as `registry serve` runs them", trivial, resolved
        ),
        "",
        f"Peak RSS of the workers: {', '.join(f'{mb:.0f} MB' for mb in rss)}.",
        "",
        *(f"- {line}" for line in check.lines()),
        f"- method: `{CHECK_PATH}` is resolved on fresh connections until both workers have "
        "answered it (their caches are warm); then, for each move, one `PUT` moves "
        f"`production`, and the next requests are 8 on keep-alive connections opened before "
        f"the move, then {AFTER_MOVE} on new connections. The worker that answered each "
        "request is found from outside (/proc/net/tcp and /proc/<pid>/fd), without any "
        "change to the server.",
    ]
    return section


if __name__ == "__main__":
    main()
