"""The reviewers' console pages with the real app: approving and rejecting translations
one by one and in bulk, and experiments' results with their chart."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry.access.roles import SYSTEM
from registry.experiments import service as experiments
from registry.experiments.schemas import ExperimentCreate, FeedbackCreate
from registry.translations import service as translations

from .test_console_translate import stale_prompt, translate
from factories import make_prompt, publish

SignedIn = Callable[..., tuple[TestClient, str]]
MakeKey = Callable[..., dict[str, str]]


def status_of(session: Session, name: str, locale: str) -> str:
    return translations.get_translation(session, name, locale, None).status.value


def listed(page: str) -> list[str]:
    return re.findall(r'name="prompts" value="([^"]+)"', page)


class TestVisibility:
    def test_each_role_sees_only_the_areas_it_may_use(self, signed_in: SignedIn) -> None:
        seen = {}
        for role in ("reader", "translator", "reviewer"):
            client, _csrf = signed_in(role, locales=("fr",) if role == "translator" else ())
            nav = client.get("/console/prompts").text.split("</nav>")[0]
            seen[role] = {
                area
                for area in ("translate", "review", "experiments")
                if f'href="/console/{area}"' in nav
            }
        assert seen == {
            "reader": {"experiments"},
            "translator": {"translate", "experiments"},
            "reviewer": {"translate", "review", "experiments"},
        }

    def test_a_translator_is_refused_the_review_pages(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="rv/p")
        translate(session, "rv/p", "fr", "Bonjour {{ who }}", status="in_review")
        client, csrf = signed_in("translator", locales=("fr",))
        listing = client.get("/console/review", params={"locale": "fr"})
        assert listing.status_code == 403 and "reviewer" in listing.text
        assert client.get("/console/review/fr/rv/p").status_code == 403
        refused = client.post(
            "/console/review/fr/rv/p", data={"csrf_token": csrf, "action": "approve"}
        )
        assert refused.status_code == 403
        assert status_of(session, "rv/p", "fr") == "in_review"

    def test_a_reviewer_outside_the_folder_is_refused(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="rvo-in/p")
        make_prompt(session, name="rvo-out/p")
        for name in ("rvo-in/p", "rvo-out/p"):
            translate(session, name, "fr", "Bonjour {{ who }}", status="in_review")
        client, csrf = signed_in("reviewer", folder="rvo-in/")
        assert listed(client.get("/console/review", params={"locale": "fr"}).text) == ["rvo-in/p"]
        assert client.get("/console/review/fr/rvo-out/p").status_code == 403
        bulk = client.post(
            "/console/review",
            data={
                "csrf_token": csrf,
                "locale": "fr",
                "prompts": ["rvo-out/p"],
                "action": "approve",
            },
        )
        assert bulk.status_code == 403 and "rvo-in/" in bulk.text
        assert status_of(session, "rvo-out/p", "fr") == "in_review"


class TestReview:
    def test_a_stale_entry_fixed_by_a_translator_is_approved_and_served(
        self, session: Session, signed_in: SignedIn, make_key: MakeKey
    ) -> None:
        stale_prompt(session, "rs/greet")
        api = make_key("reader")
        translator, csrf = signed_in("translator", folder="rs/", locales=("fr",))
        queue = translator.get("/console/translate", params={"locale": "fr", "state": "stale"})
        assert 'href="/console/translate/fr/rs/greet"' in queue.text
        fixed = "Bonjour {{ who }}, bon retour dans notre boutique !"
        submitted = translator.post(
            "/console/translate/fr/rs/greet",
            data={"csrf_token": csrf, "version": "2", "template": fixed, "action": "in_review"},
            follow_redirects=False,
        )
        assert submitted.status_code == 303, submitted.text

        reviewer, csrf = signed_in("reviewer")
        listing = reviewer.get("/console/review", params={"locale": "fr", "folder": "rs"}).text
        assert listed(listing) == ["rs/greet"]
        page = reviewer.get("/console/review/fr/rs/greet").text
        assert fixed in page.replace("&#39;", "'")
        etag = re.search(r'name="etag" value="([^"]+)"', page)
        assert etag
        approved = reviewer.post(
            "/console/review/fr/rs/greet",
            data={
                "csrf_token": csrf,
                "etag": etag[1].replace("&#34;", '"'),
                "version": "2",
                "action": "approve",
                "note": "good",
            },
            follow_redirects=False,
        )
        assert approved.status_code == 303, approved.text
        assert "1 translation approved." in reviewer.get(approved.headers["location"]).text

        served = reviewer.get(
            "/v1/prompts/rs/greet/-/resolve",
            params={"locale": "fr", "label": "latest", "variables": '{"who": "Ana"}'},
            headers=api,
        )
        assert served.status_code == 200, served.text
        body = served.json()
        assert body["locale_match"] == "exact"
        assert fixed in str(body)

    def test_a_review_of_text_changed_meanwhile_is_refused(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="rc/p")
        translate(session, "rc/p", "fr", "Bonjour {{ who }}", status="in_review")
        client, csrf = signed_in("reviewer")
        page = client.get("/console/review/fr/rc/p").text
        etag = re.search(r'name="etag" value="([^"]+)"', page)
        assert etag
        translate(session, "rc/p", "fr", "Salut {{ who }}", status="in_review")
        answer = client.post(
            "/console/review/fr/rc/p",
            data={"csrf_token": csrf, "etag": etag[1].replace("&#34;", '"'), "action": "approve"},
        )
        assert answer.status_code == 412 and "changed since you read it" in answer.text
        assert status_of(session, "rc/p", "fr") == "in_review"

    def test_bulk_approve_and_an_all_or_nothing_refusal(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        for n in ("a", "b", "c"):
            make_prompt(session, name=f"rb/{n}")
            translate(session, f"rb/{n}", "fr", f"Bonjour {{{{ who }}}} {n}", status="in_review")
        client, csrf = signed_in("reviewer")
        listing = client.get("/console/review", params={"locale": "fr", "folder": "rb/"}).text
        assert listed(listing) == ["rb/a", "rb/b", "rb/c"]
        assert 'data-select-all="prompts"' in listing
        answer = client.post(
            "/console/review",
            data={
                "csrf_token": csrf,
                "locale": "fr",
                "folder": "rb/",
                "state": "in_review",
                "prompts": ["rb/a", "rb/b"],
                "action": "approve",
            },
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        after = client.get(answer.headers["location"]).text
        assert "2 translations approved." in after and listed(after) == ["rb/c"]
        assert [status_of(session, f"rb/{n}", "fr") for n in "abc"] == [
            "approved",
            "approved",
            "in_review",
        ]
        # One that cannot be approved (already approved) refuses the whole selection.
        refused = client.post(
            "/console/review",
            data={
                "csrf_token": csrf,
                "locale": "fr",
                "prompts": ["rb/a", "rb/c"],
                "action": "approve",
            },
        )
        assert refused.status_code == 409
        assert "nothing was changed" in refused.text and "rb/c" in listed(refused.text)
        assert status_of(session, "rb/c", "fr") == "in_review"

    def test_reject_and_csrf(self, session: Session, signed_in: SignedIn) -> None:
        make_prompt(session, name="rr/p")
        translate(session, "rr/p", "fr", "Bonjour {{ who }}", status="in_review")
        client, csrf = signed_in("reviewer")
        no_token = client.post(
            "/console/review", data={"locale": "fr", "prompts": ["rr/p"], "action": "reject"}
        )
        assert no_token.status_code == 403 and "security token" in no_token.text
        assert status_of(session, "rr/p", "fr") == "in_review"
        answer = client.post(
            "/console/review",
            data={"csrf_token": csrf, "locale": "fr", "prompts": ["rr/p"], "action": "reject"},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        assert status_of(session, "rr/p", "fr") == "rejected"


class TestExperiments:
    def test_results_are_drawn_with_each_arms_interval(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        name = make_prompt(session, name="rx/p", template="v1", variables=[])
        publish(session, name=name, template="v2", variables=[])
        experiment = experiments.create_experiment(
            session,
            name,
            ExperimentCreate.model_validate(
                {
                    "name": "shorter",
                    "label": "production",
                    "min_samples": 10,
                    "arms": [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}],
                }
            ),
            principal=SYSTEM,
        )
        for i in range(60):
            experiments.record_feedback(
                session,
                FeedbackCreate(experiment=experiment.id, subject=f"user-{i}", value=i % 3 != 0),
            )
        results = experiments.results(session, experiment.id)
        client, _csrf = signed_in("reader")
        listing = client.get("/console/experiments").text
        assert f'href="/console/experiments/{experiment.id}"' in listing
        page = client.get(f"/console/experiments/{experiment.id}").text
        svg = re.search(r"<svg class=\"arms\".*?</svg>", page, re.S)
        assert svg
        assert svg[0].count('<circle class="mean"') == 2
        assert svg[0].count('<line class="interval"') == 6
        for arm in results.arms:
            assert arm.mean is not None
            assert f"{arm.mean * 100:.1f}%" in svg[0]
        assert results.summary in page.replace("&#39;", "'")

    def test_an_experiment_outside_the_folder_is_not_found(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        name = make_prompt(session, name="rxo/p", template="v1", variables=[])
        publish(session, name=name, template="v2", variables=[])
        experiment = experiments.create_experiment(
            session,
            name,
            ExperimentCreate.model_validate(
                {
                    "name": "hidden",
                    "arms": [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}],
                }
            ),
            principal=SYSTEM,
        )
        client, _csrf = signed_in("reader", folder="elsewhere/")
        assert (
            f"/console/experiments/{experiment.id}" not in client.get("/console/experiments").text
        )
        assert client.get(f"/console/experiments/{experiment.id}").status_code == 404
