"""Change events delivered to webhooks: the events each change emits, filtered by type and
folder; signed deliveries a real receiver verifies with the ``standardwebhooks`` package;
retries, giving up, redelivery and the delivery log; the outbox written in the change's
own transaction; and deliveries that survive a server killed before posting them.

Every test runs on its own migrated database (real commits) on each store, with the app
as served; deliveries are made by a worker the test drives, except where the server's
own worker is what is tested.
"""

from __future__ import annotations

import base64
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from standardwebhooks import Webhook
from test_atomicity import Fault
from test_faults import registry_serve
from typer.testing import CliRunner

from registry.app import create_app
from registry.cli import app as cli
from registry.config import Settings, get_settings
from registry.db import Database, utcnow
from registry.events.delivery import DeliveryWorker
from registry.events.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from registry.events.signing import new_secret, signature

from conftest import admin_token, bearer, new_token
from webhook_receiver import Receiver

FAST = {
    "webhooks_deliver": False,
    "webhook_retry_base_s": 0.02,
    "webhook_retry_cap_s": 0.1,
    "webhook_poll_interval_s": 0.05,
}


@pytest.fixture
def hook_settings(migrated_url: str) -> Settings:
    return Settings(database_url=migrated_url, **FAST)


@pytest.fixture
def api(hook_settings: Settings, migrated_url: str) -> Iterator[TestClient]:
    """The app as served, its own worker off; requests carry an admin key (``admin``)."""
    app = create_app(hook_settings)
    token = admin_token(migrated_url)
    with TestClient(app, raise_server_exceptions=False, headers=bearer(token)) as client:
        yield client


@pytest.fixture
def db(migrated_url: str) -> Iterator[Database]:
    database = Database.from_url(migrated_url)
    yield database
    database.dispose()


@pytest.fixture
def worker(db: Database, hook_settings: Settings) -> Iterator[DeliveryWorker]:
    delivery = DeliveryWorker(db, hook_settings)
    yield delivery
    delivery.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def subscribe(api: TestClient, receiver: Receiver, **body: Any) -> dict[str, Any]:
    created: dict[str, Any] = ok(api.post("/v1/webhooks", json={"url": receiver.url, **body}))
    receiver.secret = created["secret"]
    return created


def deliver(worker: DeliveryWorker) -> None:
    """Post everything due now, until nothing is."""
    while worker.deliver_due():
        pass


def deliver_until(worker: DeliveryWorker, done: Any, timeout: float = 30) -> None:
    """Run worker rounds (retries come due within the test's short backoff) until ``done()``."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "deliveries did not finish in time"
        if not worker.deliver_due():
            time.sleep(0.02)


def make_prompt(api: TestClient, name: str, *templates: str, labels: tuple[str, ...] = ()) -> None:
    ok(api.post("/v1/prompts", json={"name": name}))
    for i, template in enumerate(templates):
        body: dict[str, Any] = {"template": template}
        if i == len(templates) - 1 and labels:
            body["labels"] = list(labels)
        ok(api.post(f"/v1/prompts/{name}/-/versions", json=body))


def move(api: TestClient, name: str, label: str, version: int, reason: str = "") -> None:
    ok(api.put(f"/v1/prompts/{name}/-/labels/{label}", json={"version": version, "reason": reason}))


def outbox_rows(db: Database) -> tuple[int, int]:
    with db.session(write=False) as session:
        events = session.scalar(select(func.count()).select_from(WebhookEvent)) or 0
        deliveries = session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0
    return events, deliveries


# ---------------------------------------------------------------- the events of each change


class TestEvents:
    def test_a_published_version(
        self, api: TestClient, worker: DeliveryWorker, receiver: Receiver
    ) -> None:
        subscribe(api, receiver, event_types=["version.published"])
        make_prompt(api, "support/welcome", "Welcome.", "Welcome back.")
        deliver(worker)
        got = receiver.of_type("version.published")
        assert [(r.data["prompt"], r.data["version"]) for r in got] == [
            ("support/welcome", 1),
            ("support/welcome", 2),
        ]
        assert got[0].data["actor"] == "admin"
        assert got[0].data["content_hash"]
        assert got[0].webhook_id != got[1].webhook_id
        assert abs(got[0].timestamp - time.time()) < 60
        assert receiver.refused == []

    def test_a_folder_filter_keeps_other_folders_out(
        self, api: TestClient, worker: DeliveryWorker, receiver: Receiver
    ) -> None:
        subscribe(api, receiver, folder="support/")
        other = Receiver()
        try:
            subscribe(api, other, folder="billing/invoice")
            make_prompt(api, "support/faq", "Answer.")
            make_prompt(api, "billing/invoice", "Invoice.")
            make_prompt(api, "billing/invoice-reminder", "Pay.")
            make_prompt(api, "supportive/hint", "Hint.")
            deliver(worker)
            assert {r.data["prompt"] for r in receiver.accepted()} == {"support/faq"}
            assert {r.data["prompt"] for r in other.accepted()} == {"billing/invoice"}
        finally:
            other.close()

    def test_a_label_move(
        self, api: TestClient, worker: DeliveryWorker, receiver: Receiver
    ) -> None:
        subscribe(api, receiver, event_types=["label.moved"])
        make_prompt(api, "support/bye", "Bye.", "Goodbye.")
        move(api, "support/bye", "production", 1, "first release")
        move(api, "support/bye", "production", 2, "better")
        deliver(worker)
        moves = [
            (r.data["label"], r.data["from_version"], r.data["to_version"], r.data["reason"])
            for r in receiver.of_type("label.moved")
        ]
        assert moves == [("production", None, 1, "first release"), ("production", 1, 2, "better")]

    def test_a_translation_approved_then_gone_stale(
        self, api: TestClient, worker: DeliveryWorker, receiver: Receiver
    ) -> None:
        subscribe(api, receiver, event_types=["translation.approved", "translation.stale"])
        name = "support/thanks"
        make_prompt(api, name, "Thank you.")
        for locale, text in (("fr", "Merci."), ("de", "Danke.")):
            ok(api.put(f"/v1/prompts/{name}/-/translations/{locale}", json={"template": text}))
        ok(api.post(f"/v1/prompts/{name}/-/translations/fr/review", json={"action": "approve"}))
        deliver(worker)
        approved = receiver.of_type("translation.approved")
        assert [(r.data["prompt"], r.data["version"], r.data["locale"]) for r in approved] == [
            (name, 1, "fr")
        ]

        # A new source: both translations are carried to version 2 as stale.
        ok(api.post(f"/v1/prompts/{name}/-/versions", json={"template": "Thanks a lot."}))
        deliver(worker)
        stale = receiver.of_type("translation.stale")
        assert sorted(
            (r.data["locale"], r.data["version"], r.data["previous_version"]) for r in stale
        ) == [("de", 2, 1), ("fr", 2, 1)]
        listed = ok(api.get(f"/v1/prompts/{name}/-/translations", params={"version": 2}))
        statuses = {t["locale"]: t["status"] for t in listed}
        assert statuses == {"de": "stale", "fr": "stale"}

    def test_a_new_version_with_the_same_source_makes_nothing_stale(
        self, api: TestClient, worker: DeliveryWorker, receiver: Receiver
    ) -> None:
        subscribe(api, receiver, event_types=["translation.stale", "version.published"])
        name = "support/same"
        make_prompt(api, name, "Same text.")
        ok(api.put(f"/v1/prompts/{name}/-/translations/fr", json={"template": "Même texte."}))
        body = {"template": "Same text.", "config": {"temperature": 0.5}}
        ok(api.post(f"/v1/prompts/{name}/-/versions", json=body))
        deliver(worker)
        assert [r.data["version"] for r in receiver.of_type("version.published")] == [1, 2]
        assert receiver.of_type("translation.stale") == []

    def test_an_experiment_started_stopped_and_promoted(
        self, api: TestClient, worker: DeliveryWorker, receiver: Receiver
    ) -> None:
        subscribe(api, receiver, folder="exp/")
        name = "exp/greeting"
        make_prompt(api, name, "Hi.", labels=("production",))
        ok(api.post(f"/v1/prompts/{name}/-/versions", json={"template": "Hello there."}))
        arms = [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}]
        first = ok(api.post(f"/v1/prompts/{name}/-/experiments", json={"name": "a", "arms": arms}))
        ok(api.post(f"/v1/experiments/{first['id']}/stop", json={"reason": "enough"}))
        second = ok(api.post(f"/v1/prompts/{name}/-/experiments", json={"name": "b", "arms": arms}))
        ok(api.post(f"/v1/experiments/{second['id']}/promote", json={"arm": "b"}))
        deliver(worker)

        kinds = [r.type for r in receiver.accepted() if r.type.startswith("experiment.")]
        assert kinds == [
            "experiment.started",
            "experiment.stopped",
            "experiment.started",
            "experiment.promoted",
        ]
        stopped = receiver.of_type("experiment.stopped")[0].data
        assert (stopped["experiment_id"], stopped["status"], stopped["reason"]) == (
            first["id"],
            "stopped",
            "enough",
        )
        promoted = receiver.of_type("experiment.promoted")[0].data
        assert (promoted["experiment_id"], promoted["promoted_arm"], promoted["version"]) == (
            second["id"],
            "b",
            2,
        )
        # Promoting moves the label: that is an event of its own.
        moved = receiver.of_type("label.moved")[-1].data
        assert (moved["prompt"], moved["label"], moved["to_version"]) == (name, "production", 2)


class TestIncludes:
    def test_a_label_move_of_a_component_changes_the_answers_that_include_it(
        self, api: TestClient, worker: DeliveryWorker, receiver: Receiver
    ) -> None:
        everything = receiver
        support = Receiver()
        try:
            subscribe(api, everything)
            subscribe(api, support, folder="support/")
            make_prompt(api, "shared/tone", "Be kind.", labels=("production",))
            ok(api.post("/v1/prompts/shared/tone/-/versions", json={"template": "Be brief."}))
            greeting = '{% include "shared/tone@production" %} Hello.'
            make_prompt(api, "support/greeting", greeting, labels=("production", "staging"))
            # A bare reference means production; a pinned one never changes.
            make_prompt(api, "support/bare", '{% include "shared/tone" %} Hi.', labels=("beta",))
            make_prompt(api, "support/pinned", '{% include "shared/tone@1" %} Yo.', labels=("x",))
            # Through another prompt: outer includes support/greeting@production.
            outer = '{% include "support/greeting@production" %} Bye.'
            make_prompt(api, "sales/outer", outer, labels=("production",))
            deliver(worker)
            before = {r.webhook_id for r in everything.accepted()}

            move(api, "shared/tone", "production", 2, "shorter")
            deliver(worker)

            new = [r for r in everything.accepted() if r.webhook_id not in before]
            moved = [r.data for r in new if r.type == "label.moved"]
            assert [(m["prompt"], m["to_version"]) for m in moved] == [("shared/tone", 2)]
            changed = {
                (d["prompt"], d["label"]): d
                for d in (r.data for r in new if r.type == "answer.changed")
            }
            assert set(changed) == {
                ("support/greeting", "production"),
                ("support/greeting", "staging"),
                ("support/greeting", "latest"),
                ("support/bare", "beta"),
                ("support/bare", "latest"),
                ("sales/outer", "production"),
                ("sales/outer", "latest"),
            }
            direct = changed[("support/greeting", "production")]
            assert (
                direct["component"],
                direct["component_label"],
                direct["component_from_version"],
                direct["component_to_version"],
                direct["via"],
            ) == ("shared/tone", "production", 1, 2, [])
            assert changed[("sales/outer", "production")]["via"] == ["support/greeting"]
            assert changed[("sales/outer", "production")]["component"] == "shared/tone"

            # The folder's subscription hears of its own prompts only.
            heard = [
                (r.type, r.data["prompt"])
                for r in support.accepted()
                if r.webhook_id not in before and r.type in ("answer.changed", "label.moved")
            ]
            assert {p for _t, p in heard} == {"support/greeting", "support/bare"}
            assert {t for t, _p in heard} == {"answer.changed"}
        finally:
            support.close()

    def test_a_component_publishing_changes_latest_includes(
        self, api: TestClient, worker: DeliveryWorker, receiver: Receiver
    ) -> None:
        subscribe(api, receiver, event_types=["answer.changed"])
        make_prompt(api, "shared/sign", "Regards.")
        make_prompt(api, "mail/end", '{% include "shared/sign@latest" %}', labels=("production",))
        ok(api.post("/v1/prompts/shared/sign/-/versions", json={"template": "Best."}))
        deliver(worker)
        changed = [(r.data["prompt"], r.data["label"]) for r in receiver.accepted()]
        assert sorted(changed) == [("mail/end", "latest"), ("mail/end", "production")]
        assert receiver.accepted()[0].data["component_label"] == "latest"


# ---------------------------------------------------------------- delivery


class TestSigning:
    def test_our_signature_is_the_standard_packages(self) -> None:
        secret = new_secret()
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
        body = b'{"type":"x","data":{}}'
        now = int(time.time())
        ours = signature(secret, "msg_1", now, body)
        theirs = Webhook(secret).sign("msg_1", utcnow().fromtimestamp(now), body)
        assert ours == theirs

    def test_a_receiver_with_another_secret_refuses(
        self, api: TestClient, worker: DeliveryWorker, receiver: Receiver
    ) -> None:
        subscribe(api, receiver)
        receiver.secret = new_secret()
        make_prompt(api, "sig/wrong", "Text.")
        worker.deliver_due()
        assert receiver.accepted() == []
        assert receiver.refused == ["No matching signature found"]


class TestRetries:
    def test_a_receiver_down_then_up_gets_every_event_once_per_id(
        self, api: TestClient, worker: DeliveryWorker, db: Database
    ) -> None:
        down = Receiver()
        port, url = down.port, down.url
        down.close()
        created = ok(api.post("/v1/webhooks", json={"url": url}))
        for n in range(5):
            make_prompt(api, f"down/p{n}", f"Text {n}.")
        deliver(worker)  # every post is refused a connection
        log = ok(api.get(f"/v1/webhooks/{created['id']}/deliveries"))["items"]
        assert len(log) == 5
        assert {d["status"] for d in log} == {"pending"}
        assert all(d["log"][0]["status_code"] is None and d["log"][0]["error"] for d in log)
        expected = {d["webhook_id"] for d in log}

        up = Receiver(port=port)
        up.secret = created["secret"]
        # The first post of each event fails once more, so every event is posted again.
        first_seen: set[str] = set()

        def flaky(received: Any) -> int:
            if received.webhook_id in first_seen:
                return 200
            first_seen.add(received.webhook_id)
            return 500

        up.answer = flaky
        try:
            deliver_until(worker, lambda: len(up.accepted()) >= 5)
            deliver(worker)
            accepted = [r.webhook_id for r in up.accepted()]
            assert sorted(accepted) == sorted(expected)  # each id accepted exactly once
            assert {r.webhook_id for r in up.received} == expected  # repeats keep their id
            assert up.refused == []
            log = ok(api.get(f"/v1/webhooks/{created['id']}/deliveries"))["items"]
            assert {d["status"] for d in log} == {"delivered"}
            for d in log:
                numbers = [a["number"] for a in d["log"]]
                assert numbers == list(range(1, d["attempts"] + 1)) and len(numbers) >= 3
                codes = [a["status_code"] for a in d["log"]]
                assert codes[0] is None and codes[-2:] == [500, 200]
            assert all(d["last_status_code"] == 200 and d["last_error"] is None for d in log)
        finally:
            up.close()

    def test_a_delivery_is_failed_after_its_attempts_and_redelivered_with_its_id(
        self, migrated_url: str, api: TestClient, db: Database, receiver: Receiver
    ) -> None:
        settings = Settings(database_url=migrated_url, **{**FAST, "webhook_max_attempts": 3})
        worker = DeliveryWorker(db, settings)
        try:
            created = subscribe(api, receiver)
            receiver.answer = lambda _r: 503
            make_prompt(api, "fail/p", "Text.")
            log_url = f"/v1/webhooks/{created['id']}/deliveries"
            deliver_until(worker, lambda: ok(api.get(log_url))["items"][0]["status"] == "failed")
            [failed] = ok(api.get(log_url, params={"status": "failed"}))["items"]
            assert failed["attempts"] == 3
            assert [a["status_code"] for a in failed["log"]] == [503, 503, 503]
            assert failed["last_error"] == "HTTP 503"
            assert failed["next_attempt_at"] is None and failed["finished_at"]
            assert ok(api.get(log_url, params={"status": "pending"}))["items"] == []

            receiver.answer = lambda _r: 204
            redo = api.post(f"{log_url}/{failed['id']}/redeliver")
            assert redo.status_code == 202, redo.text
            assert redo.json()["status"] == "pending"
            deliver(worker)
            [done] = ok(api.get(log_url))["items"]
            assert (done["status"], done["attempts"], done["last_status_code"]) == (
                "delivered",
                4,
                204,
            )
            ids = {r.webhook_id for r in receiver.received}
            assert ids == {failed["webhook_id"]}
            assert len(receiver.received) == 4
        finally:
            worker.close()

    def test_a_delivered_event_can_be_redelivered(
        self, api: TestClient, worker: DeliveryWorker, receiver: Receiver
    ) -> None:
        created = subscribe(api, receiver)
        make_prompt(api, "again/p", "Text.")
        deliver(worker)
        [delivery] = ok(api.get(f"/v1/webhooks/{created['id']}/deliveries"))["items"]
        assert delivery["status"] == "delivered"
        ok(api.post(f"/v1/webhooks/{created['id']}/deliveries/{delivery['id']}/redeliver"))
        deliver(worker)
        assert [r.webhook_id for r in receiver.accepted()] == [delivery["webhook_id"]] * 2
        missing = api.post(f"/v1/webhooks/{created['id']}/deliveries/999999/redeliver")
        assert missing.status_code == 404, missing.text
        assert missing.headers["content-type"] == "application/problem+json"

    def test_a_leased_delivery_is_not_claimed_twice_until_its_lease_runs_out(
        self, api: TestClient, hook_settings: Settings, db: Database, receiver: Receiver
    ) -> None:
        subscribe(api, receiver)
        make_prompt(api, "lease/p", "Text.")
        first, second = DeliveryWorker(db, hook_settings), DeliveryWorker(db, hook_settings)
        try:
            claimed = first.claim(10)
            assert len(claimed) == 1
            assert second.claim(10) == []
            # The first worker died mid-post: once its lease runs out, another posts it.
            with db.session() as session:
                delivery = session.get(WebhookDelivery, claimed[0].id)
                assert delivery is not None
                delivery.locked_until = utcnow()
            time.sleep(0.01)
            assert [c.webhook_id for c in second.claim(10)] == [claimed[0].webhook_id]
        finally:
            first.close()
            second.close()

    def test_an_inactive_subscription_gets_no_new_events(
        self, api: TestClient, worker: DeliveryWorker, receiver: Receiver, db: Database
    ) -> None:
        created = subscribe(api, receiver, active=False)
        make_prompt(api, "quiet/p", "Text.")
        deliver(worker)
        assert receiver.received == []
        assert outbox_rows(db) == (0, 0)
        ok(api.patch(f"/v1/webhooks/{created['id']}", json={"active": True}))
        make_prompt(api, "quiet/q", "Text.")
        deliver(worker)
        assert [r.data["prompt"] for r in receiver.accepted()] == ["quiet/q"]


# ---------------------------------------------------------------- the outbox and restarts


class TestOutbox:
    def test_no_subscription_writes_nothing(self, api: TestClient, db: Database) -> None:
        make_prompt(api, "none/p", "Text.")
        assert outbox_rows(db) == (0, 0)

    def test_a_failed_write_leaves_no_outbox_row(
        self, api: TestClient, db: Database, receiver: Receiver
    ) -> None:
        subscribe(api, receiver)
        make_prompt(api, "atomic/p", "One.")
        move(api, "atomic/p", "production", 1)
        written = outbox_rows(db)
        # The version and its events are written, then a label move of the same publish fails.
        fault = Fault(table="label_events", nth=1, how="python")
        engine = api.app.state.db.engine  # type: ignore[attr-defined]
        fault.attach(engine)
        fault.armed = True
        try:
            body = {"template": "Two.", "labels": ["production"]}
            failed = api.post("/v1/prompts/atomic/p/-/versions", json=body)
        finally:
            fault.detach(engine)
        assert failed.status_code >= 500, failed.text
        assert failed.headers["content-type"] == "application/problem+json"
        assert fault.fired_after is not None and "INSERT webhook_deliveries" in fault.fired_after
        assert outbox_rows(db) == written
        # Unfaulted, the same request writes its events.
        ok(api.post("/v1/prompts/atomic/p/-/versions", json=body))
        assert outbox_rows(db)[0] > written[0]

    def test_deleting_a_subscription_deletes_its_deliveries(
        self, api: TestClient, db: Database, worker: DeliveryWorker, receiver: Receiver
    ) -> None:
        created = subscribe(api, receiver)
        make_prompt(api, "gone/p", "Text.")
        deliver(worker)
        assert outbox_rows(db) == (1, 1)
        assert api.delete(f"/v1/webhooks/{created['id']}").status_code == 204
        assert outbox_rows(db) == (0, 0)
        with db.session(write=False) as session:
            assert session.scalar(select(func.count()).select_from(WebhookAttempt)) == 0
        assert api.get(f"/v1/webhooks/{created['id']}").status_code == 404


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
class TestRestart:
    def test_a_server_killed_before_delivering_delivers_after_restart(
        self,
        migrated_url: str,
        tmp_path: Any,
        receiver: Receiver,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        token = admin_token(migrated_url)
        monkeypatch.setenv("REGISTRY_WEBHOOKS_DELIVER", "false")
        with registry_serve(migrated_url, tmp_path) as (process, base):
            with httpx.Client(base_url=base, headers=bearer(token), timeout=30) as http:
                created = ok(http.post("/v1/webhooks", json={"url": receiver.url}))
                receiver.secret = created["secret"]
                ok(http.post("/v1/prompts", json={"name": "crash/p"}))
                ok(http.post("/v1/prompts/crash/p/-/versions", json={"template": "Text."}))
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        assert receiver.received == []

        monkeypatch.setenv("REGISTRY_WEBHOOKS_DELIVER", "true")
        monkeypatch.setenv("REGISTRY_WEBHOOK_POLL_INTERVAL_S", "0.1")
        with registry_serve(migrated_url, tmp_path):
            receiver.wait_for(lambda: len(receiver.accepted()) >= 1)
        [got] = receiver.accepted()
        assert (got.type, got.data["prompt"], got.data["version"]) == (
            "version.published",
            "crash/p",
            1,
        )
        assert receiver.refused == []


# ---------------------------------------------------------------- the API


class TestApi:
    def test_the_secret_is_shown_once(self, api: TestClient, receiver: Receiver) -> None:
        created = subscribe(api, receiver, event_types=["label.moved"], description="CI")
        assert created["secret"].startswith("whsec_")
        listed = ok(api.get("/v1/webhooks"))
        assert [s["id"] for s in listed] == [created["id"]]
        assert "secret" not in listed[0]
        one = ok(api.get(f"/v1/webhooks/{created['id']}"))
        assert "secret" not in one
        assert (one["event_types"], one["folder"], one["description"], one["created_by"]) == (
            ["label.moved"],
            None,
            "CI",
            "admin",
        )
        audit = ok(api.get("/v1/audit", params={"action": "webhook.create"}))["items"]
        assert len(audit) == 1 and "secret" not in str(audit[0])

    def test_an_update_changes_only_what_it_names(
        self, api: TestClient, receiver: Receiver
    ) -> None:
        created = subscribe(api, receiver, folder="support/")
        changed = ok(
            api.patch(f"/v1/webhooks/{created['id']}", json={"event_types": ["label.moved"]})
        )
        assert (changed["folder"], changed["event_types"]) == ("support/", ["label.moved"])
        widened = ok(api.patch(f"/v1/webhooks/{created['id']}", json={"folder": None}))
        assert widened["folder"] is None
        refused = api.patch(f"/v1/webhooks/{created['id']}", json={"url": None})
        assert refused.status_code == 422, refused.text

    @pytest.mark.parametrize(
        "url",
        [
            "ftp://example.com/hook",
            "example.com/hook",
            "http://",
            "https://example.com/a b",
            "http://example.com:99999/",
            "https://example.com/hook#part",
            "javascript:alert(1)",
        ],
    )
    def test_a_bad_url_is_refused(self, api: TestClient, url: str) -> None:
        refused = api.post("/v1/webhooks", json={"url": url})
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["loc"] == ["body", "url"]
        assert ok(api.get("/v1/webhooks")) == []

    def test_a_bad_url_is_explained_in_the_callers_language(self, api: TestClient) -> None:
        refused = api.post(
            "/v1/webhooks", json={"url": "ftp://example.com"}, headers={"Accept-Language": "fr"}
        )
        assert refused.status_code == 422
        assert "http://" in refused.json()["errors"][0]["message"]
        assert refused.json()["errors"][0]["message"] != (
            "the URL must start with http:// or https://"
        )

    def test_an_unknown_event_type_is_refused(self, api: TestClient) -> None:
        body = {"url": "https://example.com/hook", "event_types": ["prompt.deleted"]}
        refused = api.post("/v1/webhooks", json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["loc"][:2] == ["body", "event_types"]

    def test_only_admins_manage_webhooks(
        self, api: TestClient, migrated_url: str, receiver: Receiver, db: Database
    ) -> None:
        created = subscribe(api, receiver)
        with db.session() as session:
            editor = bearer(new_token(session, "editor"))
        routes = [
            ("POST", "/v1/webhooks", {"url": "https://example.com/h"}),
            ("GET", "/v1/webhooks", None),
            ("GET", f"/v1/webhooks/{created['id']}", None),
            ("PATCH", f"/v1/webhooks/{created['id']}", {"active": False}),
            ("DELETE", f"/v1/webhooks/{created['id']}", None),
            ("GET", f"/v1/webhooks/{created['id']}/deliveries", None),
            ("POST", f"/v1/webhooks/{created['id']}/deliveries/1/redeliver", None),
        ]
        for method, path, body in routes:
            answer = api.request(method, path, json=body, headers=editor)
            assert answer.status_code == 403, (method, path, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
        assert api.get(f"/v1/webhooks/{created['id']}").json()["active"] is True


class TestMetrics:
    def test_deliveries_by_outcome_and_the_backlog(
        self, api: TestClient, worker: DeliveryWorker, receiver: Receiver
    ) -> None:
        def sample(name: str, **labels: str) -> float:
            return REGISTRY.get_sample_value(name, labels) or 0.0

        subscribe(api, receiver)
        delivered = sample("registry_webhook_deliveries_total", outcome="delivered")
        failed = sample("registry_webhook_deliveries_total", outcome="failed")
        make_prompt(api, "metrics/p", "Text.")
        time.sleep(0.05)
        worker.report_backlog()
        assert sample("registry_webhook_pending_deliveries") == 1
        assert sample("registry_webhook_oldest_pending_seconds") >= 0.05
        receiver.answer = lambda _r: 500
        worker.deliver_due()
        receiver.answer = lambda _r: 204
        deliver_until(worker, lambda: len(receiver.accepted()) == 1)
        worker.report_backlog()
        assert sample("registry_webhook_pending_deliveries") == 0
        assert sample("registry_webhook_oldest_pending_seconds") == 0
        after = sample("registry_webhook_deliveries_total", outcome="delivered")
        assert after == delivered + 1
        assert sample("registry_webhook_deliveries_total", outcome="failed") == failed + 1


class TestCommand:
    def test_registry_webhooks_deliver_once(
        self,
        api: TestClient,
        migrated_url: str,
        receiver: Receiver,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        subscribe(api, receiver)
        make_prompt(api, "cli/p", "One.", "Two.")
        monkeypatch.setenv("REGISTRY_DATABASE_URL", migrated_url)
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(cli, ["webhooks", "deliver", "--once"])
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        assert "posted 2 webhook deliveries" in result.output
        assert [r.data["version"] for r in receiver.accepted()] == [1, 2]
