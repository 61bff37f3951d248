"""Signing in and out of the console, as each role, in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from console.browser.harness import ROLES, Server, Watch, signed_in
from registry.locales.messages import _, use_locale


def translated(locale: str, message: str) -> str:
    """``message`` as the registry's catalog for ``locale`` has it."""
    with use_locale(locale):
        return _(message)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_signs_in_sees_who_it_is_and_signs_out(
    page: Page, console_server: Server, role: str
) -> None:
    signed_in(page, console_server, role)

    expect(page).to_have_url(re.compile(r"/console/prompts$"))
    expect(page.locator("header .who")).to_have_text(f"console-{role} ({role})")
    expect(page.get_by_role("link", name="classify/support-ticket")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    expect(page.locator("header .who")).to_have_count(0)
    # The session is gone: a console page sends the browser to sign in again.
    page.goto(f"{console_server.url}/console/prompts")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next=(/|%2F)console(/|%2F)prompts$"))


def test_a_wrong_key_is_refused_on_the_form(
    page: Page, console_server: Server, watch: Watch
) -> None:
    watch.expect(401, r"^/console/sign-in$")
    page.goto(f"{console_server.url}/console/sign-in")
    page.get_by_label("API key").fill("rk_nothing_here")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("API key")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("header .who")).to_have_count(0)


def test_signing_in_leads_back_to_the_page_asked_for(page: Page, console_server: Server) -> None:
    page.goto(f"{console_server.url}/console/prompts/support/greeting")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))

    page.get_by_label("API key").fill(console_server.tokens["reader"])
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/console/prompts/support/greeting$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("support/greeting")


def test_the_root_leads_to_the_console(page: Page, console_server: Server) -> None:
    page.goto(f"{console_server.url}/")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))


def test_sign_in_by_keyboard_alone_with_the_focus_visible(
    page: Page, console_server: Server
) -> None:
    page.goto(f"{console_server.url}/console/sign-in")
    token = page.get_by_label("API key")
    expect(token).to_be_focused()  # autofocus: the one thing to do here
    outline = token.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline not in ("", "none")

    page.keyboard.type(console_server.tokens["editor"])
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/console/prompts$"))
    # The first Tab reaches the skip link, which shows itself when focused.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()


def test_the_console_speaks_the_browsers_language_and_can_switch(
    open_page: Callable[..., Page], console_server: Server
) -> None:
    page = open_page(locale="fr-FR")
    page.goto(f"{console_server.url}/console/sign-in")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text(translated("fr", "Sign in"))

    page.get_by_label(translated("fr", "Language")).select_option("de")
    page.locator("form.language button").click()

    expect(page.locator("html")).to_have_attribute("lang", "de")
    signed_in(page, console_server, "translator")
    # The choice outlives signing in, and beats the browser's language.
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text(translated("de", "Prompts"))
    expect(page.get_by_role("button", name=translated("de", "Sign out"))).to_be_visible()
