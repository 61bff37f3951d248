"""Experiments in the console: an editor starts one on a label's traffic and the API
serves its arms; a reviewer reads the results, with a chart of each arm's interval."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from console.browser.harness import Server, signed_in, unique


def prompt_with_staging_on_v1(server: Server) -> str:
    name = unique("browser/experiment")
    with server.api("editor") as api:
        assert api.post("/v1/prompts", json={"name": name}).status_code == 201
        for text in ("Greet {{ who }}.", "Greet {{ who }} warmly."):
            body = {"template": text, "variables": [{"name": "who"}]}
            assert api.post(f"/v1/prompts/{name}/-/versions", json=body).status_code == 201
        staging = {"version": 1, "reason": "try it"}
        assert api.put(f"/v1/prompts/{name}/-/labels/staging", json=staging).status_code == 200
    return name


def test_an_editor_starts_an_experiment_and_the_api_serves_its_arms(
    page: Page, console_server: Server
) -> None:
    name = prompt_with_staging_on_v1(console_server)
    signed_in(page, console_server, "editor", next_path=f"/console/prompts/{name}")
    page.get_by_role("link", name="Start an experiment").click()

    page.get_by_label("Name", exact=True).fill("warmer")
    page.get_by_label("Label", exact=True).fill("staging")
    page.get_by_role("group", name="Control (arm a)").get_by_label("Version").fill("1")
    page.get_by_role("group", name="Control (arm a)").get_by_label("Weight (percent)").fill("50")
    page.get_by_role("group", name="Arm b").get_by_label("Version").fill("2")
    page.get_by_role("group", name="Arm b").get_by_label("Weight (percent)").fill("50")
    page.get_by_role("button", name="Start the experiment").click()

    expect(page).to_have_url(re.compile(rf"/console/prompts/{name}\?experiment=\d+"))
    expect(page.get_by_role("status")).to_be_visible()

    served = set()
    with console_server.api("reader") as api:
        for subject in range(40):
            answer = api.get(
                f"/v1/prompts/{name}/-/resolve",
                params={"label": "staging", "subject": f"user-{subject}"},
            ).json()
            assert answer["experiment"]["name"] == "warmer"
            served.add(answer["version"])
    assert served == {1, 2}


def test_a_reviewer_reads_an_experiments_results_with_each_arms_interval(
    page: Page, console_server: Server
) -> None:
    signed_in(page, console_server, "reviewer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Experiments").click()
    page.get_by_role("link", name="audience-aware").click()

    expect(page.get_by_role("status")).to_contain_text("better")
    chart = page.get_by_role("img", name=re.compile("Success rate per arm"))
    expect(chart).to_be_visible()
    arms = chart.locator("g.arm")
    expect(arms).to_have_count(2)
    expect(chart.locator("g.arm.control")).to_contain_text("current")
    for index in range(2):
        arm = arms.nth(index)
        low, high = (
            float(arm.locator("line.interval").first.get_attribute(end) or "nan")
            for end in ("x1", "x2")
        )
        mean = float(arm.locator("circle.mean").get_attribute("cx") or "nan")
        assert low < mean < high
    # The chart's description reads every arm's figures to a screen reader.
    description = chart.locator("desc").text_content() or ""
    assert "61.5%" in description and "78.3%" in description
