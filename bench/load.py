"""The load generator: wrk with a Lua script when it is installed, else an async httpx loop.

wrk (``apt-get install wrk``) runs one thread in C and costs the server little CPU; the
httpx loop runs in the benchmark's process, in Python, and takes a good share of a core
from the server on a two-core machine, so its figures are lower.

Both rotate through a list of requests (method, path, JSON body), each with the server's
API key when it has one (``Server.token``), and report the number of answers, the
duration, the answers that were not 2xx/3xx, and latency percentiles. With one
connection the figures are latencies; with several, the request rate is the figure.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.results import table
from bench.server import Server

# BENCH_LOAD=httpx uses the httpx loop even where wrk is installed.
WRK = None if os.environ.get("BENCH_LOAD") == "httpx" else shutil.which("wrk")
GENERATOR = "wrk (Lua script rotating the requests)" if WRK else "async httpx loop"

Request = tuple[str, str, dict[str, Any] | None]

LUA = r"""
local requests = {}
local counter = 0

-- Each run starts at a place of its own (Lua's generator starts from the same seed in
-- every process): runs repeating the same stretch would find it in the server's caches.
math.randomseed(SEED)

function setup(thread)
  -- Threads start at different places of the rotation.
  thread:set("offset", tostring(math.random(0, 1000000)))
end

function init(args)
  counter = tonumber(offset or "0")
  for line in io.lines(REQUESTS) do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
    if body == "" then
      requests[#requests + 1] = wrk.format(method, path, HEADERS)
    else
      requests[#requests + 1] = wrk.format(method, path, BODY_HEADERS, body)
    end
  end
end

function request()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d status_errors=%d socket_errors=%d "
    .. "p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Load:
    """What one run of the load generator saw, and the server's CPU time during it."""

    connections: int
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    server_cpu_s: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        """Server CPU (all its threads) per answered request."""
        return self.server_cpu_s / max(self.requests, 1) * 1000


def run(server: Server, requests: Sequence[Request], connections: int, seconds: float) -> Load:
    """Load ``server`` with ``connections`` keep-alive connections for ``seconds``."""
    cpu_before = server.cpu_seconds()
    headers = server.headers
    if WRK:
        requests_, duration, errors, p50, p99 = _wrk(
            server.url, headers, requests, connections, seconds
        )
    else:
        requests_, duration, errors, p50, p99 = asyncio.run(
            _httpx(server.url, headers, requests, connections, seconds)
        )
    cpu = server.cpu_seconds() - cpu_before
    if errors:
        raise RuntimeError(f"{errors} of {requests_} requests failed")
    return Load(connections, requests_, duration, errors, p50, p99, cpu)


def _lua_table(headers: dict[str, str]) -> str:
    # JSON's string escapes are Lua's for these ASCII values.
    return "{" + ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()) + "}"


def _wrk(
    url: str,
    headers: dict[str, str],
    requests: Sequence[Request],
    connections: int,
    seconds: float,
) -> tuple[int, float, int, float, float]:
    assert WRK is not None
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "requests.tsv"
        with data.open("w") as file:
            for method, path, body in requests:
                encoded = json.dumps(body, separators=(",", ":")) if body is not None else ""
                file.write(f"{method}\t{path}\t{encoded}\n")
        script = Path(folder) / "rotate.lua"
        body_headers = {**headers, "Content-Type": "application/json"}
        script.write_text(
            f"REQUESTS = {json.dumps(str(data))}\nHEADERS = {_lua_table(headers)}\n"
            f"BODY_HEADERS = {_lua_table(body_headers)}\nSEED = {random.randrange(2**31)}\n{LUA}"
        )
        # One wrk thread: it keeps far ahead of one Python server and leaves it the CPU.
        # wrk takes whole seconds.
        command = [WRK, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
        command += ["--timeout", "10s", "-s", str(script), url]
        done = subprocess.run(command, capture_output=True, text=True)
    match = re.search(r"^BENCH (.*)$", done.stdout, re.MULTILINE)
    if done.returncode or match is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    figures = dict(item.split("=") for item in match.group(1).split())
    return (
        int(figures["requests"]),
        int(figures["duration_us"]) / 1e6,
        int(figures["status_errors"]) + int(figures["socket_errors"]),
        int(figures["p50_us"]) / 1000,
        int(figures["p99_us"]) / 1000,
    )


async def _httpx(
    url: str,
    headers: dict[str, str],
    requests: Sequence[Request],
    connections: int,
    seconds: float,
) -> tuple[int, float, int, float, float]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    times: list[float] = []
    errors = 0
    async with httpx.AsyncClient(
        base_url=url, limits=limits, timeout=10, headers=headers
    ) as client:
        started = time.monotonic()
        deadline = started + seconds

        async def worker(offset: int) -> None:
            nonlocal errors
            i = offset
            while time.monotonic() < deadline:
                method, path, body = requests[i % len(requests)]
                start = time.perf_counter()
                response = await client.request(method, path, json=body)
                times.append(time.perf_counter() - start)
                errors += response.status_code >= 400
                i += connections

        # Each run starts at a place of its own, as the wrk script does.
        first = random.randrange(len(requests))
        await asyncio.gather(*(worker(first + n * 7919) for n in range(connections)))
        elapsed = time.monotonic() - started
    cuts = statistics.quantiles(times, n=100)
    return len(times), elapsed, errors, cuts[49] * 1000, cuts[98] * 1000


@dataclass(frozen=True)
class Figures:
    """Item 1's figures for one endpoint: latency with one connection, rate with many."""

    name: str
    one: Load
    many: Load

    def line(self) -> str:
        return (
            f"{self.name:<40} 1 conn: p50 {self.one.p50_ms:6.2f} ms  p99 {self.one.p99_ms:6.2f} ms"
            f"   {self.many.connections} conns: {self.many.rps:7.0f} req/s  "
            f"p50 {self.many.p50_ms:6.2f} ms  p99 {self.many.p99_ms:6.2f} ms  server CPU "
            f"{self.one.cpu_ms_per_request:5.2f}/{self.many.cpu_ms_per_request:5.2f} ms/req"
        )


def measure(
    name: str,
    server: Server,
    requests: Sequence[Request],
    *,
    seconds: float = 8.0,
    warmup: float = 2.0,
    connections: int = 16,
) -> Figures:
    """Warm up, then one connection for latency and ``connections`` for throughput."""
    subject = Subject(name, server, requests)
    return compare([subject], rounds=1, seconds=seconds, warmup=warmup, connections=connections)[0]


@dataclass(frozen=True)
class Subject:
    """Something to measure: a server and the requests that rotate through it."""

    name: str
    server: Server
    requests: Sequence[Request]


def compare(
    subjects: Sequence[Subject],
    *,
    rounds: int = 3,
    seconds: float = 3.0,
    warmup: float = 2.0,
    connections: int = 16,
) -> list[Figures]:
    """Measure ``subjects`` in turns, so that a load that comes and goes on a shared machine
    falls on all of them alike rather than on whichever ran at the wrong time.

    Each round runs every subject with one connection, then every subject with
    ``connections``; a figure is the median of the rounds' (the rate: all answers over all
    the time).
    """
    for subject in subjects:
        if warmup:
            run(subject.server, subject.requests, connections, warmup)
    ones: dict[str, list[Load]] = {subject.name: [] for subject in subjects}
    manys: dict[str, list[Load]] = {subject.name: [] for subject in subjects}
    for _ in range(rounds):
        for subject in subjects:
            ones[subject.name].append(run(subject.server, subject.requests, 1, seconds))
        for subject in subjects:
            manys[subject.name].append(run(subject.server, subject.requests, connections, seconds))
    results = []
    for subject in subjects:
        figures = Figures(subject.name, _merge(ones[subject.name]), _merge(manys[subject.name]))
        print(figures.line(), flush=True)
        results.append(figures)
    return results


def _merge(loads: list[Load]) -> Load:
    return Load(
        connections=loads[0].connections,
        requests=sum(load.requests for load in loads),
        seconds=sum(load.seconds for load in loads),
        errors=sum(load.errors for load in loads),
        p50_ms=statistics.median(load.p50_ms for load in loads),
        p99_ms=statistics.median(load.p99_ms for load in loads),
        server_cpu_s=sum(load.server_cpu_s for load in loads),
    )


def figures_table(
    rows: Sequence[Figures], baseline: Figures | None = None, versus: str = "trivial"
) -> list[str]:
    """Item 1's columns for each row, with ratios to ``baseline`` (called ``versus``)."""
    header = ["endpoint", "1 conn p50 ms", "1 conn p99 ms", "16 conns req/s"]
    header += ["16 conns p50 ms", "16 conns p99 ms", "server CPU ms/req, 1 conn / 16"]
    if baseline is not None:
        header += [f"1 conn p50 ÷ {versus}", f"16 conns req/s ÷ {versus}"]
    lines = []
    for row in rows:
        cells = [row.name, f"{row.one.p50_ms:.2f}", f"{row.one.p99_ms:.2f}"]
        cells += [f"{row.many.rps:,.0f}", f"{row.many.p50_ms:.2f}", f"{row.many.p99_ms:.2f}"]
        cells.append(f"{row.one.cpu_ms_per_request:.2f} / {row.many.cpu_ms_per_request:.2f}")
        if baseline is not None:
            cells.append(f"{row.one.p50_ms / baseline.one.p50_ms:.2f}x")
            cells.append(f"{row.many.rps / baseline.many.rps:.0%}")
        lines.append(cells)
    return table(header, lines)
