"""Moving labels in the console: a reviewer moves ``production`` with a reason, and the
audit trail records it; an editor is shown that only reviewers move it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from console.browser.harness import Server, signed_in, unique


def prompt_with_production_on_v1(server: Server) -> str:
    """A new prompt with two versions and ``production`` on the first; its name."""
    name = unique("browser/labels")
    with server.api("admin") as api:
        assert api.post("/v1/prompts", json={"name": name}).status_code == 201
        for text in ("Answer {{ question }}.", "Answer {{ question }} in one sentence."):
            body = {"template": text, "variables": [{"name": "question"}]}
            assert api.post(f"/v1/prompts/{name}/-/versions", json=body).status_code == 201
        moved = api.put(
            f"/v1/prompts/{name}/-/labels/production", json={"version": 1, "reason": "launch"}
        )
        assert moved.status_code == 200, moved.text
    return name


def test_a_reviewer_moves_production_and_the_audit_trail_shows_it(
    page: Page, console_server: Server
) -> None:
    name = prompt_with_production_on_v1(console_server)
    signed_in(page, console_server, "reviewer", next_path=f"/console/prompts/{name}")

    labels = page.locator("#labels")
    production = labels.get_by_role("row").filter(has_text="production")
    expect(production.get_by_role("cell").first).to_have_text("1")
    production.get_by_role("link", name="Move or see history").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("production")
    page.get_by_label("Move to version").fill("2")
    page.get_by_label("Reason").fill("one-sentence answers tested well")
    page.get_by_role("button", name="Move label").click()

    # Back on the prompt's page: the label is on version 2, moved by the reviewer.
    expect(page).to_have_url(re.compile(rf"/console/prompts/{name}#labels$"))
    production = page.locator("#labels").get_by_role("row").filter(has_text="production")
    expect(production).to_contain_text("console-reviewer")
    expect(production).to_contain_text("one-sentence answers tested well")
    expect(production.get_by_role("link", name="2", exact=True)).to_be_visible()

    with console_server.api("admin") as api:
        resolved = api.get(f"/v1/prompts/{name}/-/resolve", params={"label": "production"})
        assert resolved.json()["version"] == 2
        events = api.get("/v1/audit", params={"prompt": name, "action": "label.move"}).json()
    newest = events["items"][0]
    assert newest["actor"] == "console-reviewer"
    assert newest["target"] == f"{name}:production"
    assert newest["before"] == {"version": 1}
    assert newest["after"] == {"version": 2, "reason": "one-sentence answers tested well"}


def test_an_editor_is_told_only_reviewers_move_production(
    page: Page, console_server: Server
) -> None:
    name = prompt_with_production_on_v1(console_server)
    signed_in(page, console_server, "editor", next_path=f"/console/prompts/{name}")

    expect(page.locator("#labels")).to_contain_text("Only reviewers and admins move it")
    page.locator("#labels").get_by_role("row").filter(has_text="production").get_by_role(
        "link", name="History"
    ).click()

    expect(page).to_have_url(re.compile(r"/-/labels/production$"))
    expect(page.get_by_role("button", name="Move label")).to_have_count(0)
    expect(page.get_by_text("ask a reviewer")).to_be_visible()
