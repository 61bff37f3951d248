"""The admins' console pages with the real app: keys (the token shown once), label
policies, style guides and their folders, the audit trail; refused to other roles and to
forms without their CSRF token."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry.access import keys, policies
from registry.style import service as style
from registry.style.schemas import GuidePublish

from conftest import bearer
from factories import make_prompt

SignedIn = Callable[..., tuple[TestClient, str]]
TOKEN = re.compile(r"\brk_[a-z0-9]{10}_[A-Za-z0-9_-]{20,}")


def text_of(page: str) -> str:
    """A page's text without tags, as a reader sees it."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def key_ids(session: Session, owner: str) -> list[int]:
    return [k.id for k in keys.list_keys(session, include_revoked=True) if k.owner == owner]


class TestKeys:
    def test_the_token_is_shown_once(self, session: Session, signed_in: SignedIn) -> None:
        client, csrf = signed_in("admin", owner="ada")
        created = client.post(
            "/console/admin/keys",
            data={
                "csrf_token": csrf,
                "owner": "fr-translations",
                "role": "translator",
                "locales": "fr, fr-CA",
                "folders": "support/",
                "read_folders": "shared/",
                "expires_at": (datetime.now(UTC) + timedelta(days=30)).date().isoformat(),
            },
        )
        assert created.status_code == 200, created.text
        [token] = TOKEN.findall(created.text)
        assert "will not be shown again" in created.text
        assert 'data-copy="new-token"' in created.text  # the copy button
        [key_id] = key_ids(session, "fr-translations")
        key = keys.get_key(session, str(key_id))
        assert (key.role, key.locales, key.folders) == ("translator", ["fr", "fr_CA"], ["support/"])
        assert key.read_folders == ["shared/"] and key.created_by == "ada"

        # The token works at the API…
        assert client.get("/v1/prompts", headers=bearer(token)).status_code == 200
        # …and no page shows it again: the list, the key's page (where a reload leads).
        listing = client.get("/console/admin/keys")
        assert key.prefix in listing.text and token not in listing.text
        assert not TOKEN.search(listing.text)
        page = client.get(f"/console/admin/keys/{key_id}")
        assert page.status_code == 200 and key.prefix in page.text
        assert not TOKEN.search(page.text)

    def test_a_refused_key_keeps_the_form_and_writes_nothing(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        client, csrf = signed_in("admin")
        refused = client.post(
            "/console/admin/keys",
            data={"csrf_token": csrf, "owner": "no-locales", "role": "translator"},
        )
        assert refused.status_code == 422
        assert "a translator key needs the locales it may translate into" in refused.text
        assert 'value="no-locales"' in refused.text  # typed values are kept
        assert key_ids(session, "no-locales") == []

        invalid = client.post(
            "/console/admin/keys",
            data={"csrf_token": csrf, "owner": "x", "role": "reader", "folders": "Not A Folder"},
        )
        assert invalid.status_code == 422
        assert "Folders: must match the pattern" in text_of(invalid.text)
        assert not TOKEN.search(invalid.text)

    def test_revoking_asks_first_then_the_api_refuses_the_key(
        self, session: Session, signed_in: SignedIn, make_token: Callable[..., str]
    ) -> None:
        token = make_token("editor", owner="leaving")
        [key_id] = key_ids(session, "leaving")
        client, csrf = signed_in("admin")
        key_page = client.get(f"/console/admin/keys/{key_id}").text
        assert f'href="/console/admin/keys/{key_id}/revoke"' in key_page
        confirm = client.get(f"/console/admin/keys/{key_id}/revoke")
        assert confirm.status_code == 200
        assert f'action="/console/admin/keys/{key_id}/revoke"' in confirm.text
        assert keys.get_key(session, str(key_id)).revoked_at is None  # asking changed nothing

        done = client.post(
            f"/console/admin/keys/{key_id}/revoke",
            data={"csrf_token": csrf},
            follow_redirects=False,
        )
        assert done.status_code == 303
        listing = client.get(done.headers["location"]).text
        assert "is revoked" in listing
        assert keys.get_key(session, str(key_id)).revoked_at is not None
        assert client.get("/v1/prompts", headers=bearer(token)).status_code == 401
        assert f"/console/admin/keys/{key_id}" not in listing  # revoked keys on request only
        assert (
            f"/console/admin/keys/{key_id}" in client.get("/console/admin/keys?revoked=true").text
        )

    def test_revoking_ones_own_key_signs_out(self, session: Session, signed_in: SignedIn) -> None:
        client, csrf = signed_in("admin", owner="self-revoker")
        [key_id] = key_ids(session, "self-revoker")
        assert "you will be signed out" in client.get(f"/console/admin/keys/{key_id}/revoke").text
        client.post(f"/console/admin/keys/{key_id}/revoke", data={"csrf_token": csrf})
        after = client.get("/console/admin/keys", follow_redirects=False)
        assert after.status_code == 303 and "/console/sign-in" in after.headers["location"]


class TestPolicies:
    def test_create_edit_and_delete(self, session: Session, signed_in: SignedIn) -> None:
        client, csrf = signed_in("admin")
        saved = client.post(
            "/console/admin/policies",
            data={
                "csrf_token": csrf,
                "path": "pol/",
                "protected": "production, staging",
                "four_eyes": "true",
            },
            follow_redirects=False,
        )
        assert saved.status_code == 303
        policy = policies.policy_for(session, "pol/greeting")
        assert policy.protected == {"production", "staging"} and policy.four_eyes
        listing = client.get(saved.headers["location"]).text
        assert "pol/" in listing and "is saved" in listing

        form = client.get("/console/admin/policies", params={"edit": "pol/"}).text
        assert 'name="protected" value="production staging"' in form
        assert re.search(r'name="four_eyes" value="true"\s+checked', form)

        client.post(
            "/console/admin/policies",
            data={"csrf_token": csrf, "path": "pol/", "protected": "production"},
        )
        policy = policies.policy_for(session, "pol/greeting")
        assert policy.protected == {"production"} and not policy.four_eyes

        confirm = client.get("/console/admin/policies/delete", params={"path": "pol/"})
        assert confirm.status_code == 200 and 'name="path" value="pol/"' in confirm.text
        removed = client.post(
            "/console/admin/policies/delete",
            data={"csrf_token": csrf, "path": "pol/"},
            follow_redirects=False,
        )
        assert removed.status_code == 303
        assert policies.policy_for(session, "pol/greeting").path == ""

    def test_a_refused_policy_says_why(self, session: Session, signed_in: SignedIn) -> None:
        client, csrf = signed_in("admin")
        bad_path = client.post(
            "/console/admin/policies",
            data={"csrf_token": csrf, "path": "Bad Path", "protected": "production"},
        )
        assert bad_path.status_code == 422 and "write a folder ending in /" in bad_path.text
        bad_label = client.post(
            "/console/admin/policies",
            data={"csrf_token": csrf, "path": "pol2/", "protected": "Not-A-Label!"},
        )
        assert bad_label.status_code == 422
        assert "Protected labels:" in text_of(bad_label.text)
        assert policies.policy_for(session, "pol2/x").path == ""
        missing = client.get("/console/admin/policies/delete", params={"path": "nowhere/"})
        assert missing.status_code == 404 and "no label policy is set" in missing.text


GUIDE = "name: adm-guide\ndescription: For the console's tests.\nextends: default\n"


class TestStyle:
    def test_guides_and_binding_a_folder(self, session: Session, signed_in: SignedIn) -> None:
        style.publish_guide(session, "adm-guide", GuidePublish(source=GUIDE), author="tests")
        client, csrf = signed_in("admin")
        listing = client.get("/console/admin/style").text
        assert 'href="/console/admin/style/guides/adm-guide"' in listing
        guide = client.get("/console/admin/style/guides/adm-guide")
        assert guide.status_code == 200 and "For the console&#39;s tests." in guide.text

        bound = client.post(
            "/console/admin/style/bindings",
            data={"csrf_token": csrf, "folder": "adm/", "guide": "adm-guide"},
            follow_redirects=False,
        )
        assert bound.status_code == 303
        assert [(b.folder, b.guide) for b in style.list_bindings(session)] == [("adm", "adm-guide")]
        assert "adm/" in client.get("/console/admin/style/guides/adm-guide").text  # used by

        unknown = client.post(
            "/console/admin/style/bindings",
            data={"csrf_token": csrf, "folder": "adm2", "guide": "no-such-guide"},
        )
        assert unknown.status_code == 404 and 'value="adm2"' in unknown.text
        assert len(style.list_bindings(session)) == 1

        confirm = client.get("/console/admin/style/bindings/delete", params={"folder": "adm"})
        assert 'name="folder" value="adm"' in confirm.text
        client.post(
            "/console/admin/style/bindings/delete", data={"csrf_token": csrf, "folder": "adm"}
        )
        assert style.list_bindings(session) == []


class TestAudit:
    def test_filters_and_pages(
        self, session: Session, signed_in: SignedIn, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from registry.console.pages import admin

        make_prompt(session, name="aud/one")
        client, csrf = signed_in("admin", owner="auditor")
        for path in ("aud-a/", "aud-b/", "aud-c/"):
            client.post(
                "/console/admin/policies",
                data={"csrf_token": csrf, "path": path, "protected": "production"},
            )
        client.post(
            "/console/admin/keys",
            data={"csrf_token": csrf, "owner": "aud-reader", "role": "reader"},
        )

        mine = client.get("/console/admin/audit", params={"actor": "auditor"}).text
        assert mine.count("<code>label_policy.set</code>") == 3
        assert mine.count("<code>key.create</code>") == 1

        by_action = client.get(
            "/console/admin/audit", params={"actor": "auditor", "action": "key.create"}
        ).text
        assert by_action.count("<code>key.create</code>") == 1
        assert "label_policy.set</code>" not in by_action

        by_prompt = client.get("/console/admin/audit", params={"prompt": "aud/one"}).text
        assert "<code>prompt.create</code>" in by_prompt and "key.create</code>" not in by_prompt

        today = datetime.now(UTC).date()
        in_range = client.get(
            "/console/admin/audit",
            params={"actor": "auditor", "since": today.isoformat(), "until": today.isoformat()},
        ).text
        assert in_range.count("<tr>") == 1 + 4  # the head's row and the four events
        before = client.get(
            "/console/admin/audit",
            params={"actor": "auditor", "until": (today - timedelta(days=1)).isoformat()},
        ).text
        assert "No event matches." in before

        monkeypatch.setattr(admin, "AUDIT_PAGE_SIZE", 3)
        first = client.get("/console/admin/audit", params={"actor": "auditor"}).text
        assert first.count("<code>label_policy.set</code>") == 2  # newest first: the key, then two
        following = re.search(r'<a rel="next" href="([^"]+)"', first)
        assert following and "actor=auditor" in following[1]
        second = client.get(html.unescape(following[1])).text
        assert second.count("<code>label_policy.set</code>") == 1
        assert '<a rel="next"' not in second

    def test_a_bad_date_is_explained(self, signed_in: SignedIn) -> None:
        client, _csrf = signed_in("admin")
        refused = client.get("/console/admin/audit", params={"since": "31/01/2027"})
        assert refused.status_code == 422 and "YYYY-MM-DD" in refused.text


class TestRefusals:
    @pytest.mark.parametrize("role", ["reader", "editor", "reviewer"])
    def test_other_roles_see_no_link_and_get_the_apis_refusal(
        self, session: Session, signed_in: SignedIn, role: str
    ) -> None:
        client, csrf = signed_in(role, owner=f"not-admin-{role}")
        assert 'href="/console/admin"' not in client.get("/console/prompts").text
        for path in ("/console/admin/keys", "/console/admin/audit", "/console/admin/style"):
            refused = client.get(path)
            assert refused.status_code == 403, path
            assert "text/html" in refused.headers["content-type"]
            assert f"keys with the {role} role may not do this" in refused.text
        posted = client.post(
            "/console/admin/keys",
            data={"csrf_token": csrf, "owner": "sneaky", "role": "admin"},
        )
        assert posted.status_code == 403 and key_ids(session, "sneaky") == []

    def test_an_admin_sees_the_link(self, signed_in: SignedIn) -> None:
        client, _csrf = signed_in("admin")
        assert 'href="/console/admin"' in client.get("/console/prompts").text

    def test_a_form_without_its_csrf_token_is_refused(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        client, _csrf = signed_in("admin")
        for data in ({}, {"csrf_token": "forged"}):
            refused = client.post(
                "/console/admin/keys", data={**data, "owner": "csrf-victim", "role": "admin"}
            )
            assert refused.status_code == 403 and "security token" in refused.text
        assert key_ids(session, "csrf-victim") == []
        refused = client.post(
            "/console/admin/policies", data={"path": "csrf/", "protected": "production"}
        )
        assert refused.status_code == 403
        assert policies.policy_for(session, "csrf/x").path == ""
