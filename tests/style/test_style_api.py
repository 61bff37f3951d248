"""Style guides in the registry: enforced on publish and on translations, stored reports,
guides managed through the API, and the lint endpoint."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from factories import unique_name

WHO = [{"name": "who", "type": "string"}]
HOUSE = """\
name: house
extends: default
rules:
  no-please:
    kind: existence
    level: error
    message: "Drop '{match}': the model does not need politeness."
    tokens: [please]
    ignorecase: true
overrides:
  inclusive.gendered-nouns: "off"
"""


def new_prompt(client: TestClient, folder: str = "style") -> str:
    name = unique_name(f"{folder}/p")
    assert client.post("/v1/prompts", json={"name": name}).status_code == 201
    return name


def publish(client: TestClient, name: str, template: str, **extra: Any) -> Any:
    return client.post(
        f"/v1/prompts/{name}/-/versions", json={"template": template, "variables": WHO, **extra}
    )


class TestPublish:
    def test_errors_block_with_every_finding(self, client: TestClient) -> None:
        name = new_prompt(client)
        response = publish(
            client,
            name,
            "TODO: finish this.\n"
            "Help {{ who }} with sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD.",
        )
        assert response.status_code == 422
        problem = response.json()
        assert problem["type"] == "/problems/style-violation"
        rules = {f["rule"] for f in problem["findings"]}
        assert {"prompt.leftover-notes", "prompt.secrets"} <= rules
        error_lines = {(e["line"], e["column"]) for e in problem["errors"]}
        assert (1, 1) in error_lines
        assert client.get(f"/v1/prompts/{name}").json()["latest_version"] is None

    def test_translation_checks_start_with_the_first_translation(self, client: TestClient) -> None:
        name = new_prompt(client)
        idiom = "Help {{ who }}: this task is a piece of cake."

        def idioms(response: Any) -> list[str]:
            assert response.status_code == 201, response.text
            findings = response.json()["style"]["findings"]
            return [f["match"] for f in findings if f["rule"] == "localization.idioms"]

        assert idioms(publish(client, name, idiom)) == []
        translated = client.put(
            f"/v1/prompts/{name}/-/translations/fr",
            json={"template": "Aide {{ who }} : cette tâche est facile."},
        )
        assert translated.status_code == 201, translated.text
        assert idioms(publish(client, name, idiom + " Thanks.")) == ["piece of cake"]

    def test_warnings_are_stored_with_the_version(self, client: TestClient) -> None:
        name = new_prompt(client)
        response = publish(client, name, "Ask the chairman to help {{ who }} today.")
        assert response.status_code == 201, response.text
        style = response.json()["style"]
        assert style["guide"] == "default"
        finding = next(f for f in style["findings"] if f["rule"] == "inclusive.gendered-nouns")
        assert (finding["level"], finding["match"], finding["fix"]) == (
            "warning",
            "chairman",
            "chair",
        )
        assert (finding["line"], finding["column"]) == (1, 9)
        stored = client.get(f"/v1/prompts/{name}/-/versions/1").json()["style"]
        assert stored == style

    def test_findings_in_german(self, client: TestClient) -> None:
        name = new_prompt(client)
        response = client.post(
            f"/v1/prompts/{name}/-/versions",
            json={"template": "FIXME help {{ who }}", "variables": WHO},
            headers={"Accept-Language": "de"},
        )
        assert response.status_code == 422
        assert response.headers["content-language"] == "de"
        finding = next(
            f for f in response.json()["findings"] if f["rule"] == "prompt.leftover-notes"
        )
        assert "FIXME" in finding["message"]
        english = publish(client, name, "FIXME help {{ who }}").json()
        english_finding = next(
            f for f in english["findings"] if f["rule"] == "prompt.leftover-notes"
        )
        assert finding["message"] != english_finding["message"]


class TestGuides:
    def test_folder_guide_applies_and_old_reports_stay(self, client: TestClient) -> None:
        folder = unique_name("house")
        stored = client.put("/v1/style-guides/house-style", json={"source": HOUSE, "message": "v1"})
        assert stored.status_code == 200, stored.text
        assert stored.json()["number"] == 1
        name = new_prompt(client, folder)
        before = publish(client, name, "Ask the chairman to help {{ who }}.")
        assert any(
            f["rule"] == "inclusive.gendered-nouns" for f in before.json()["style"]["findings"]
        )
        bound = client.put(f"/v1/style-bindings/{folder}", json={"guide": "house-style"})
        assert bound.status_code == 200, bound.text
        refused = publish(client, name, "Please help {{ who }} and ask the chairman.")
        assert refused.status_code == 422
        assert {f["rule"] for f in refused.json()["findings"]} >= {"no-please"}
        accepted = publish(client, name, "Help {{ who }} and ask the chairman.")
        assert accepted.status_code == 201
        report = accepted.json()["style"]
        assert (report["guide"], report["guide_version"]) == ("house-style", 1)
        assert not any(f["rule"] == "inclusive.gendered-nouns" for f in report["findings"])
        # The report of version 1 is still the default guide's.
        old = client.get(f"/v1/prompts/{name}/-/versions/1").json()["style"]
        assert old["guide"] == "default"

    def test_guide_versions_and_idempotence(self, client: TestClient) -> None:
        first = client.put("/v1/style-guides/strict", json={"source": HOUSE})
        again = client.put("/v1/style-guides/strict", json={"source": HOUSE})
        assert first.json()["number"] == again.json()["number"] == 1
        changed = client.put("/v1/style-guides/strict", json={"source": HOUSE + "description: x\n"})
        assert changed.json()["number"] == 2
        assert (
            client.get("/v1/style-guides/strict", params={"version": 1}).json()["source"] == HOUSE
        )
        assert [g["name"] for g in client.get("/v1/style-guides").json()] == ["strict"]

    def test_bad_guides_are_named(self, client: TestClient) -> None:
        bad_yaml = client.put("/v1/style-guides/bad", json={"source": "rules: [unclosed"})
        assert bad_yaml.status_code == 422
        bad_rule = client.put(
            "/v1/style-guides/bad",
            json={"source": "rules:\n  x:\n    kind: nonsense\n    level: error\n"},
        )
        assert bad_rule.status_code == 422
        assert bad_rule.json()["errors"]
        reserved = client.put("/v1/style-guides/default", json={"source": HOUSE})
        assert reserved.status_code == 409
        assert client.get("/v1/style-guides/bad").status_code == 404

    def test_binding_needs_an_existing_guide(self, client: TestClient) -> None:
        assert client.put("/v1/style-bindings/x", json={"guide": "nope"}).status_code == 404
        assert client.put("/v1/style-bindings/-", json={"guide": "default"}).status_code == 200
        assert client.get("/v1/style-bindings").json()[0]["folder"] == ""
        assert client.delete("/v1/style-bindings/-").status_code == 204
        assert client.delete("/v1/style-bindings/-").status_code == 404


class TestLintEndpoint:
    def test_lint_stores_nothing(self, client: TestClient) -> None:
        response = client.post(
            "/v1/lint",
            json={
                "messages": [
                    {"role": "system", "content": "Answer {{ question }} kindly."},
                    {"role": "user", "content": "{{ question }}"},
                ],
                "variables": [{"name": "question", "type": "string"}],
            },
        )
        assert response.status_code == 200, response.text
        body = response.json()
        finding = next(f for f in body["findings"] if f["rule"] == "prompt.user-input-in-system")
        assert (finding["unit"], finding["role"]) == (0, "system")
        assert body["counts"]["warning"] >= 1

    def test_per_locale_rules(self, client: TestClient) -> None:
        german = client.post(
            "/v1/lint", json={"template": "Fragen Sie die Mitarbeiter.", "locale": "de"}
        ).json()
        assert any(f["rule"] == "inclusive.gendered-nouns" for f in german["findings"])

    def test_unknown_guide(self, client: TestClient) -> None:
        response = client.post("/v1/lint", json={"template": "x", "guide": "nope"})
        assert response.status_code == 404


class TestTranslations:
    def test_translation_runs_the_locale_rules(self, client: TestClient) -> None:
        name = new_prompt(client)
        assert publish(client, name, "Help {{ who }} with their order today.").status_code == 201
        refused = client.put(
            f"/v1/prompts/{name}/-/translations/fr",
            json={"template": "TODO: aider {{ who }} avec sa commande aujourd'hui."},
        )
        assert refused.status_code == 422
        assert "prompt.leftover-notes" in refused.json()["detail"]
        german = client.put(
            f"/v1/prompts/{name}/-/translations/de",
            json={"template": "Helfen Sie {{ who }} und den Mitarbeitern heute."},
        )
        assert german.status_code == 201, german.text
        assert any("inclusive.gendered-nouns" in w["message"] for w in german.json()["warnings"])
