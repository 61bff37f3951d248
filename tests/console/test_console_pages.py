"""The console's pages with the real app: browsing, a prompt's page, the editor, diffs,
label moves and experiments, as each role sees them."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry.access.policies import set_policy
from registry.access.schemas import LabelPolicySet
from registry.console.pages.editor import side_by_side
from registry.prompts.labels import get_label, set_label
from registry.prompts.prompts import read_prompt
from registry.prompts.schemas import LabelSet
from registry.prompts.versions import get_version

from factories import make_prompt, publish

SignedIn = Callable[..., tuple[TestClient, str]]
WHO = {"variables.0.name": "who", "variables.0.type": "string", "variables.0.required": "true"}


def prompt_names(html: str) -> list[str]:
    return re.findall(r'<td><a href="/console/prompts/([^"]+)">', html)


class TestBrowse:
    def test_folders_tags_search_and_pages(self, session: Session, signed_in: SignedIn) -> None:
        for i in range(3):
            make_prompt(session, name=f"brw/support/p{i}", tags=("greeting",))
        make_prompt(session, name="brw/sales/offer", description="A spring offer", tags=("sales",))
        client, _csrf = signed_in("reader")

        folder = client.get("/console/prompts", params={"folder": "brw/"}).text
        assert 'href="/console/prompts?folder=brw/support/"' in folder
        assert 'href="/console/prompts?folder=brw/sales/"' in folder

        tagged = client.get("/console/prompts", params={"folder": "brw", "tag": "greeting"})
        assert prompt_names(tagged.text) == ["brw/support/p0", "brw/support/p1", "brw/support/p2"]

        found = client.get("/console/prompts", params={"folder": "brw/", "q": "spring"})
        assert prompt_names(found.text) == ["brw/sales/offer"]

    def test_the_list_is_paginated(
        self, session: Session, signed_in: SignedIn, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from registry.console.pages import browse

        monkeypatch.setattr(browse, "PAGE_SIZE", 2)
        for i in range(3):
            make_prompt(session, name=f"pag/p{i}")
        client, _csrf = signed_in("reader")
        first = client.get("/console/prompts", params={"folder": "pag/"}).text
        assert prompt_names(first) == ["pag/p0", "pag/p1"]
        following = re.search(r'<a rel="next" href="([^"]+)"', first)
        assert following
        second = client.get(following[1].replace("&amp;", "&")).text
        assert prompt_names(second) == ["pag/p2"]

    def test_a_folder_limited_key_sees_only_its_folders(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="lim-in/a")
        make_prompt(session, name="lim-out/b")
        client, _csrf = signed_in("reader", folder="lim-in/")
        listing = client.get("/console/prompts").text
        assert "lim-in/a" in listing and "lim-out" not in listing
        refused = client.get("/console/prompts/lim-out/b")
        assert refused.status_code == 403
        assert "lim-out/b" in refused.text and "text/html" in refused.headers["content-type"]


class TestPromptPage:
    def test_labels_versions_and_includes(self, session: Session, signed_in: SignedIn) -> None:
        make_prompt(session, name="pg/tone", template="Be kind.", variables=[])
        make_prompt(
            session,
            name="pg/greet",
            template='{% include "pg/tone@production" %} Hello {{ who }}',
        )
        publish(session, name="pg/greet", template="Hi {{ who }}", config={"temperature": 0.3})
        client, _csrf = signed_in("reader")

        page = client.get("/console/prompts/pg/greet").text
        versions = re.findall(r'<details id="version-(\d+)"', page)
        assert versions == ["2", "1"]  # newest first
        assert "temperature" in page and "0.3" in page
        assert "production" in page
        assert "Style report" in page

        tone = client.get("/console/prompts/pg/tone").text
        assert 'hx-get="/console/prompts/pg/tone/-/included-by"' in tone
        fragment = "/console/prompts/pg/tone/-/included-by"
        htmx = {"HX-Request": "true"}
        users = client.get(fragment, headers=htmx).text
        assert 'href="/console/prompts/pg/greet"' not in users  # its newest no longer does
        set_label(session, "pg/greet", "production", LabelSet(version=1), actor="t")
        publish(session, name="pg/greet", template='{% include "pg/tone" %} Hi {{ who }}')
        users = client.get(fragment, headers=htmx).text
        assert 'href="/console/prompts/pg/greet"' in users and "<html" not in users
        # Without JavaScript the link leads to a page of its own.
        assert "<html" in client.get(fragment).text

    def test_a_reader_sees_no_editing_controls(self, session: Session, signed_in: SignedIn) -> None:
        make_prompt(session, name="ro/p")
        client, _csrf = signed_in("reader")
        page = client.get("/console/prompts/ro/p").text
        assert "/-/edit" not in page and 'id="new-label"' not in page
        assert client.get("/console/prompts/ro/p/-/edit").status_code == 403

    def test_an_editor_sees_them(self, session: Session, signed_in: SignedIn) -> None:
        make_prompt(session, name="rw/p")
        client, _csrf = signed_in("editor")
        page = client.get("/console/prompts/rw/p").text
        assert "/console/prompts/rw/p/-/edit" in page and 'id="new-label"' in page


class TestEditor:
    def test_live_lint_places_findings(self, session: Session, signed_in: SignedIn) -> None:
        make_prompt(session, name="ed/lint")
        client, csrf = signed_in("editor")
        answer = client.post(
            "/console/prompts/ed/lint/-/lint",
            data={"template": "Hello {{ who }}.\nTODO: finish", **WHO},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert answer.status_code == 200
        assert "<html" not in answer.text  # a fragment
        finding = re.search(
            r'class="finding error" data-line="(\d+)" data-column="(\d+)"', answer.text
        )
        assert finding and finding.groups() == ("2", "1")
        assert "<mark>TODO" in answer.text

    def test_lint_refuses_a_post_without_the_csrf_token(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="ed/csrf")
        client, _csrf = signed_in("editor")
        answer = client.post("/console/prompts/ed/csrf/-/lint", data={"template": "x"})
        assert answer.status_code == 403

    def test_publish_refused_by_the_guide_shows_the_findings(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="ed/refused")
        client, csrf = signed_in("editor")
        answer = client.post(
            "/console/prompts/ed/refused/-/edit",
            data={
                "csrf_token": csrf,
                "template": "Help {{ who }}.\nTODO: finish this.",
                "message": "draft",
                **WHO,
            },
        )
        assert answer.status_code == 422
        assert "prompt.leftover-notes" in answer.text
        assert re.search(r'class="finding error" data-line="2" data-column="1"', answer.text)
        # The draft is still there to fix, and nothing was published.
        assert "TODO: finish this." in answer.text
        assert read_prompt(session, "ed/refused").latest_version == 1

    def test_publish_creates_a_version_and_moves_unprotected_labels(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="ed/ok")
        client, csrf = signed_in("editor", owner="eddie")
        answer = client.post(
            "/console/prompts/ed/ok/-/edit",
            data={
                "csrf_token": csrf,
                "template": "Good morning {{ who }}.",
                "message": "warmer",
                "labels": "staging",
                "config.temperature": "0.5",
                **WHO,
            },
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/console/prompts/ed/ok?published=2#version-2"
        version = get_version(session, "ed/ok", 2)
        assert version.author == "eddie" and version.config.temperature == 0.5
        assert get_label(session, "ed/ok", "staging").version == 2

    def test_an_editor_cannot_move_production_with_a_publish(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="ed/prod")
        client, csrf = signed_in("editor")
        answer = client.post(
            "/console/prompts/ed/prod/-/edit",
            data={
                "csrf_token": csrf,
                "template": "Bye {{ who }}.",
                "labels": "production",
                **WHO,
            },
        )
        assert answer.status_code == 403
        assert "only reviewers and admins move it" in answer.text
        assert read_prompt(session, "ed/prod").latest_version == 1

    def test_preview_renders_the_draft_in_a_locale(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="ed/preview")
        client, csrf = signed_in("editor")
        data = {
            "template": "Total: {{ amount | number }} for {{ who }}",
            "variables.0.name": "who",
            "variables.0.type": "string",
            "variables.1.name": "amount",
            "variables.1.type": "number",
            "variables.1.required": "true",
            "sample.who": "Ana",
            "sample.amount": "1234.5",
            "preview_locale": "en-GB",
        }
        answer = client.post(
            "/console/prompts/ed/preview/-/preview", data=data, headers={"X-CSRF-Token": csrf}
        )
        assert answer.status_code == 200
        assert "Total: 1,234.5 for Ana" in answer.text

    def test_a_bad_sample_value_is_explained(self, session: Session, signed_in: SignedIn) -> None:
        make_prompt(session, name="ed/badsample")
        client, csrf = signed_in("editor")
        data = {
            "template": "{{ n }}",
            "variables.0.name": "n",
            "variables.0.type": "integer",
            "sample.n": "three",
        }
        answer = client.post(
            "/console/prompts/ed/badsample/-/preview", data=data, headers={"X-CSRF-Token": csrf}
        )
        assert "write it as JSON" in answer.text


class TestDiff:
    def test_two_versions_side_by_side(self, session: Session, signed_in: SignedIn) -> None:
        make_prompt(session, name="df/p", template="Hello {{ who }}\nSee you")
        publish(session, name="df/p", template="Hi {{ who }}\nSee you", config={"seed": 7})
        client, _csrf = signed_in("reader")
        page = client.get("/console/prompts/df/p/-/diff", params={"from": 1, "to": 2}).text
        assert '<tr class="chg">' in page
        assert "Hello {{ who }}" in page and "Hi {{ who }}" in page
        assert "<code>seed</code>" in page

    def test_side_by_side_pairs_removed_and_added_lines(self) -> None:
        rows = side_by_side("--- a\n+++ b\n@@ -1,3 +1,2 @@\n same\n-old\n-gone\n+new\n")
        assert [(r.kind, r.old, r.new) for r in rows] == [
            ("same", "same", "same"),
            ("chg", "old", "new"),
            ("del", "gone", ""),
        ]


class TestLabels:
    def test_an_editor_moves_an_unprotected_label(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="lb/p", labels=("staging",))
        publish(session, name="lb/p", template="Yo {{ who }}")
        client, csrf = signed_in("editor")
        page = client.get("/console/prompts/lb/p/-/labels/staging").text
        etag = re.search(r'name="etag" value="([^"]+)"', page)
        assert etag
        moved = client.post(
            "/console/prompts/lb/p/-/labels",
            data={
                "csrf_token": csrf,
                "label": "staging",
                "version": "2",
                "etag": html.unescape(etag[1]),
            },
            follow_redirects=False,
        )
        assert moved.status_code == 303
        assert get_label(session, "lb/p", "staging").version == 2

    def test_an_editor_is_not_offered_protected_labels(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="lb/prot")
        client, csrf = signed_in("editor")
        page = client.get("/console/prompts/lb/prot/-/labels/production").text
        assert 'id="move-label"' not in page and "ask a reviewer" in page
        refused = client.post(
            "/console/prompts/lb/prot/-/labels",
            data={"csrf_token": csrf, "label": "production", "version": "1", "reason": "x"},
        )
        assert refused.status_code == 403

    def test_a_reviewer_moves_production_with_a_reason(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="lb/rev")
        publish(session, name="lb/rev", template="Hey {{ who }}")
        client, csrf = signed_in("reviewer", owner="rosa")
        without = client.post(
            "/console/prompts/lb/rev/-/labels",
            data={"csrf_token": csrf, "label": "production", "version": "2"},
        )
        assert without.status_code == 422 and "say why" in without.text
        moved = client.post(
            "/console/prompts/lb/rev/-/labels",
            data={"csrf_token": csrf, "label": "production", "version": "2", "reason": "QA ok"},
            follow_redirects=False,
        )
        assert moved.status_code == 303
        label = get_label(session, "lb/rev", "production")
        assert label.version == 2 and label.history[0].reason == "QA ok"

    def test_four_eyes_is_enforced_and_explained(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        set_policy(session, "fe4/", LabelPolicySet(protected=["production"], four_eyes=True))
        make_prompt(session, name="fe4/p")
        client, csrf = signed_in("reviewer", owner="rhea")
        published = client.post(
            "/console/prompts/fe4/p/-/edit",
            data={"csrf_token": csrf, "template": "Morning {{ who }}.", **WHO},
            follow_redirects=False,
        )
        assert published.status_code == 303
        page = client.get("/console/prompts/fe4/p/-/labels/production").text
        assert "Four eyes apply" in page
        refused = client.post(
            "/console/prompts/fe4/p/-/labels",
            data={"csrf_token": csrf, "label": "production", "version": "2", "reason": "go"},
        )
        assert refused.status_code == 403
        assert "needs four eyes" in refused.text and "rhea" in refused.text
        assert get_label(session, "fe4/p", "production").version == 1


class TestExperiment:
    def test_an_editor_starts_an_experiment(self, session: Session, signed_in: SignedIn) -> None:
        make_prompt(session, name="ex/p", labels=("production", "staging"))
        publish(session, name="ex/p", template="Howdy {{ who }}")
        client, csrf = signed_in("editor")
        form = client.get("/console/prompts/ex/p/-/experiment")
        assert form.status_code == 200
        on_production = client.post(
            "/console/prompts/ex/p/-/experiment",
            data={
                "csrf_token": csrf,
                "name": "howdy",
                "label": "production",
                "arms.0.version": "1",
                "arms.0.weight": "50",
                "arms.1.version": "2",
                "arms.1.weight": "50",
            },
        )
        assert on_production.status_code == 403
        assert "only reviewers and admins" in on_production.text
        started = client.post(
            "/console/prompts/ex/p/-/experiment",
            data={
                "csrf_token": csrf,
                "name": "howdy",
                "label": "staging",
                "metric": "success",
                "min_samples": "100",
                "arms.0.version": "1",
                "arms.0.weight": "50",
                "arms.1.version": "2",
                "arms.1.weight": "50",
            },
            follow_redirects=False,
        )
        assert started.status_code == 303, started.text
        from registry.experiments import service as experiments

        running = experiments.list_experiments(session, prompt="ex/p")
        assert [e.name for e in running.items] == ["howdy"]

    def test_weights_that_do_not_sum_to_100_are_explained(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="ex/bad")
        publish(session, name="ex/bad", template="Howdy {{ who }}")
        client, csrf = signed_in("editor")
        refused = client.post(
            "/console/prompts/ex/bad/-/experiment",
            data={
                "csrf_token": csrf,
                "name": "bad",
                "arms.0.version": "1",
                "arms.0.weight": "50",
                "arms.1.version": "2",
                "arms.1.weight": "20",
            },
        )
        assert refused.status_code == 422 and "sum to 70" in refused.text
