"""Every console page passes axe-core's WCAG 2.1 A and AA rules (labels, names, contrast,
landmarks, language…) and fits a laptop's and a tablet's width without sideways
scrolling."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from console.browser.harness import Server, signed_in

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = (1280, 768)

# Each page the console has, as an admin sees it (every control shown); None: signed out.
PAGES = [
    (None, "/console/sign-in"),
    ("admin", "/console/prompts"),
    ("admin", "/console/prompts?folder=support%2F"),
    ("admin", "/console/prompts/shared/tone-of-voice"),
    ("admin", "/console/prompts/support/assistant"),
    ("admin", "/console/prompts/summarize/article/-/labels/production"),
    ("admin", "/console/prompts/support/greeting/-/edit"),
    ("admin", "/console/prompts/support/assistant/-/edit"),
    ("admin", "/console/prompts/shared/tone-of-voice/-/diff?from=1&to=2"),
    ("admin", "/console/prompts/support/greeting/-/experiment"),
    ("admin", "/console/translate?locale=fr"),
    ("admin", "/console/translate/fr/summarize/article"),
    ("admin", "/console/translate/ja/support/assistant"),
    ("admin", "/console/review?locale=fr"),
    ("admin", "/console/review/fr/summarize/article"),
    ("admin", "/console/experiments"),
    ("admin", "/console/experiments/1"),
    ("admin", "/console/admin/keys"),
    ("admin", "/console/admin/keys/1"),
    ("admin", "/console/admin/policies"),
    ("admin", "/console/admin/style"),
    ("admin", "/console/admin/style/guides/house-style"),
    ("admin", "/console/admin/audit"),
]

axe = Axe()


def violations(page: Page) -> list[str]:
    results = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}})
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
    ]


@pytest.mark.parametrize(("role", "path"), PAGES, ids=[path for _, path in PAGES])
def test_the_page_is_accessible_at_a_laptops_and_a_tablets_width(
    open_page: Callable[..., Page], console_server: Server, role: str | None, path: str
) -> None:
    for width in WIDTHS:
        page = open_page(width=width)
        if role is None:
            page.goto(console_server.url + path)
        else:
            signed_in(page, console_server, role, next_path=path)
        page.wait_for_load_state("networkidle")  # htmx's first fragments are in

        assert violations(page) == [], f"at {width}px"
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"the page is {wide}px wide in a {width}px window"
