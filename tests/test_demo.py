"""The demo library seeds cleanly and every prompt in it renders."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry.demo import seed_demo
from registry.demo.library import LIBRARY

SAMPLE_VALUES: dict[str, Any] = {
    "ticket": "I was charged twice this month.",
    "review": "Works, but the manual is useless.",
    "article": "The city opened a new library on Monday. It holds 200,000 books.",
    "question": "How do I reset my password?",
    "customer_name": "Mia",
    "invoice": "Invoice 42, 2026-11-02, total 99.00 EUR, Acme GmbH",
    "sender": "Lee",
    "email": "My order has not arrived.",
    "diff": "- x = 1\n+ x = 2",
}


def test_demo_library_has_the_required_kinds_of_prompt() -> None:
    names = {entry["name"] for entry in LIBRARY}
    assert len(names) >= 8
    assert any(e["kind"] == "chat" for e in LIBRARY)
    includers = [
        e["name"]
        for e in LIBRARY
        if any("shared/tone-of-voice" in str(v) for v in e["versions"])
        and e["name"] != "shared/tone-of-voice"
    ]
    assert len(includers) >= 3
    few_shot = next(e for e in LIBRARY if e["name"] == "sentiment/few-shot")
    assert "{% for example in examples %}" in few_shot["versions"][0]["template"]


def test_seed_then_render_everything(session: Session, client: TestClient) -> None:
    # Each test runs in a rolled-back transaction, so the store starts empty.
    assert client.get("/v1/prompts", params={"limit": 1}).json()["items"] == []
    assert seed_demo(session) == len(LIBRARY)
    assert seed_demo(session) == 0  # not seeded twice
    for entry in LIBRARY:
        name = entry["name"]
        resolved = client.get(f"/v1/prompts/{name}/-/resolve").json()
        values = {
            v["name"]: SAMPLE_VALUES[v["name"]] for v in resolved["variables"] if v["required"]
        }
        response = client.post(f"/v1/prompts/{name}/-/render", json={"variables": values})
        assert response.status_code == 200, (name, response.text)
        body = response.json()
        output = body["text"] or " ".join(m["content"] for m in body["messages"])
        assert "{{" not in output and "{%" not in output
        for value in values.values():
            assert str(value) in output, (name, value)
    greeting = client.post(
        "/v1/prompts/support/greeting/-/render",
        json={"variables": {"customer_name": "Mia", "open_tickets": 2}},
    ).json()
    assert greeting["components"][0]["name"] == "shared/tone-of-voice"
    assert greeting["components"][0]["version"] == 2
    assert "You speak for Acme" in greeting["text"].replace("you speak", "You speak")
    history = client.get("/v1/prompts/shared/tone-of-voice/-/labels/production").json()
    assert [h["to_version"] for h in history["history"]] == [2, 1]


def test_demo_translations_show_the_whole_workflow(session: Session, client: TestClient) -> None:
    assert client.get("/v1/prompts", params={"limit": 1}).json()["items"] == []
    seed_demo(session)
    for locale in ("fr", "de", "es", "ja"):
        greeting = client.post(
            "/v1/prompts/support/greeting/-/render",
            json={"variables": {"customer_name": "Mia", "open_tickets": 3}, "locale": locale},
        ).json()
        assert greeting["locale"] == locale
        assert greeting["components"][0]["locale"] == locale
        assert "Mia" in greeting["text"]
        chat = client.post(
            "/v1/prompts/support/assistant/-/render",
            json={"variables": {"question": "?"}, "locale": locale},
        ).json()
        assert chat["locale"] == locale
        assert "Acme" in chat["messages"][0]["content"]
    french = client.post(
        "/v1/prompts/support/greeting/-/render",
        json={"variables": {"customer_name": "Mia", "open_tickets": 3}, "locale": "fr-CA"},
    ).json()
    assert french["locale_match"] == "fallback"
    assert "ses 3 tickets ouverts" in french["text"]
    # One stale translation: summarize/article's French on version 2.
    stale = client.get("/v1/prompts/summarize/article/-/translations/fr").json()
    assert (stale["version"], stale["status"]) == (2, "stale")
    assert stale["source_diff"]
    # One locale with only a draft: Italian, not served until approved.
    italian = client.get("/v1/prompts/support/greeting/-/resolve", params={"locale": "it"}).json()
    assert italian["locale"] == "en"
    preview = client.get(
        "/v1/prompts/support/greeting/-/resolve", params={"locale": "it", "preview": True}
    ).json()
    assert (preview["locale"], preview["translation_status"]) == ("it", "draft")
