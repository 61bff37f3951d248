"""Signing in to the console: sessions, cookies, CSRF, and the key behind the session."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.access import keys
from registry.access.models import ApiKey
from registry.console.models import ConsoleSession

from .conftest import csrf_of, sign_in


class TestSignIn:
    def test_root_leads_to_the_console_which_asks_to_sign_in(self, console: TestClient) -> None:
        root = console.get("/", follow_redirects=False)
        assert root.status_code == 307 and root.headers["location"] == "/console"
        home = console.get("/console/prompts", follow_redirects=False)
        assert home.status_code == 303
        assert home.headers["location"] == "/console/sign-in?next=/console/prompts"

    def test_a_key_is_exchanged_for_a_session_cookie(
        self, console: TestClient, make_token: Callable[..., str], session: Session
    ) -> None:
        token = make_token("reader", owner="rita")
        page = console.get("/console/sign-in")
        answer = console.post(
            "/console/sign-in",
            data={"token": token, "csrf_token": csrf_of(page.text), "next": "/console/prompts"},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"]
        assert "registry_console=" in cookie
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
        assert "Secure" not in cookie  # plain http here
        # Only a hash of the id is stored, with the key it came from.
        stored = session.scalars(select(ConsoleSession)).all()
        value = console.cookies["registry_console"]
        assert stored and all(row.id_hash != value for row in stored)
        assert "rita (reader)" in console.get("/console/prompts").text

    def test_an_unknown_key_is_refused_on_the_form(self, console: TestClient) -> None:
        page = console.get("/console/sign-in")
        answer = console.post(
            "/console/sign-in",
            data={"token": "rk_nothere_secret", "csrf_token": csrf_of(page.text)},
        )
        assert answer.status_code == 401
        assert "not known to this registry" in answer.text
        assert "registry_console=" not in answer.headers.get("set-cookie", "")

    def test_cookies_are_secure_behind_https(
        self, console: TestClient, make_token: Callable[..., str]
    ) -> None:
        secure = TestClient(console.app, base_url="https://registry.example")
        page = secure.get("/console/sign-in")
        assert "Secure" in page.headers["set-cookie"]

    def test_next_never_leaves_the_console(
        self, console: TestClient, make_token: Callable[..., str]
    ) -> None:
        page = console.get("/console/sign-in")
        answer = console.post(
            "/console/sign-in",
            data={
                "token": make_token("reader"),
                "csrf_token": csrf_of(page.text),
                "next": "https://evil.example/console",
            },
            follow_redirects=False,
        )
        assert answer.headers["location"] == "/console"


class TestCsrf:
    def test_sign_in_without_the_form_token_is_refused(
        self, console: TestClient, make_token: Callable[..., str]
    ) -> None:
        console.get("/console/sign-in")
        answer = console.post("/console/sign-in", data={"token": make_token("reader")})
        assert answer.status_code == 403
        assert "text/html" in answer.headers["content-type"]
        assert "security token" in answer.text

    def test_a_post_without_the_session_token_is_refused(
        self, signed_in: Callable[..., tuple[TestClient, str]]
    ) -> None:
        client, _csrf = signed_in("reader")
        refused = client.post("/console/sign-out", data={"csrf_token": "forged"})
        assert refused.status_code == 403
        # Still signed in: nothing happened.
        assert client.get("/console/prompts", follow_redirects=False).status_code == 200

    def test_htmx_sends_the_token_as_a_header(
        self, signed_in: Callable[..., tuple[TestClient, str]]
    ) -> None:
        client, csrf = signed_in("reader")
        answer = client.post(
            "/console/sign-out",
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert answer.headers["hx-redirect"] == "/console/sign-in"


class TestSessionEnds:
    def test_sign_out_deletes_the_session(
        self, signed_in: Callable[..., tuple[TestClient, str]], session: Session
    ) -> None:
        client, csrf = signed_in("reader")
        before = session.scalars(select(ConsoleSession)).all()
        client.post("/console/sign-out", data={"csrf_token": csrf}, follow_redirects=False)
        after = session.scalars(select(ConsoleSession)).all()
        assert len(after) == len(before) - 1
        assert client.get("/console/prompts", follow_redirects=False).status_code == 303

    def test_revoking_the_key_ends_the_session(
        self, console: TestClient, make_token: Callable[..., str], session: Session
    ) -> None:
        token = make_token("editor", owner="ed")
        sign_in(console, token)
        prefix, _secret = keys.parse_token(token)
        keys.revoke_key(session, prefix)
        answer = console.get("/console/prompts", follow_redirects=False)
        assert answer.status_code == 303 and "/console/sign-in" in answer.headers["location"]

    def test_an_expired_key_ends_the_session(
        self, console: TestClient, make_token: Callable[..., str], session: Session
    ) -> None:
        from datetime import timedelta

        from registry.db import utcnow

        token = make_token("editor")
        sign_in(console, token)
        prefix, _secret = keys.parse_token(token)
        key = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one()
        key.expires_at = utcnow() - timedelta(seconds=1)
        session.flush()
        answer = console.get("/console/prompts", follow_redirects=False)
        assert answer.status_code == 303


class TestLanguage:
    def test_accept_language_chooses_and_the_switcher_overrides(
        self, signed_in: Callable[..., tuple[TestClient, str]]
    ) -> None:
        client, csrf = signed_in("reader")
        french = client.get("/console/prompts", headers={"Accept-Language": "fr"})
        assert french.headers["content-language"] == "fr"
        assert '<html lang="fr">' in french.text
        assert "Se déconnecter" in french.text  # "Sign out", from the registry's catalog
        client.post(
            "/console/language",
            data={"language": "ja", "csrf_token": csrf, "next": "/console/prompts"},
            follow_redirects=False,
        )
        japanese = client.get("/console/prompts", headers={"Accept-Language": "fr"})
        assert japanese.headers["content-language"] == "ja"
        assert "サインアウト" in japanese.text


class TestErrorsAreHtml:
    def test_an_unknown_console_page_is_an_html_404(
        self, signed_in: Callable[..., tuple[TestClient, str]]
    ) -> None:
        client, _csrf = signed_in("reader")
        answer = client.get("/console/no/such/page")
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")
