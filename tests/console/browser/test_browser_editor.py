"""Publishing from the console's editor: live findings under the text, a refused publish
that shows the guide's findings where they are, and a publish that goes through."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from console.browser.harness import Server, Watch, signed_in, unique

REFUSED = "Summarize {{ article }} in three sentences.\nKeep names as written.\nTODO: add examples"
# Where the guide's leftover-note finding is: line 3, column 1.
NOTE_OFFSET = REFUSED.index("TODO")


def prompt_with_one_version(server: Server) -> str:
    name = unique("browser/editor")
    body = {"template": "Summarize {{ article }}.", "variables": [{"name": "article"}]}
    with server.api("admin") as api:
        assert api.post("/v1/prompts", json={"name": name}).status_code == 201
        assert api.post(f"/v1/prompts/{name}/-/versions", json=body).status_code == 201
    return name


def versions_of(server: Server, name: str) -> list[int]:
    with server.api("reader") as api:
        page = api.get(f"/v1/prompts/{name}/-/versions").json()
    return [v["number"] for v in page["items"]]


def test_an_editor_sees_live_findings_then_a_refused_publish_shows_them_in_place(
    page: Page, console_server: Server, watch: Watch
) -> None:
    name = prompt_with_one_version(console_server)
    signed_in(page, console_server, "editor", next_path=f"/console/prompts/{name}")
    page.get_by_role("link", name="New version").click()
    expect(page).to_have_url(re.compile(rf"/console/prompts/{name}/-/edit"))

    template = page.get_by_label("Template")
    expect(template).to_have_value("Summarize {{ article }}.")
    template.fill(REFUSED)

    # Live: the lint runs as the editor types, and its findings appear under the text.
    live = page.locator("#lint .finding.error")
    expect(live).to_have_count(1)
    expect(live).to_contain_text("leftover note")
    expect(live.locator(".where")).to_have_text("line 3, column 1")

    watch.expect(422, rf"^/console/prompts/{name}/-/edit$")
    page.get_by_role("button", name="Publish version").click()

    # Refused: the page says why, keeps the text, and places each finding.
    expect(page.get_by_role("alert")).to_be_visible()
    expect(template).to_have_value(REFUSED)
    finding = page.locator("#lint .finding.error")
    expect(finding).to_have_count(1)
    expect(finding).to_have_attribute("data-line", "3")
    expect(finding).to_have_attribute("data-column", "1")
    expect(finding.locator("mark")).to_contain_text("TODO")
    assert versions_of(console_server, name) == [1]

    # "Go to" puts the cursor at the finding in the text.
    finding.get_by_role("button", name="Go to").click()
    expect(template).to_be_focused()
    assert template.evaluate("e => e.selectionStart") == NOTE_OFFSET

    # Fixed, it publishes.
    template.fill(REFUSED.replace("TODO: add examples", "Quote no more than ten words."))
    expect(page.locator("#lint .finding.error")).to_have_count(0)
    page.get_by_label("What changed (commit message)").fill("three sentences, names as written")
    page.get_by_role("button", name="Publish version").click()

    expect(page).to_have_url(re.compile(rf"/console/prompts/{name}\?published=2#version-2$"))
    expect(page.locator("#version-2")).to_contain_text("Quote no more than ten words.")
    assert versions_of(console_server, name) == [2, 1]


def test_a_reader_has_no_editor(page: Page, console_server: Server, watch: Watch) -> None:
    name = prompt_with_one_version(console_server)
    signed_in(page, console_server, "reader", next_path=f"/console/prompts/{name}")

    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_role("link", name="New version")).to_have_count(0)

    # Typing the address does not help: the server refuses as the API would.
    watch.expect(403, rf"^/console/prompts/{name}/-/edit$")
    page.goto(f"{console_server.url}/console/prompts/{name}/-/edit")
    expect(page.get_by_role("alert")).to_have_text(
        "keys with the reader role may not do this; it needs the editor role or above"
    )
    expect(page.get_by_label("Template")).to_have_count(0)


def test_typing_while_a_check_is_under_way_shows_the_newest_findings_without_errors(
    page: Page, console_server: Server
) -> None:
    name = prompt_with_one_version(console_server)
    signed_in(page, console_server, "editor", next_path=f"/console/prompts/{name}/-/edit")
    template = page.get_by_label("Template")
    expect(page.locator("#lint")).to_contain_text("No findings")
    # From now on every request takes 0.8 s more, so the check the first note starts
    # is still under way when the second note asks for another.
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 800, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    template.press("Control+End")
    with page.expect_request(re.compile(r"/-/lint$")):
        template.press_sequentially("\nTODO: a first note")
    template.press_sequentially("\nFIXME: a second note")

    findings = page.locator("#lint .finding.error")
    expect(findings).to_have_count(2)
    expect(findings.nth(1).locator(".where")).to_have_text("line 3, column 1")
    # No aborted request and no htmx error in the console (the watch checks both).
