"""What the browser tests share: the server they drive, the watch over every page, and
signing in as a role.

A real browser against a real server: Debian's headless ``chromium`` driven through
Playwright, and ``registry serve`` in a process of its own, seeded with the demo library
and a key for each role (fixtures in conftest.py).

Every page a test opens is watched: a console error, an uncaught script error, a failed
request or a response of 400 or more fails the test, unless the test said it expects that
status (``watch.expect(401, "/console/sign-in")``). A request the browser dropped because
it left the page (a fragment still loading when a link is followed) is no failure; one the
page itself gave up on is. Requests to any host but the server
are blocked and fail the test too: the console and the API's docs ship every asset.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import httpx
from playwright.sync_api import ConsoleMessage, Frame, Page, Request, Response, Route

from registry.access import keys
from registry.access.schemas import KeyCreate
from registry.db import Database
from registry.demo import seed_demo
from registry.style import service as style
from registry.style.schemas import GuidePublish

from conftest import bearer

ROLES = ("admin", "editor", "reviewer", "translator", "reader")
# The translator's key may write these locales (every locale of the demo library).
TRANSLATOR_LOCALES = ("de", "es", "fr", "ja")
# Playwright's own wait for a navigation or an element; pages here answer in milliseconds.
TIMEOUT_MS = 15_000


def chromium_path() -> str:
    """Debian's chromium (``make tools`` installs it); Playwright's download is not used."""
    path = os.environ.get("REGISTRY_TEST_CHROMIUM") or shutil.which("chromium")
    assert path, "Debian's chromium is needed for the browser tests (make test installs it)"
    return path


@dataclass(frozen=True)
class Server:
    """A running registry: its base URL, its database and a token per role."""

    url: str
    database_url: str
    tokens: dict[str, str]

    def api(self, role: str = "admin") -> httpx.Client:
        """An HTTP client of the API with ``role``'s key (use it in a ``with``)."""
        return httpx.Client(base_url=self.url, headers=bearer(self.tokens[role]), timeout=30)


# A stored guide, bound to the demo's email/ folder, so the style pages have one to show.
HOUSE_STYLE = """\
name: house-style
extends: default
rules:
  no-please:
    kind: existence
    level: error
    message: "Drop '{match}': the model does not need politeness."
    tokens: [please]
    ignorecase: true
"""


def seed(database_url: str) -> dict[str, str]:
    """Seed the demo library, a stored guide and a key for each role; their tokens."""
    db = Database.from_url(database_url)
    try:
        with db.session() as session:
            seed_demo(session)
            guide = GuidePublish(source=HOUSE_STYLE, message="the house's own rules")
            style.publish_guide(session, "house-style", guide, author="console-admin")
            style.set_binding(session, "email/", "house-style", actor="console-admin")
            tokens = {}
            for role in ROLES:
                data = KeyCreate(owner=f"console-{role}", role=role)
                data.locales = list(TRANSLATOR_LOCALES) if role == "translator" else []
                tokens[role] = keys.create_key(session, data, created_by="tests").token
            return tokens
    finally:
        db.dispose()


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.hostname in ("127.0.0.1", "localhost", "::1")


# Chromium's console line for a response it loaded with an error status.
_STATUS_LINE = re.compile(r"the server responded with a status of (\d{3})")


@dataclass
class Watch:
    """What went wrong in the pages of one test, and which error statuses it expects."""

    problems: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    expected: list[tuple[int, re.Pattern[str]]] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    # Requests aborted while under way, with the document they were made from: one the
    # browser dropped because it left that document is not a failure.
    aborted: list[tuple[Page, int, str]] = field(default_factory=list)
    documents: dict[int, int] = field(default_factory=dict)  # id(page) → documents loaded
    made_in: dict[int, int] = field(default_factory=dict)  # id(request) → its document

    def expect(self, status: int, path: str) -> None:
        """Let responses with ``status`` on paths matching ``path`` (a regex) pass."""
        self.expected.append((status, re.compile(path)))

    def is_expected(self, status: int, url: str) -> bool:
        path = urlsplit(url).path
        return any(s == status and p.search(path) for s, p in self.expected)

    def watch(self, page: Page) -> None:
        self.pages.append(page)
        self.documents[id(page)] = 0
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("request", lambda request: self._request(page, request))
        page.on("requestfailed", lambda request: self._request_failed(page, request))
        page.on("response", self._response)
        page.on("framenavigated", lambda frame: self._navigated(page, frame))

    def _navigated(self, page: Page, frame: Frame) -> None:
        if frame == page.main_frame:
            self.documents[id(page)] += 1

    def _request(self, page: Page, request: Request) -> None:
        self.made_in[id(request)] = self.documents[id(page)]

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        status = _STATUS_LINE.search(message.text)
        url = message.location.get("url", "")
        if status and self.is_expected(int(status.group(1)), url):
            return
        self.problems.append(f"console error: {message.text} ({url})")

    def _request_failed(self, page: Page, request: Request) -> None:
        if not is_local(request.url):
            return  # blocked by route(): listed in `blocked`
        failure = f"request failed: {request.method} {request.url}: {request.failure}"
        if request.failure == "net::ERR_ABORTED" and not request.is_navigation_request():
            made_in = self.made_in.get(id(request), self.documents[id(page)])
            self.aborted.append((page, made_in, failure))
        else:
            self.problems.append(failure)

    def _response(self, response: Response) -> None:
        if response.status >= 400 and not self.is_expected(response.status, response.url):
            method = response.request.method
            self.problems.append(f"HTTP {response.status}: {method} {response.url}")

    def block_remote(self, route: Route) -> None:
        """A route handler: requests to the server go on, any other host is refused."""
        if is_local(route.request.url):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("blockedbyclient")

    def check(self) -> None:
        for page in self.pages:
            if not page.is_closed():
                # Let the events of what the page is still doing arrive.
                page.wait_for_load_state("load")
                page.evaluate("0")
        # Aborted in the document that is still shown: the page itself gave up on it.
        problems = self.problems + [
            failure
            for page, made_in, failure in self.aborted
            if made_in == self.documents[id(page)]
        ]
        assert not self.blocked, f"requests to other hosts: {self.blocked}"
        assert not problems, "\n".join(problems)


def signed_in(page: Page, server: Server, role: str, *, next_path: str = "/console") -> Page:
    """Sign ``page`` in to the console with ``role``'s key, as a person would."""
    page.goto(f"{server.url}/console/sign-in?next={quote(next_path)}")
    page.locator("input[name=token]").fill(server.tokens[role])
    page.locator("form:has(input[name=token])").get_by_role("button").click()
    page.wait_for_url(re.compile(r"/console(?!/sign-in)"))
    page.wait_for_load_state()
    return page


def unique(prefix: str) -> str:
    """A prompt name no other test uses (the tests of a worker share its server)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
