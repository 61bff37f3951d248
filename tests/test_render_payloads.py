"""Templates built to exhaust a server, published and rendered against `registry serve`.

Each payload is published as an editor would and rendered as a reader would. A payload
is refused with a 422 problem+json, at publish or at render, within two seconds; the
server's peak memory grows by less than 100 MB over the whole corpus; and ``/healthz``
answers within a second while a render runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_faults import registry_serve

from registry import migrate
from registry.templating.limits import MAX_RENDER_SECONDS

from conftest import admin_token, bearer

PROBLEM_JSON = "application/problem+json"
N = [{"name": "n", "type": "integer"}]


def with_text(template: str, piece: str, count: int) -> tuple[str, list[Any], dict[str, Any]]:
    """``template`` with ``s`` set to ``piece * count``, built by the template itself: the
    request body is limited to 1 MB, the values a template builds are not."""
    return "{% set s = '" + piece + "' * " + str(count) + " %}" + template, [], {}


# name: (template, declared variables, values)
PAYLOADS: dict[str, tuple[str, list[dict[str, Any]], dict[str, Any]]] = {
    # The outside review's payloads.
    "lipsum": ("{{ lipsum(200000, false, 99, 100)|length }}", [], {}),
    # One comparison of containers is one call that no tick can stop.
    "in on shared lists": ("{{ [0] * 100000 in [[0] * 100000] * 100000 }}", [], {}),
    "is in test": ("{{ ([[1] * 999] * 100)|select('in', [[1] * 1000] * 100000)|list }}", [], {}),
    "center 10**10": ("{{ 'a'|center(10000000000)|length }}", [], {}),
    "center 10**9": ("{{ 'a'|center(1000000000)|length }}", [], {}),
    "replace four times": (
        "{{ ('a' * 1000000)|replace('a', 'aaaaaaaaaa')|replace('a', 'aaaaaaaaaa')"
        "|replace('a', 'aaaaaaaaaa')|replace('a', 'aaaaaaaaaa')|length }}",
        [],
        {},
    ),
    "format filter width": ("{{ '%0100000000d'|format(1) }}", [], {}),
    "percent width": ("{{ '%0100000000d' % 1 }}", [], {}),
    "str.format width": ("{{ '{:>100000000}'.format(1) }}", [], {}),
    "indent width": ("{{ 'a\nb'|indent(100000000, true) }}", [], {}),
    "200 nested for": ("{% for i in [1] %}" * 200 + "x" + "{% endfor %}" * 200, [], {}),
    "5000 nested parentheses": ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", [], {}),
    "199999 braces": ("{" * 199_999, [], {}),
    # Our own: one or more for every construct the limits bound.
    "ljust": ("{{ 'a'.ljust(n) }}", N, {"n": 10**9}),
    "zfill": ("{{ '1'.zfill(10**9) }}", [], {}),
    "expandtabs": ("{{ ('\t' * 1000).expandtabs(n) }}", N, {"n": 10**6}),
    "str.join": ("{{ (',' * 100000).join(['a'] * 100000) }}", [], {}),
    "str.replace": with_text("{{ s.replace('a', 'bb') }}", "a", 600_000),
    "translate": ("{{ ('a' * 1000).translate({97: 'b' * 10000}) }}", [], {}),
    "percent star width": ("{{ '%*d' % (n, 1) }}", N, {"n": 10**9}),
    "percent repeated key": with_text("{{ '%(a)s%(a)s%(a)s' % {'a': s} }}", "x", 500_000),
    "format nested width": ("{{ '{0:{1}}'.format(1, n) }}", N, {"n": 10**9}),
    "format precision": ("{{ '{:.100000000f}'.format(1.5) }}", [], {}),
    "format_map repeated field": with_text("{{ '{a}{a}{a}'.format_map({'a': s}) }}", "x", 500_000),
    "concatenation": with_text("{{ s ~ s }}", "x", 600_000),
    "doubling by concatenation": (
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
        [],
        {},
    ),
    "plus on texts": with_text("{{ s + s }}", "x", 600_000),
    "plus on lists": ("{{ ([1] * 90000 + [2] * 90000)|length }}", [], {}),
    "list repetition": ("{{ ([0] * n)|length }}", N, {"n": 10**8}),
    "integer growth": (
        "{% set ns = namespace(x=3) %}{% for i in range(100) %}{% set ns.x = ns.x * ns.x %}"
        "{% endfor %}{{ ns.x }}",
        [],
        {},
    ),
    "to_bytes": ("{{ (1).to_bytes(n, 'big')|length }}", N, {"n": 10**9}),
    "printing a list of large texts": with_text("{{ [s] * 10 }}", "x", 500_000),
    "join": with_text("{{ ([s] * 100)|join }}", "x", 100_000),
    "wordwrap": with_text("{{ s|wordwrap(1) }}", "a b ", 200_000),
    "wordwrap long word": with_text("{{ s|wordwrap(1, wrapstring=s) }}", "a", 50_000),
    "urlize": with_text("{{ s|urlize(rel=s) }}", "www.a.com ", 9_000),
    "tojson indent": ("{{ (range(1000)|list)|tojson(indent=n) }}", N, {"n": 10**6}),
    "pprint of a large list": with_text("{{ ([s] * 100)|pprint }}", "x", 100_000),
    "batch fill": ("{{ [1, 2, 3]|batch(n, 0)|list }}", N, {"n": 10**9}),
    "slice count": ("{{ [1, 2, 3]|slice(n)|list|length }}", N, {"n": 10**9}),
    "round precision": ("{{ 1.5|round(n, 'ceil') }}", N, {"n": 10**9}),
    "sort of shared lists": ("{{ ([[0] * 100000] * 100000)|sort|length }}", [], {}),
    "sum of lists": ("{{ ([[0] * 1000] * 100000)|sum(start=[])|length }}", [], {}),
    "xmlattr": with_text("{{ {'a': s}|xmlattr }}", '"', 900_000),
    "urlencode": with_text("{{ {'a': s}|urlencode }}", "\u00e9", 900_000),
    "center of a list": with_text("{{ ([s] * 100)|center(10) }}", "x", 100_000),
    "plural": with_text("{{ 3|plural(other=s) }}", "#", 900_000),
    "number pattern": with_text("{{ 1|number(s) }}", "#", 1_000_000),
    "set block capture": with_text(
        "{% set t %}{% for i in range(1000) %}{{ s }}{% endfor %}{% endset %}{{ t|length }}",
        "x",
        1_000_000,
    ),
    "macro results": with_text(
        "{% macro m() %}{{ s }}{% endmacro %}{% for i in range(1000) %}{% set y = m() %}"
        "{% endfor %}",
        "x",
        1_000_000,
    ),
    "loops without output": (
        "{% set l = [0] * 100000 %}{% for a in l %}{% for b in l %}{% endfor %}{% endfor %}",
        [],
        {},
    ),
    "unique of a generator": (
        "{{ (range(n)|map('string')|join(',' * 100))|length }}",
        N,
        {"n": 100_000},
    ),
    "operator chain": ("{{ n" + " + n" * 300 + " }}", N, {"n": 1}),
}

# A render that runs until the time budget stops it, for the /healthz check.
SLOW = PAYLOADS["loops without output"]
# A render stopped by the time budget is answered after the budget: it is rendered once.
RENDERS_OF_A_FAILED_REQUEST = 1
TIME_BOUND = {"loops without output"}


def _peak_kib(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/<pid>/status")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, int]]:
    """`registry serve` (one process) on a new SQLite file, and a client with an admin key."""
    folder = tmp_path_factory.mktemp("payloads")
    url = f"sqlite:///{folder / 'registry.db'}"
    migrate.upgrade(url)
    token = admin_token(url)
    with (
        registry_serve(url, folder) as (process, base),
        httpx.Client(base_url=base, headers=bearer(token), timeout=30) as client,
    ):
        yield client, process.pid


def _publish(
    client: httpx.Client, name: str, template: str, variables: list[Any]
) -> httpx.Response:
    assert client.post("/v1/prompts", json={"name": name}).status_code == 201
    return client.post(
        f"/v1/prompts/{name}/-/versions",
        json={"template": template, "variables": variables, "labels": ["production"]},
    )


def _assert_refused(response: httpx.Response, elapsed: float, what: str) -> None:
    assert response.status_code == 422, f"{what}: {response.status_code} {response.text[:300]}"
    assert response.headers["content-type"] == PROBLEM_JSON, what
    assert response.json()["errors"], what
    seconds = 2.0
    if what in TIME_BOUND:
        seconds = RENDERS_OF_A_FAILED_REQUEST * MAX_RENDER_SECONDS + 0.5
    assert elapsed < seconds, f"{what} took {elapsed:.2f} s"


class TestPayloads:
    def test_every_payload_is_refused_quickly_within_bounded_memory(
        self, server: tuple[httpx.Client, int]
    ) -> None:
        client, pid = server
        # Warm up: the first render of a process imports and compiles what every render uses.
        published = _publish(client, "warm/up", "{{ n|number }} {{ n ~ 'x' }}", N)
        assert published.status_code == 201, published.text
        rendered = client.post("/v1/prompts/warm/up/-/render", json={"variables": {"n": 1}})
        assert rendered.status_code == 200, rendered.text
        before = _peak_kib(pid)
        for i, (what, (template, variables, values)) in enumerate(PAYLOADS.items()):
            name = f"payload/p{i}"
            started = time.monotonic()
            published = _publish(client, name, template, variables)
            if published.status_code != 201:
                _assert_refused(published, time.monotonic() - started, f"{what} (publish)")
                continue
            started = time.monotonic()
            response = client.post(f"/v1/prompts/{name}/-/render", json={"variables": values})
            _assert_refused(response, time.monotonic() - started, what)
        grown = (_peak_kib(pid) - before) / 1024
        assert grown < 100, f"the server's peak memory grew by {grown:.0f} MB"

    def test_healthz_answers_while_a_render_runs(self, server: tuple[httpx.Client, int]) -> None:
        client, _ = server
        template, variables, values = SLOW
        assert _publish(client, "slow/render", template, variables).status_code == 201
        answers: list[httpx.Response] = []
        render = threading.Thread(
            target=lambda: answers.append(
                client.post("/v1/prompts/slow/render/-/render", json={"variables": values})
            )
        )
        render.start()
        try:
            time.sleep(0.2)
            started = time.monotonic()
            health = httpx.get(client.base_url.join("/healthz"), timeout=5)
            elapsed = time.monotonic() - started
        finally:
            render.join()
        assert health.status_code == 200
        assert elapsed < 1, f"/healthz took {elapsed:.2f} s during a render"
        assert answers[0].status_code == 422, answers[0].text
