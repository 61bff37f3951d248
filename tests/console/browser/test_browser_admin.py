"""Administration in the console: an admin creates a key and its token is shown once;
the audit trail shows a reviewer's move of ``production``; other roles have no way in."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect

from console.browser.harness import ROLES, Server, Watch, signed_in, unique
from console.browser.test_browser_labels import prompt_with_production_on_v1

from conftest import bearer


def test_an_admin_creates_a_key_and_the_token_is_shown_once(
    page: Page, console_server: Server
) -> None:
    owner = unique("browser-translator")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    signed_in(page, console_server, "admin", next_path="/console/admin/keys")

    page.get_by_label("Owner").fill(owner)
    page.get_by_label("Role").select_option("translator")
    page.get_by_label("Locales (translators only)").fill("fr de-CH")
    page.get_by_role("button", name="Create the key").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("created")
    expect(page.get_by_role("alert")).to_contain_text("it will not be shown again")
    field = page.get_by_label(re.compile(rf"Token for {owner}"))
    token = field.input_value()
    assert re.fullmatch(r"rk_[a-z0-9]{10}_[A-Za-z0-9_-]{40,}", token), token

    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == token

    # The token works: the API knows the key and its scope.
    with httpx.Client(base_url=console_server.url, headers=bearer(token)) as api:
        assert api.get("/v1/prompts", params={"limit": 1}).status_code == 200
    with console_server.api("admin") as api:
        listed = api.get("/v1/keys").json()
    created = next(k for k in listed if k["owner"] == owner)
    assert (created["role"], created["locales"]) == ("translator", ["de_CH", "fr"])

    # Shown once: the address is already the key's page, which a reload shows without
    # the token, and nothing the console serves holds it any more.
    expect(page).to_have_url(re.compile(rf"/console/admin/keys/{created['id']}$"))
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_contain_text(created["prefix"])
    assert token not in page.content()
    page.goto(f"{console_server.url}/console/admin/keys")
    expect(page.locator("#keys")).to_contain_text(owner)
    assert token not in page.content()


def test_the_audit_trail_shows_a_reviewers_move_of_production(
    open_page: Callable[..., Page], console_server: Server
) -> None:
    name = prompt_with_production_on_v1(console_server)
    reviewer = signed_in(
        open_page(),
        console_server,
        "reviewer",
        next_path=f"/console/prompts/{name}/-/labels/production",
    )
    reviewer.get_by_label("Move to version").fill("2")
    reviewer.get_by_label("Reason").fill("the audit trail should say so")
    reviewer.get_by_role("button", name="Move label").click()
    expect(reviewer).to_have_url(re.compile(r"#labels$"))

    page = signed_in(open_page(), console_server, "admin", next_path="/console/admin/audit")
    page.get_by_label("Prompt").fill(name)
    page.get_by_label("Action").fill("label.move")
    page.get_by_role("button", name="Filter").click()

    rows = page.locator("#audit tbody tr")
    expect(rows.first).to_contain_text("console-reviewer")
    expect(rows.first).to_contain_text(f"{name}:production")
    rows.first.get_by_text("Before and after").click()
    expect(rows.first.locator("pre.before")).to_contain_text('"version": 1')
    expect(rows.first.locator("pre.after")).to_contain_text('"version": 2')
    expect(rows.first.locator("pre.after")).to_contain_text("the audit trail should say so")
    # The admin's own move at setup is older, further down.
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("console-admin")


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_only_admins_see_the_administration(
    page: Page, console_server: Server, watch: Watch, role: str
) -> None:
    signed_in(page, console_server, role)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)

    watch.expect(403, r"^/console/admin/keys$")
    page.goto(f"{console_server.url}/console/admin/keys")
    expect(page.get_by_role("alert")).to_contain_text(f"keys with the {role} role may not do this")
    expect(page.get_by_role("button", name="Create the key")).to_have_count(0)


def test_revoking_a_key_ends_its_console_sessions_at_once(
    open_page: Callable[..., Page], console_server: Server
) -> None:
    owner = unique("browser-leaving")
    with console_server.api("admin") as api:
        made = api.post("/v1/keys", json={"owner": owner, "role": "editor"})
    assert made.status_code == 201, made.text
    key = made.json()
    someone = open_page()
    someone.goto(f"{console_server.url}/console/sign-in")
    someone.get_by_label("API key").fill(key["token"])
    someone.get_by_role("button", name="Sign in").click()
    expect(someone.locator("header .who")).to_have_text(f"{owner} (editor)")

    admin = signed_in(
        open_page(), console_server, "admin", next_path=f"/console/admin/keys/{key['id']}"
    )
    admin.get_by_role("link", name="Revoke…").click()
    admin.locator("#confirm").get_by_role("button").click()
    expect(admin.get_by_role("status")).to_be_visible()

    # The session the key opened is over: the next page asks to sign in again.
    someone.reload()
    expect(someone).to_have_url(re.compile(r"/console/sign-in"))
    expect(someone.locator("header .who")).to_have_count(0)
