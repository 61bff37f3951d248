"""Offline bundles: written from the registry, served with no registry or when it is down."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry import Client, ConnectionError, NotFoundError, ValidationError, write_bundle
from registry.client.bundle import BUNDLE_FORMAT_VERSION, load_bundle
from registry.demo import seed_demo
from registry.demo.library import LIBRARY

VALUES: dict[str, Any] = {
    "ticket": "Refund please.",
    "review": "Fine.",
    "article": "News.",
    "question": "Where is my parcel?",
    "customer_name": "Mia",
    "open_tickets": 2,
    "invoice": "Invoice 1",
    "sender": "Lee",
    "email": "Hello",
    "diff": "+ y",
}
LOCALES = [None, "en", "fr", "de", "es", "ja", "it", "fr-CA", "de-CH", "ja-JP", "pt-BR"]


@pytest.fixture
def demo(session: Session, client: TestClient) -> TestClient:
    seed_demo(session)
    return client


@pytest.fixture
def bundle_path(demo: TestClient, tmp_path: Path) -> Path:
    path = tmp_path / "prompts.json"
    write_bundle(Client(http_client=demo), path, labels=("production", "staging"))
    return path


@pytest.fixture
def offline(bundle_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    monkeypatch.delenv("REGISTRY_URL", raising=False)
    with Client(bundle=bundle_path) as sdk:
        yield sdk


def server_render(http: TestClient, name: str, label: str, locale: str | None) -> Any:
    values = {
        v["name"]: VALUES[v["name"]]
        for v in http.get(f"/v1/prompts/{name}/-/resolve").json()["variables"]
        if v["required"]
    }
    body: dict[str, Any] = {"variables": values, "label": label, "locale": locale}
    answer = http.post(f"/v1/prompts/{name}/-/render", json=body).json()
    output = answer["text"] or [
        {"role": m["role"], "content": m["content"]} for m in answer["messages"]
    ]
    return values, output, answer


class TestWriteBundle:
    def test_the_file_format(self, bundle_path: Path) -> None:
        data = json.loads(bundle_path.read_text(encoding="utf-8"))
        assert data["format"] == "prompt-registry-bundle"
        assert data["format_version"] == BUNDLE_FORMAT_VERSION == 1
        assert data["registry"] is None  # relative to the injected client's base URL
        keys = [
            (e["resolved"]["prompt"], e["resolved"]["label"], e["resolved"]["requested_locale"])
            for e in data["prompts"]
        ]
        assert keys == sorted(keys)
        assert {(name, label) for name, label, _ in keys} == {
            (entry["name"], label) for entry in LIBRARY for label, _, _ in entry["labels"]
        }
        greeting = {locale for name, label, locale in keys if name == "support/greeting"}
        # Italian is only a draft, so it is served in English: no entry of its own.
        assert greeting == {"en", "fr", "de", "es", "ja"}
        # A prompt with no translation of its own still serves a translated component.
        review = {locale for name, _, locale in keys if name == "email/reply-draft"}
        assert review == {"en", "fr", "de", "es", "ja"}
        assert {locale for name, _, locale in keys if name == "code/review"} == {"en"}
        source = data["prompts"][0]
        assert set(source) == {"source_locale", "resolved"}
        assert {"template", "messages", "components", "etag", "variables"} <= set(
            source["resolved"]
        )

    def test_chosen_names_labels_and_locales_with_progress(
        self, demo: TestClient, tmp_path: Path
    ) -> None:
        steps: list[tuple[int, int]] = []
        bundle = write_bundle(
            Client(http_client=demo),
            tmp_path / "some.json",
            names=["support/greeting", "summarize/article"],
            labels=("staging", "latest"),
            locales=["fr", "ja"],
            progress=lambda done, total: steps.append((done, total)),
        )
        keys = {(e.resolved.prompt, e.resolved.label, e.resolved.locale) for e in bundle.prompts}
        assert keys == {
            ("support/greeting", "latest", "en"),
            ("support/greeting", "latest", "fr"),
            ("support/greeting", "latest", "ja"),
            ("summarize/article", "staging", "en"),
            ("summarize/article", "latest", "en"),
        }
        assert steps == [(1, 2), (2, 2)]
        assert load_bundle(tmp_path / "some.json") == bundle

    def test_a_newer_format_is_refused(self, bundle_path: Path) -> None:
        data = json.loads(bundle_path.read_text(encoding="utf-8"))
        data["format_version"] = BUNDLE_FORMAT_VERSION + 1
        bundle_path.write_text(json.dumps(data), encoding="utf-8")
        with pytest.raises(ValueError, match="newer than this SDK reads"):
            load_bundle(bundle_path)


class TestBundleOnly:
    def test_renders_like_the_server_in_every_locale(
        self, offline: Client, demo: TestClient
    ) -> None:
        for entry in LIBRARY:
            name = entry["name"]
            for label in dict.fromkeys(label for label, _, _ in entry["labels"]):
                for locale in LOCALES:
                    values, expected, answer = server_render(demo, name, label, locale)
                    prompt = offline.get(name, label=label, locale=locale)
                    where = (name, label, locale)
                    assert prompt.origin == "bundle", where
                    assert prompt.render(**values) == expected, where
                    assert (prompt.locale, prompt.requested_locale, prompt.locale_match) == (
                        answer["locale"],
                        answer["requested_locale"],
                        answer["locale_match"],
                    ), where
                    assert [c.model_dump() for c in prompt.components] == answer["components"]

    def test_by_version_and_by_locale_list(self, offline: Client) -> None:
        article = offline.get("summarize/article", version=2)
        assert (article.version, article.label) == (2, None)
        greeting = offline.get("support/greeting", locale=["it", "de"])
        assert (greeting.locale, greeting.requested_locale) == ("de", "it")

    def test_what_the_bundle_lacks(self, offline: Client) -> None:
        with pytest.raises(NotFoundError, match="label production"):
            offline.get("no/such-prompt")
        with pytest.raises(NotFoundError, match="version 9"):
            offline.get("support/greeting", version=9)
        assert offline.get("no/such-prompt", fallback="Hi").is_fallback
        with pytest.raises(ValidationError):
            offline.get("support/greeting", label="production", version=1)
        with pytest.raises(ValidationError, match="invalid locale"):
            offline.get("support/greeting", locale="xx-!!")
        with pytest.raises(ConnectionError, match="bundle only"):
            offline.read_prompt("support/greeting")

    def test_bundled_prompts_are_cached(self, offline: Client) -> None:
        assert offline.get("support/greeting", locale="fr") is offline.get(
            "support/greeting", locale="fr"
        )


class TestBundleAsFallback:
    def test_served_when_the_registry_is_down(self, bundle_path: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with Client(url, bundle=bundle_path, max_retries=0) as sdk:
            prompt = sdk.get("support/greeting", locale="fr-CA", fallback="never used")
            assert (prompt.origin, prompt.is_fallback, prompt.locale) == ("bundle", False, "fr")
            with pytest.raises(ConnectionError):
                sdk.get("support/greeting", label="canary")

    def test_the_registry_wins_when_it_answers(self, demo: TestClient, bundle_path: Path) -> None:
        sdk = Client(http_client=demo, bundle=bundle_path)
        assert sdk.get("support/greeting").origin == "registry"
