"""Fixtures of the browser tests: a server and a browser per pytest-xdist worker (free
ports, databases of their own), and a watched page per test (see harness.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)
from test_faults import registry_serve

from console.browser.harness import TIMEOUT_MS, Server, Watch, chromium_path, seed
from registry import migrate

from conftest import STORES, fresh_database


@pytest.fixture(scope="session", params=STORES)
def console_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """``registry serve`` on a demo database of this worker's own, for the session."""
    store = str(request.param)
    folder = tmp_path_factory.mktemp(f"console-{store}")
    with fresh_database(store, folder) as url:
        migrate.upgrade(url)
        tokens = seed(url)
        with registry_serve(url, folder) as (_process, base):
            yield Server(url=base, database_url=url, tokens=tokens)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    # expect() waits as long as any other step: a loaded machine is slow, not wrong.
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
    yield browser
    browser.close()


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def open_page(browser: Browser, watch: Watch) -> Iterator[Callable[..., Page]]:
    """Open a watched page in a browser context of its own (its own cookies).

    ``open_page(locale="fr-FR")`` sets the browser's language (Accept-Language);
    ``width`` and ``height`` the window's size.
    """
    contexts: list[BrowserContext] = []

    def open_(*, locale: str = "en-US", width: int = 1280, height: int = 900) -> Page:
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
        context.set_default_timeout(TIMEOUT_MS)
        context.route("**/*", watch.block_remote)
        contexts.append(context)
        page = context.new_page()
        watch.watch(page)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: Callable[..., Page]) -> Page:
    return open_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail the test itself (not its teardown) when a watched page had a problem."""
    result = yield
    watch = getattr(item, "funcargs", {}).get("watch")
    if isinstance(watch, Watch):
        watch.check()
    return result
