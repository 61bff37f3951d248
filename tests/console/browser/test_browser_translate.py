"""Translating in the console: a translator finds a stale entry, sees what changed in the
source, fixes the text with a variable inserted as a token and submits it; a reviewer
approves it, and the API then serves it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from console.browser.harness import Server, signed_in, unique


def stale_fr_translation(server: Server) -> str:
    """A prompt whose approved French text went stale with its second version."""
    name = unique("browser/translate") + "/greet"
    who = [{"name": "who"}]
    with server.api("admin") as api:
        assert api.post("/v1/prompts", json={"name": name}).status_code == 201
        first = {"template": "Hello {{ who }}, welcome!", "variables": who}
        assert api.post(f"/v1/prompts/{name}/-/versions", json=first).status_code == 201
        url = f"/v1/prompts/{name}/-/translations/fr"
        put = api.put(url, json={"template": "Bonjour {{ who }}, bienvenue !"})
        assert put.status_code == 201, put.text
        assert api.post(f"{url}/review", json={"action": "approve"}).status_code == 200
        second = {"template": "Hello {{ who }}, welcome back to our shop!", "variables": who}
        assert api.post(f"/v1/prompts/{name}/-/versions", json=second).status_code == 201
        assert api.get(url).json()["status"] == "stale"
    return name


def test_a_translator_fixes_a_stale_entry_and_a_reviewer_approves_it(
    page: Page, console_server: Server
) -> None:
    name = stale_fr_translation(console_server)
    folder = name.rsplit("/", 1)[0] + "/"
    signed_in(
        page,
        console_server,
        "translator",
        next_path=f"/console/translate?locale=fr&folder={folder}",
    )
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("stale")
    row.get_by_role("link", name=name).click()

    # The source's change since the translation: the words added are marked.
    expect(page.locator(".diff-inline ins")).to_contain_text("back to our shop")
    field = page.get_by_label("Translation", exact=True)
    expect(field).to_have_value("Bonjour {{ who }}, bienvenue !")
    # A text without the variable is flagged as it is typed.
    field.fill("Bon retour dans notre boutique, ")
    expect(page.locator("#check")).to_contain_text("variable missing from the translation: who")
    # The variable goes in as a token, exactly as written.
    page.get_by_role("button", name="Insert {{ who }}").click()
    field.press("End")
    field.type(" !")
    expect(field).to_have_value("Bon retour dans notre boutique, {{ who }} !")
    expect(page.locator("#check")).not_to_contain_text("variable missing")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_role("status")).to_contain_text("Submitted for review.")

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("input[name=token]")).to_be_visible()
    signed_in(
        page, console_server, "reviewer", next_path=f"/console/review?locale=fr&folder={folder}"
    )
    page.get_by_role("row").filter(has_text=name).get_by_role(
        "link", name=re.compile("Open")
    ).click()
    expect(page.locator(".translation-text")).to_have_text(
        "Bon retour dans notre boutique, {{ who }} !"
    )
    page.get_by_label("Note").fill("reads well")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("1 translation approved.")

    with console_server.api("reader") as api:
        resolved = api.get(
            f"/v1/prompts/{name}/-/resolve", params={"locale": "fr", "label": "latest"}
        )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["locale_match"] == "exact"
    assert "Bon retour dans notre boutique, {{ who }} !" in resolved.text
