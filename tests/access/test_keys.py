"""API keys: shown once, stored as a salted hash, refused at once when revoked or expired."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry.access import keys
from registry.access.models import ApiKey, AuditEvent

from conftest import admin_token, bearer, live_server

PROBLEM = "application/problem+json"


def create(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/keys", json={"owner": "ada", "role": "reader", **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


def secret_of(token: str) -> str:
    return token.removeprefix("rk_").partition("_")[2]


def refused(response: Any, words: str) -> None:
    """A 401 problem that says why, with the challenge a client needs."""
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert words in response.json()["detail"], response.json()["detail"]


class TestCreate:
    def test_token_is_shown_once(self, client: TestClient) -> None:
        created = create(client, description="for the docs")
        token = created["token"]
        secret = secret_of(token)
        assert token.startswith(created["prefix"] + "_") and len(secret) >= 32
        assert created["role"] == "reader" and created["created_by"] == "admin"
        assert created["last_used_at"] is None and created["revoked_at"] is None

        listed = client.get("/v1/keys")
        by_id = client.get(f"/v1/keys/{created['id']}")
        by_prefix = client.get(f"/v1/keys/{created['prefix']}")
        for response in (listed, by_id, by_prefix):
            assert response.status_code == 200, response.text
            assert secret not in response.text and "token" not in response.text
        assert by_id.json() == by_prefix.json()
        assert by_id.json()["prefix"] == created["prefix"]
        assert created["prefix"] in {key["prefix"] for key in listed.json()}
        assert {k: v for k, v in created.items() if k != "token"} == by_id.json()

    def test_only_a_salted_hash_is_stored(self, client: TestClient, session: Session) -> None:
        first, second = create(client), create(client)
        rows = {
            row.id: row
            for row in session.scalars(
                select(ApiKey).where(ApiKey.id.in_([first["id"], second["id"]]))
            )
        }
        for created in (first, second):
            row = rows[created["id"]]
            secret = secret_of(created["token"])
            stored = [str(getattr(row, c.key)) for c in ApiKey.__table__.columns]
            assert not any(secret in value for value in stored), stored
            assert row.prefix == created["prefix"]
            assert row.secret_hash == keys._hash(row.salt, secret)
        one, two = rows[first["id"]], rows[second["id"]]
        # Each key has its own salt: one secret would be stored as two different hashes.
        assert one.salt != two.salt
        same = secret_of(first["token"])
        assert keys._hash(one.salt, same) != keys._hash(two.salt, same)

    def test_the_new_key_works_with_its_role(self, client: TestClient) -> None:
        headers = bearer(create(client, role="reader")["token"])
        assert client.get("/v1/prompts", headers=headers).status_code == 200
        denied = client.post("/v1/keys", json={"owner": "x", "role": "admin"}, headers=headers)
        assert denied.status_code == 403
        assert "reader" in denied.json()["detail"] and "admin" in denied.json()["detail"]

    def test_folders_are_kept_as_folders(self, client: TestClient) -> None:
        assert create(client, folder="support")["folders"] == ["support/"]
        assert create(client, folder="support/de/")["folders"] == ["support/de/"]
        assert create(client)["folders"] is None
        several = create(client, folders=["support", "billing/", "support/de/"])
        # Sorted, each once: a folder inside another adds nothing.
        assert several["folders"] == ["billing/", "support/"]
        reading = create(client, folders=["support/"], read_folders=["shared", "support/x/"])
        assert reading["folders"] == ["support/"]
        assert reading["read_folders"] == ["shared/"]
        translator = create(client, role="translator", locales=["fr_FR", "de", "fr-FR"])
        # Canonical, without duplicates: fr_FR and fr-FR are one locale.
        assert translator["locales"] == ["de", "fr_FR"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"role": "admin", "folder": "support/"}, "folder"),
            ({"role": "translator"}, "locales"),
            ({"role": "translator", "locales": []}, "locales"),
            ({"role": "editor", "locales": ["fr"]}, "locales"),
            ({"role": "reader", "locales": ["fr"]}, "locales"),
            ({"role": "translator", "locales": ["not a locale!"]}, "locales"),
            ({"role": "translator", "locales": ["x" * 300]}, "locales"),
            ({"role": "owner"}, "role"),
            ({"owner": ""}, "owner"),
            ({"owner": "   "}, "owner"),
            ({"owner": "a\x00b"}, "owner"),
            ({"owner": "a" * 256}, "owner"),
            ({"description": "nul\x00"}, "description"),
            ({"description": "d" * 2001}, "description"),
            ({"folder": "Support/"}, "folder"),
            ({"folder": "a" * 256}, "folder"),
            ({"folder": "../etc"}, "folder"),
            ({"folder": "sup\x00port/"}, "folder"),
            ({"folders": []}, "folders"),
            ({"folders": ["ok/", "../etc"]}, "folders"),
            ({"folders": ["a/"], "folder": "b/"}, "folder"),
            ({"role": "admin", "folders": ["a/"]}, "folders"),
            ({"read_folders": ["shared/"]}, "read_folders"),
            ({"folders": ["a/"], "read_folders": ["Shared/"]}, "read_folders"),
            ({"owner": "ada\nroot"}, "owner"),
            ({"owner": "ada\u202egnp.exe"}, "owner"),
            ({"owner": "ada\u200b"}, "owner"),
            ({"expires_at": "2030-01-01T00:00:00"}, "expires_at"),
            ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
            ({"expires_at": "soon"}, "expires_at"),
            ({"token": "rk_mine_secret"}, "token"),
        ],
    )
    def test_bad_keys_are_refused(
        self, client: TestClient, session: Session, body: dict[str, Any], field: str
    ) -> None:
        before = session.scalar(select(ApiKey.id).order_by(ApiKey.id.desc()).limit(1))
        response = client.post("/v1/keys", json={"owner": "ada", "role": "reader", **body})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        assert any(field in error["loc"] for error in response.json()["errors"]), response.json()
        assert session.scalar(select(ApiKey.id).order_by(ApiKey.id.desc()).limit(1)) == before

    def test_unknown_keys_and_bad_idents(self, client: TestClient) -> None:
        assert client.get("/v1/keys/999999").status_code == 404
        assert client.get("/v1/keys/rk_nosuchkey").status_code == 404
        assert client.delete("/v1/keys/999999").status_code == 404
        # Past the stores' integer range: still simply not found.
        assert client.get(f"/v1/keys/{2**40}").status_code == 404
        assert client.delete(f"/v1/keys/{10**30}").status_code == 404
        for ident in ("rk_ABC", "x" * 65, "rk_a_b", "-1"):
            assert client.get(f"/v1/keys/{ident}").status_code == 422, ident


def expire(session: Session, key_id: int, at: datetime) -> None:
    """Let a key's expiry pass, as time would."""
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(expires_at=at))
    session.commit()


class TestUse:
    def test_last_used_is_recorded(self, client: TestClient) -> None:
        reader = create(client, role="reader")
        editor = create(client, role="editor")
        assert client.get(f"/v1/keys/{reader['id']}").json()["last_used_at"] is None
        start = datetime.now(UTC) - timedelta(seconds=1)

        # A read, and a write: each records the key's use.
        assert client.get("/v1/prompts", headers=bearer(reader["token"])).status_code == 200
        response = client.post(
            "/v1/prompts", json={"name": "keys/used"}, headers=bearer(editor["token"])
        )
        assert response.status_code == 201, response.text
        for created in (reader, editor):
            used = client.get(f"/v1/keys/{created['id']}").json()["last_used_at"]
            assert used is not None
            assert start <= datetime.fromisoformat(used) <= datetime.now(UTC)

    def test_a_refused_request_still_needs_a_valid_key(self, client: TestClient) -> None:
        """A key of the wrong role is known (403), not unknown (401)."""
        reader = bearer(create(client, role="reader")["token"])
        assert client.get("/v1/audit", headers=reader).status_code == 403

    @pytest.mark.parametrize(
        ("authorization", "words"),
        [
            ("Bearer nonsense", "malformed"),
            ("Bearer rk_", "malformed"),
            ("Bearer rk_abc", "malformed"),
            ("Bearer rk_abc_", "malformed"),
            ("Bearer rk__secret", "malformed"),
            ("Bearer xk_abc_secret", "malformed"),
            ("Bearer rk_zzzzzzzzzz_" + "s" * 43, "not known"),
            ("Bearer rk_" + "z" * 200 + "_secret", "not known"),
            ("Bearer " + "x" * 5000, "malformed"),
            ("Basic YWRhOnNlY3JldA==", "needs an API key"),
            ("Bearer", "needs an API key"),
            ("", "needs an API key"),
        ],
    )
    def test_malformed_and_unknown_tokens(
        self, client: TestClient, authorization: str, words: str
    ) -> None:
        refused(client.get("/v1/prompts", headers={"Authorization": authorization}), words)

    def test_a_wrong_secret_for_a_real_prefix(self, client: TestClient) -> None:
        created = create(client)
        wrong = f"{created['prefix']}_{'A' * len(secret_of(created['token']))}"
        refused(client.get("/v1/prompts", headers=bearer(wrong)), "not known")
        # The right secret still works, also with whitespace around it.
        assert client.get("/v1/prompts", headers=bearer(created["token"] + " ")).status_code == 200

    def test_expired_key(self, client: TestClient, session: Session) -> None:
        now = datetime.now(UTC)
        valid = create(client, expires_at=(now + timedelta(hours=1)).isoformat())
        assert client.get("/v1/prompts", headers=bearer(valid["token"])).status_code == 200
        expired = create(client, expires_at=(now + timedelta(hours=1)).isoformat())
        expire(session, expired["id"], now - timedelta(seconds=1))
        refused(client.get("/v1/prompts", headers=bearer(expired["token"])), "expired")

    def test_a_key_cannot_be_made_expired(self, client: TestClient) -> None:
        past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        response = client.post(
            "/v1/keys", json={"owner": "a", "role": "reader", "expires_at": past}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["body", "expires_at"]

    def test_expiry_in_another_time_zone(self, client: TestClient, session: Session) -> None:
        """The instant counts, not the wall time: 10:00+05:00 is 05:00 UTC."""
        now = datetime.now(UTC)
        east, west = timezone(timedelta(hours=5)), timezone(timedelta(hours=-5))
        passed = create(client, expires_at=(now + timedelta(hours=1)).isoformat())
        expire(session, passed["id"], (now - timedelta(minutes=1)).astimezone(east))
        refused(client.get("/v1/prompts", headers=bearer(passed["token"])), "expired")
        ahead = now + timedelta(minutes=10)
        coming = create(client, expires_at=ahead.astimezone(west).isoformat())
        assert client.get("/v1/prompts", headers=bearer(coming["token"])).status_code == 200
        stored = client.get(f"/v1/keys/{coming['id']}").json()["expires_at"]
        assert datetime.fromisoformat(stored) == ahead

    def test_expiry_is_checked_at_each_request(
        self, client: TestClient, session: Session, make_token: Callable[..., str]
    ) -> None:
        token = make_token("reader")
        prefix = "rk_" + token.removeprefix("rk_").partition("_")[0]
        assert client.get("/v1/prompts", headers=bearer(token)).status_code == 200
        row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one()
        row.expires_at = datetime.now(UTC) - timedelta(milliseconds=1)
        session.flush()
        refused(client.get("/v1/prompts", headers=bearer(token)), "expired")


class TestRevoke:
    def test_revoked_key_is_refused_on_the_next_request(
        self, client: TestClient, session: Session
    ) -> None:
        created = create(client, role="editor")
        headers = bearer(created["token"])
        assert client.get("/v1/prompts", headers=headers).status_code == 200
        revoked = client.delete(f"/v1/keys/{created['prefix']}")
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["revoked_at"] is not None
        refused(client.get("/v1/prompts", headers=headers), "revoked")
        refused(client.post("/v1/prompts", json={"name": "keys/x"}, headers=headers), "revoked")

    def test_revoking_twice_is_a_no_op(self, client: TestClient, session: Session) -> None:
        created = create(client)
        first = client.delete(f"/v1/keys/{created['id']}")
        second = client.delete(f"/v1/keys/{created['id']}")
        assert first.status_code == second.status_code == 200
        assert first.json() == second.json()
        events = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "key.revoke", AuditEvent.target == created["prefix"]
            )
        ).all()
        assert len(events) == 1

    def test_revoked_keys_leave_the_list(self, client: TestClient) -> None:
        created = create(client)
        client.delete(f"/v1/keys/{created['id']}")
        assert created["id"] not in {k["id"] for k in client.get("/v1/keys").json()}
        everything = client.get("/v1/keys", params={"include_revoked": True}).json()
        assert {k["id"]: k for k in everything}[created["id"]]["revoked_at"] is not None

    def test_an_admin_may_revoke_its_own_key(self, client: TestClient) -> None:
        created = create(client, role="admin", owner="root")
        headers = bearer(created["token"])
        assert client.delete(f"/v1/keys/{created['id']}", headers=headers).status_code == 200
        refused(client.get("/v1/keys", headers=headers), "revoked")

    def test_committing_app(self, committing_client: TestClient) -> None:
        """One committed transaction per request, as served."""
        client = committing_client
        created = create(client, role="reader")
        headers = bearer(created["token"])
        assert client.get("/v1/prompts", headers=headers).status_code == 200
        assert client.delete(f"/v1/keys/{created['id']}").status_code == 200
        refused(client.get("/v1/prompts", headers=headers), "revoked")

    def test_every_server_refuses_at_once(self, migrated_url: str) -> None:
        """Two servers on one database, as replicas: revoked on one, refused by both."""
        admin = bearer(admin_token(migrated_url))
        with live_server(migrated_url) as one, live_server(migrated_url) as two:
            created = httpx.post(
                f"{one}/v1/keys", json={"owner": "ada", "role": "reader"}, headers=admin
            )
            assert created.status_code == 201, created.text
            headers = bearer(created.json()["token"])
            for base in (one, two):
                # Used, so that a server that cached keys would have this one cached.
                for _ in range(3):
                    assert httpx.get(f"{base}/v1/prompts", headers=headers).status_code == 200
            revoked = httpx.delete(f"{one}/v1/keys/{created.json()['id']}", headers=admin)
            assert revoked.status_code == 200, revoked.text
            for base in (two, one):
                refused(httpx.get(f"{base}/v1/prompts", headers=headers), "revoked")
