"""/docs and /redoc render in a browser with every other host blocked."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from console.browser.harness import Server, Watch


def test_swagger_ui_lists_the_operations_with_no_network(
    page: Page, console_server: Server, watch: Watch
) -> None:
    page.goto(f"{console_server.url}/docs")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Prompt registry")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() > 20
    expect(page.locator(".opblock-summary-path", has_text="/v1/prompts").first).to_be_visible()
    # The page loaded nothing from another host (watch fails the test if it tried).
    assert watch.blocked == []


def test_an_operation_opens_with_its_parameters(page: Page, console_server: Server) -> None:
    page.goto(f"{console_server.url}/docs")
    resolve = page.locator(".opblock-get", has=page.locator("[data-path$='/-/resolve']")).first
    resolve.locator(".opblock-summary").click()

    expect(resolve.locator(".parameters-container")).to_contain_text("name")
    expect(page).to_have_url(re.compile(r"/docs#/"))


def test_redoc_renders_the_reference_with_no_network(
    page: Page, console_server: Server, watch: Watch
) -> None:
    page.goto(f"{console_server.url}/redoc")

    expect(page.locator("h1").first).to_contain_text("Prompt registry")
    expect(page.locator("[data-section-id^='operation/']").first).to_be_attached()
    assert page.locator("[data-section-id^='operation/']").count() > 20
    assert watch.blocked == []
