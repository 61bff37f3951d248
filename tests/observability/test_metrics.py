"""GET /metrics through the real ASGI app, and across the workers of `registry serve`."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from test_faults import registry_serve

from registry import migrate
from registry.app import create_app
from registry.config import Settings
from registry.observability.metrics import metered_pool, webhook_attempted, webhook_backlog

from conftest import admin_token, bearer

RESOLVE = "/v1/prompts/{name}/-/resolve"
RENDER = "/v1/prompts/{name}/-/render"
NAME = "metrics/very-secret-launch-plan"
WHO = [{"name": "who", "type": "string"}]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(exposition: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def scrape(client: TestClient | httpx.Client, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests_of(samples: Samples, method: str, route: str, status: int) -> float:
    labels = {"method": method, "route": route, "status": str(status)}
    return value(samples, "registry_http_requests_total", **labels)


def publish(client: TestClient | httpx.Client, name: str, template: str) -> None:
    assert client.post("/v1/prompts", json={"name": name}).status_code == 201
    body = {"template": template, "variables": WHO}
    published = client.post(f"/v1/prompts/{name}/-/versions", json=body)
    assert published.status_code == 201, published.text


class TestRequests:
    def test_counted_by_route_template_and_status_never_by_path(self, client: TestClient) -> None:
        publish(client, NAME, "Hello {{ who }}.")
        before = scrape(client)
        for _ in range(3):
            resolved = client.get(f"/v1/prompts/{NAME}/-/resolve", params={"version": 1})
            assert resolved.status_code == 200
        assert client.get("/v1/prompts/metrics/nothing-here/-/resolve").status_code == 404
        response = client.get("/metrics")
        after = parse(response.text)

        assert (
            requests_of(after, "GET", RESOLVE, 200) - requests_of(before, "GET", RESOLVE, 200) == 3
        )
        assert (
            requests_of(after, "GET", RESOLVE, 404) - requests_of(before, "GET", RESOLVE, 404) == 1
        )
        assert "very-secret" not in response.text and "nothing-here" not in response.text
        assert "metrics/" not in response.text

    def test_latency_histogram_has_every_bucket(self, client: TestClient) -> None:
        assert client.get("/healthz").status_code == 200
        samples = scrape(client)
        buckets = {
            dict(labels)["le"]: count
            for (name, labels), count in samples.items()
            if name == "registry_http_request_duration_seconds_bucket"
            and dict(labels)["route"] == "/healthz"
            and dict(labels)["method"] == "GET"  # other tests of the process use others
        }
        assert {"0.0005", "0.01", "1.0", "10.0", "+Inf"} <= buckets.keys()
        assert buckets["+Inf"] >= 1
        assert buckets["+Inf"] == value(
            samples, "registry_http_request_duration_seconds_count", method="GET", route="/healthz"
        )

    def test_unknown_paths_and_methods_get_fixed_labels(self, client: TestClient) -> None:
        before = scrape(client)
        assert client.get("/no/such/place-7f3a").status_code == 404
        assert client.request("BREW", "/healthz").status_code == 405
        response = client.get("/metrics")
        after = parse(response.text)
        assert "place-7f3a" not in response.text and "BREW" not in response.text
        assert (
            requests_of(after, "GET", "unmatched", 404)
            - requests_of(before, "GET", "unmatched", 404)
            == 1
        )
        assert (
            requests_of(after, "other", "/healthz", 405)
            - requests_of(before, "other", "/healthz", 405)
            == 1
        )

    def test_a_body_refused_before_routing_is_named_by_its_route(self, client: TestClient) -> None:
        before = scrape(client)
        too_large = client.post("/v1/prompts", content=b"x" * (65 * 1024))
        assert too_large.status_code == 413
        after = scrape(client)
        route = "/v1/prompts"
        assert requests_of(after, "POST", route, 413) - requests_of(before, "POST", route, 413) == 1


class TestFailures:
    def test_render_failures_by_cause(self, client: TestClient) -> None:
        publish(client, "metrics/adds", "{{ who + 1 }}")
        publish(client, "metrics/plain", "Hello {{ who }}.")
        before = scrape(client)
        failed = client.post(
            RENDER.format(name="metrics/adds"), json={"version": 1, "variables": {"who": "Ann"}}
        )
        assert failed.status_code == 422
        missing = client.post(
            RENDER.format(name="metrics/plain"), json={"version": 1, "variables": {}}
        )
        assert missing.status_code == 422
        after = scrape(client)

        def delta(cause: str) -> float:
            name = "registry_render_failures_total"
            labels = {"code": "render-failed", "cause": cause}
            return value(after, name, **labels) - value(before, name, **labels)

        assert delta("TypeError") == 1
        assert delta("values") == 1

    def test_style_refusals_by_level(self, client: TestClient) -> None:
        assert client.post("/v1/prompts", json={"name": "metrics/refused"}).status_code == 201
        before = scrape(client)
        secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD"
        template = f"TODO: finish this.\nHelp {{{{ who }}}} with {secret}."
        refused = client.post(
            "/v1/prompts/metrics/refused/-/versions", json={"template": template, "variables": WHO}
        )
        assert refused.status_code == 422
        errors = sum(1 for f in refused.json()["findings"] if f["level"] == "error")
        after = scrape(client)
        assert (
            value(after, "registry_style_refusals_total")
            - value(before, "registry_style_refusals_total")
            == 1
        )
        name = "registry_style_refused_findings_total"
        assert value(after, name, level="error") - value(before, name, level="error") == errors >= 2


class TestAccess:
    def test_open_by_default(self, client: TestClient) -> None:
        response = client.get("/metrics", headers={"Authorization": ""})
        assert response.status_code == 200

    def test_a_key_when_the_setting_asks_for_one(self, migrated_url: str) -> None:
        app = create_app(Settings(database_url=migrated_url, metrics_require_key=True))
        token = admin_token(migrated_url)
        with TestClient(app, raise_server_exceptions=False) as client:
            refused = client.get("/metrics")
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"
            wrong = client.get("/metrics", headers=bearer("rk_nope_nothing"))
            assert wrong.status_code == 401
            assert client.get("/metrics", headers=bearer(token)).status_code == 200

    def test_openmetrics_when_asked(self, client: TestClient) -> None:
        response = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
        assert response.headers["content-type"].startswith("application/openmetrics-text")
        assert response.text.rstrip().endswith("# EOF")


class TestDatabasePool:
    def test_connections_in_use_waits_and_timeouts(
        self, tmp_path: Path, client: TestClient
    ) -> None:
        engine = create_engine(
            f"sqlite:///{tmp_path / 'pool.db'}",
            poolclass=metered_pool("test"),
            pool_size=1,
            max_overflow=0,
            pool_timeout=0.2,
        )
        try:
            before = scrape(client)
            held = engine.connect()
            held.execute(text("SELECT 1"))
            during = scrape(client)
            with pytest.raises(PoolTimeoutError):
                engine.connect()
            threading.Timer(0.05, held.close).start()
            with engine.connect() as waited:
                waited.execute(text("SELECT 1"))
            after = scrape(client)
        finally:
            engine.dispose()

        assert value(during, "registry_db_pool_connections_in_use", pool="test") == 1
        assert value(during, "registry_db_pool_connections_max", pool="test") == 1
        assert value(after, "registry_db_pool_connections_in_use", pool="test") == 0
        waits = "registry_db_pool_wait_seconds_count"
        assert value(after, waits, pool="test") - value(before, waits, pool="test") == 2
        timeouts = "registry_db_pool_timeouts_total"
        assert value(after, timeouts, pool="test") - value(before, timeouts, pool="test") == 1

    def test_the_registry_engine_is_metered(self, client: TestClient) -> None:
        assert value(scrape(client), "registry_db_pool_connections_max", pool="main") > 0


class TestWebhooks:
    def test_deliveries_lag_and_backlog(self, client: TestClient) -> None:
        before = scrape(client)
        webhook_attempted("failed")
        webhook_attempted("delivered", lag_seconds=2.0)
        webhook_backlog(3, 42.0)
        after = scrape(client)
        deliveries = "registry_webhook_deliveries_total"
        for outcome in ("failed", "delivered"):
            change = value(after, deliveries, outcome=outcome) - value(
                before, deliveries, outcome=outcome
            )
            assert change == 1
        lag = "registry_webhook_delivery_lag_seconds_sum"
        assert value(after, lag) - value(before, lag) == pytest.approx(2.0)
        assert value(after, "registry_webhook_pending_deliveries") == 3
        assert value(after, "registry_webhook_oldest_pending_seconds") == 42.0
        webhook_backlog(0, 0.0)


def test_totals_add_up_across_worker_processes(tmp_path: Path) -> None:
    """Two workers each answer some of the requests; a scrape of either counts them all."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrate.upgrade(url)
    token = admin_token(url)
    directory = tmp_path / "metrics"
    env = {"PROMETHEUS_MULTIPROC_DIR": str(directory)}
    with registry_serve(url, tmp_path, "--workers", "2", env=env) as (_, base):
        with httpx.Client(base_url=base, headers=bearer(token), timeout=30) as http:
            publish(http, NAME, "Hello {{ who }}.")
        sent = 0
        # A new connection for each request, so the kernel spreads them over both workers.
        while sent < 40 or (len(per_process(directory)) < 2 and sent < 400):
            resolved = httpx.get(
                f"{base}{RESOLVE.format(name=NAME)}", params={"version": 1}, headers=bearer(token)
            )
            assert resolved.status_code == 200
            sent += 1
        counts = per_process(directory)
        assert len(counts) == 2, counts
        assert sum(counts.values()) == sent
        for _ in range(4):  # whichever worker answers the scrape
            with httpx.Client(base_url=base) as scraper:
                samples = scrape(scraper)
            assert requests_of(samples, "GET", RESOLVE, 200) == sent
            time.sleep(0.05)


def per_process(directory: Path) -> Mapping[int, float]:
    """The resolves each worker counted, read from its own file."""
    counts: dict[int, float] = {}
    for file in directory.glob("counter_*.db"):
        pid = int(file.stem.rsplit("_", 1)[1])
        for family in MultiProcessCollector.merge([str(file)]):  # type: ignore[no-untyped-call]
            for sample in family.samples:
                labels: dict[str, Any] = sample.labels
                if (
                    sample.name == "registry_http_requests_total"
                    and labels.get("route") == RESOLVE
                    and labels.get("status") == "200"
                    and sample.value
                ):
                    counts[pid] = counts.get(pid, 0.0) + sample.value
    return counts
