"""``make screenshots``: PNGs of the console's main pages, for the README.

Starts ``registry serve`` on a new SQLite database with the demo library, signs in with
the role each page is for, and saves each page to docs/screenshots/ at a laptop's width
(one at a tablet's, in French). The pages are watched as in the browser tests: a page
with a script error, a failed request or a request to another host stops the run rather
than being pictured.

Run from the repository: ``PYTHONPATH=tests .venv/bin/python -m console.browser.screenshots``.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright
from test_faults import registry_serve

from console.browser.harness import TIMEOUT_MS, Server, Watch, chromium_path, seed, signed_in
from registry import migrate

OUTPUT = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


def _nothing(_page: Page) -> None:
    pass


def _type_a_leftover_note(page: Page) -> None:
    template = page.get_by_label("Template")
    template.press("End")
    template.press("Control+End")
    template.type("\nTODO: mention the opening hours")
    expect(page.locator("#lint .finding.error")).to_have_count(1)


def _open_first_operation(page: Page) -> None:
    expect(page.locator(".opblock").first).to_be_visible()


def _create_a_key(page: Page) -> None:
    page.get_by_label("Owner").fill("ana@example.com")
    page.get_by_label("Role").select_option("translator")
    page.get_by_label("Locales (translators only)").fill("fr de")
    page.get_by_role("button", name="Create the key").click()
    expect(page.get_by_role("alert")).to_be_visible()


def _show_the_checks(page: Page) -> None:
    expect(page.locator("#check")).not_to_have_text("Checking…")


@dataclass(frozen=True)
class Shot:
    """One picture: the file, who is signed in (None: nobody), the page, and what to do
    on it before the picture is taken."""

    file: str
    role: str | None
    path: str
    prepare: Callable[[Page], None] = _nothing
    locale: str = "en-US"
    width: int = 1280
    height: int = 800
    full_page: bool = False


SHOTS = [
    Shot("sign-in.png", None, "/console/sign-in", height=520),
    Shot("prompts.png", "editor", "/console/prompts"),
    Shot("prompt.png", "reviewer", "/console/prompts/shared/tone-of-voice", full_page=True),
    Shot(
        "editor.png",
        "editor",
        "/console/prompts/support/greeting/-/edit",
        prepare=_type_a_leftover_note,
        height=900,
    ),
    Shot("diff.png", "editor", "/console/prompts/shared/tone-of-voice/-/diff?from=1&to=2"),
    Shot("label.png", "reviewer", "/console/prompts/summarize/article/-/labels/production"),
    Shot("prompts-fr-tablet.png", "translator", "/console/prompts", locale="fr-FR", width=768),
    Shot("translate-queue.png", "translator", "/console/translate?locale=fr"),
    Shot(
        "translate-stale.png",
        "translator",
        "/console/translate/fr/summarize/article",
        prepare=_show_the_checks,
        height=900,
    ),
    Shot("review.png", "reviewer", "/console/review/fr/summarize/article"),
    Shot("experiment.png", "reviewer", "/console/experiments/1", height=900),
    Shot("key-created.png", "admin", "/console/admin/keys", prepare=_create_a_key, height=520),
    Shot("audit.png", "admin", "/console/admin/audit"),
    Shot("api-docs.png", None, "/docs", prepare=_open_first_operation),
]


def take(server: Server, output: Path) -> list[Path]:
    """Save every shot of ``SHOTS`` into ``output``; the files written."""
    output.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        expect.set_options(timeout=TIMEOUT_MS)
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            for shot in SHOTS:
                watch = Watch()
                context = browser.new_context(
                    locale=shot.locale, viewport={"width": shot.width, "height": shot.height}
                )
                context.set_default_timeout(TIMEOUT_MS)
                context.route("**/*", watch.block_remote)
                page = context.new_page()
                watch.watch(page)
                if shot.role is None:
                    page.goto(server.url + shot.path)
                else:  # signing in leads to the page
                    signed_in(page, server, shot.role, next_path=shot.path)
                shot.prepare(page)
                watch.check()
                path = output / shot.file
                page.screenshot(path=path, full_page=shot.full_page)
                written.append(path)
                context.close()
        finally:
            browser.close()
    return written


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'registry.db'}"
        migrate.upgrade(url)
        tokens = seed(url)
        with registry_serve(url, Path(folder)) as (_process, base):
            written = take(Server(url=base, database_url=url, tokens=tokens), OUTPUT)
    for path in written:
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
