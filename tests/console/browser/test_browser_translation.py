"""A translation's way through the console: a translator finds a stale entry in the
queue, sees what changed in the source, fixes the text and submits it; a reviewer
approves it, and the API then serves it. And the PO round trip: download the queue,
translate it in a PO editor, upload it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import polib
from playwright.sync_api import Page, expect

from console.browser.harness import Server, Watch, signed_in, unique

SOURCE_V1 = "Hello {{ name }}, welcome to the shop."
SOURCE_V2 = "Hello {{ name }}, welcome to our shop. We ship worldwide."
FRENCH_V1 = "Bonjour {{ name }}, bienvenue dans la boutique."
FRENCH_V2 = "Bonjour {{ name }}, bienvenue dans notre boutique. Nous livrons partout."


def prompt_with_a_stale_french_translation(server: Server) -> str:
    """A prompt whose French text was approved for version 1, stale since version 2, the
    version ``production`` serves."""
    name = unique("browser/translate")
    variables = [{"name": "name"}]
    with server.api("admin") as admin, server.api("translator") as translator:
        assert admin.post("/v1/prompts", json={"name": name}).status_code == 201
        body = {"template": SOURCE_V1, "variables": variables}
        assert admin.post(f"/v1/prompts/{name}/-/versions", json=body).status_code == 201
        french = {"version": 1, "template": FRENCH_V1, "status": "in_review"}
        submitted = translator.put(f"/v1/prompts/{name}/-/translations/fr", json=french)
        assert submitted.status_code in (200, 201), submitted.text
    with server.api("reviewer") as reviewer:
        review = {"version": 1, "action": "approve"}
        approved = reviewer.post(f"/v1/prompts/{name}/-/translations/fr/review", json=review)
        assert approved.status_code == 200, approved.text
    with server.api("admin") as admin:
        body = {"template": SOURCE_V2, "variables": variables}
        assert admin.post(f"/v1/prompts/{name}/-/versions", json=body).status_code == 201
        live = {"version": 2, "reason": "ships worldwide"}
        assert admin.put(f"/v1/prompts/{name}/-/labels/production", json=live).status_code == 200
    return name


def served_in_french(server: Server, name: str) -> dict[str, object]:
    with server.api("reader") as api:
        answer = api.get(f"/v1/prompts/{name}/-/resolve", params={"locale": "fr"})
    assert answer.status_code == 200, answer.text
    resolved: dict[str, object] = answer.json()
    return resolved


def test_a_stale_translation_is_fixed_submitted_approved_then_served(
    open_page: Callable[..., Page], console_server: Server
) -> None:
    name = prompt_with_a_stale_french_translation(console_server)
    # Until then the API serves the source: the French text is for an older source.
    assert served_in_french(console_server, name)["template"] == SOURCE_V2

    # The translator finds it in the queue, among the stale entries of its folder.
    page = signed_in(open_page(), console_server, "translator")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Translate").click()
    page.get_by_label("Locale", exact=True).select_option("fr")
    page.get_by_label("Folder", exact=True).fill("browser/")
    page.get_by_label("State", exact=True).select_option("stale")
    page.get_by_role("button", name="Show").click()
    entry = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
    expect(entry).to_contain_text("stale")
    entry.get_by_role("link", name=name).click()

    # Source on the left with what changed since the translation; the old text right.
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    changes = page.locator(".source-changes .diff-inline")
    expect(changes.locator("del")).to_contain_text("the")
    expect(changes.locator("ins").first).to_contain_text("our")
    expect(changes).to_contain_text("We ship worldwide.")
    text = page.get_by_label("Translation", exact=True)
    expect(text).to_have_value(FRENCH_V1)

    # A variable is a token to insert, not to type.
    text.fill("Bonjour , bienvenue dans notre boutique. Nous livrons partout.")
    text.evaluate("e => e.setSelectionRange(8, 8)")
    page.get_by_role("button", name="Insert {{ name }}").click()
    expect(text).to_have_value(FRENCH_V2)
    page.get_by_label("Note to the reviewer").fill("« notre » et la livraison")
    page.get_by_role("button", name="Submit for review").click()

    expect(page).to_have_url(re.compile(r"\?saved=in_review$"))
    expect(page.get_by_role("status")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("in_review")

    # The reviewer finds it awaiting review, reads it beside the source, approves it.
    review = signed_in(open_page(), console_server, "reviewer", next_path="/console/review")
    review.get_by_label("Locale", exact=True).fill("fr")
    review.get_by_label("Folder", exact=True).fill("browser/")
    review.get_by_role("button", name="Show").click()
    row = review.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("in_review")
    row.get_by_role("link", name=re.compile("Open")).click()

    expect(review.locator(".translation-text")).to_have_text(FRENCH_V2)
    note = review.locator("p").filter(has_text="Translator's note:")
    expect(note).to_contain_text("« notre » et la livraison")
    review.get_by_label("Note", exact=True).fill("parfait")
    review.get_by_role("button", name="Approve", exact=True).click()
    expect(review).to_have_url(re.compile(r"/console/review\?"))
    expect(review.get_by_role("status")).to_be_visible()

    # The API now serves the approved French text.
    served = served_in_french(console_server, name)
    assert (served["template"], served["locale"], served["version"]) == (FRENCH_V2, "fr", 2)
    assert served["translation_status"] == "approved"


def test_a_translator_has_no_review_and_a_reviewer_bulk_approves(
    open_page: Callable[..., Page], console_server: Server, watch: Watch
) -> None:
    names = [prompt_with_a_stale_french_translation(console_server) for _ in range(2)]
    with console_server.api("translator") as translator:
        for name in names:
            fixed = {"version": 2, "template": FRENCH_V2, "status": "in_review"}
            answer = translator.put(f"/v1/prompts/{name}/-/translations/fr", json=fixed)
            assert answer.status_code == 200, answer.text

    page = signed_in(open_page(), console_server, "translator")
    expect(page.get_by_role("link", name="Review", exact=True)).to_have_count(0)
    watch.expect(403, r"^/console/review$")
    page.goto(f"{console_server.url}/console/review?locale=fr")
    expect(page.get_by_role("alert")).to_contain_text("keys with the translator role may not")

    review = signed_in(open_page(), console_server, "reviewer", next_path="/console/review")
    review.get_by_label("Locale", exact=True).fill("fr")
    review.get_by_label("Folder", exact=True).fill("browser/")
    review.get_by_role("button", name="Show").click()
    for name in names:
        review.get_by_label(f"Select {name}").check()
    review.get_by_role("button", name="Approve selected").click()
    expect(review.get_by_role("status")).to_be_visible()

    for name in names:
        assert served_in_french(console_server, name)["template"] == FRENCH_V2


def test_a_translator_downloads_the_queue_as_po_and_uploads_it_translated(
    page: Page, console_server: Server, tmp_path: Path
) -> None:
    folder = unique("browser/po") + "/"
    name = folder + "welcome"
    with console_server.api("admin") as admin:
        assert admin.post("/v1/prompts", json={"name": name}).status_code == 201
        body = {"template": SOURCE_V1, "variables": [{"name": "name"}]}
        assert admin.post(f"/v1/prompts/{name}/-/versions", json=body).status_code == 201

    signed_in(page, console_server, "translator", next_path="/console/translate")
    page.get_by_label("Locale", exact=True).select_option("de")
    page.get_by_label("Folder", exact=True).fill(folder)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("row").filter(has_text=name)).to_contain_text("missing")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the queue (.po)").click()
    po_path = tmp_path / download.value.suggested_filename
    download.value.save_as(po_path)
    catalog = polib.pofile(str(po_path))
    entries = [e for e in catalog if not e.obsolete]
    assert [e.msgid for e in entries] == [SOURCE_V1]  # only this folder's missing text
    entries[0].msgstr = "Hallo {{ name }}, willkommen im Laden."
    catalog.save(str(po_path))

    page.get_by_label("PO file", exact=True).set_input_files(po_path)
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_contain_text("1 updated")

    with console_server.api("reviewer") as api:
        stored = api.get(f"/v1/prompts/{name}/-/translations/de").json()
    assert stored["template"] == "Hallo {{ name }}, willkommen im Laden."
    assert stored["updated_by"] == "console-translator"
