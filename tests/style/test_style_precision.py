"""What real prompts written by other people hold, and the default guide must not refuse.

Each case comes from a false finding on a public collection of prompts; an error there
blocks a publish, so an error-level rule must be silent on every one of them.
"""

from __future__ import annotations

import pytest

from registry.style import Finding, LintInput, default_guide, lint


def run(text: str, rule: str) -> list[Finding]:
    found = lint(LintInput(template=text, messages=None), default_guide())
    return [f for f in found if f.rule == rule]


class TestSecrets:
    @pytest.mark.parametrize(
        "text",
        [
            'password = os.getenv("DB_PASSWORD")',
            "const apiKey = process.env.OPENAI_API_KEY",
            "api_key = settings.API_KEY",
            'password: "${DB_PASSWORD}"',
            "Check out commit 3f786850e387550fdab836ed7e6dc881de23001b before merging.",
            "The request failed with trace id 4bf92f3577b34da6a3ce929d0e0e4736.",
            "The request id is 123e4567-e89b-12d3-a456-426614174000.",
            "Clone the repository StanfordVL/BEHAVIOR-1K and run the demo.",
            "git clone https://github.com/sickn33/antigravity-awesome-skills.git",
            "| Visual/Responsive/Interaction/A11y/Performance | High |",
            '"password": "at least 12 characters, one digit"',
        ],
    )
    def test_references_hashes_and_ids_pass(self, text: str) -> None:
        assert run(text, "prompt.secrets") == []

    @pytest.mark.parametrize(
        "text",
        [
            'password = "hunter2!x"',
            "DB_PASSWORD=s3cr3t-Value",
            'token: "q8Zt2LxV9mR4wK7pN3sY6bJ1"',
            "Authorization: Bearer q8Zt2LxV9mR4wK7pN3sY6bJ1cD5fG",
            "postgres://admin:Zq81xk2@db.example.com/prod",
        ],
    )
    def test_literal_credentials_fail(self, text: str) -> None:
        assert [f.level for f in run(text, "prompt.secrets")] == ["error"]


class TestLeftoverNotes:
    @pytest.mark.parametrize(
        "text",
        [
            "## Output (TODO Only)\nWrite everything inside the TODO.",
            "status: TODO  # Options: TODO | WIP | DONE",
            "Build a todo app with React.",
            "Mark shortcuts with TODO comments for later.",
            "Phone: (XXX) XXX-XXXX",
            "If the date is unknown, write TBD.",
            "```python\n# TODO: implement\n```",
        ],
    )
    def test_the_word_passes(self, text: str) -> None:
        assert run(text, "prompt.leftover-notes") == []

    @pytest.mark.parametrize(
        ("text", "column"),
        [
            ("TODO: add the tone.", 1),
            ("Answer briefly. FIXME(ann): which tone?", 17),
            ("{# XXX check the tone #}Answer.", 4),
            ("Answer.\nTBD", 1),
        ],
    )
    def test_a_note_to_the_author_fails(self, text: str, column: int) -> None:
        assert [(f.level, f.column) for f in run(text, "prompt.leftover-notes")] == [
            ("error", column)
        ]


class TestInvisibleCharacters:
    def test_a_direction_mark_in_hebrew_passes(self) -> None:
        assert run("ענה בעברית: שלום!\u200f מה שלומך?", "prompt.invisible-characters") == []

    def test_a_direction_mark_in_english_fails(self) -> None:
        found = run("Answer in English.\u200f Be brief.", "prompt.invisible-characters")
        assert [f.level for f in found] == ["error"]


class TestDuplicates:
    BLOCK = "Keep answers short and clear.\nCite the source of every fact.\nNever guess a number.\n"

    def test_a_pasted_block_is_one_finding(self) -> None:
        found = run(self.BLOCK + "\n" + self.BLOCK, "prompt.duplicate-instructions")
        assert [(f.line, f.end_line) for f in found] == [(5, 7)]

    def test_code_tables_and_headings_pass(self) -> None:
        text = (
            "## Build the project\n| Tool | Description | Token Cost |\n|---|---|---|\n"
            "```\nxcodebuild test -scheme App -sdk iphonesimulator\n```\n"
            "## Build the project\n| Tool | Description | Token Cost |\n|---|---|---|\n"
            "```\nxcodebuild test -scheme App -sdk iphonesimulator\n```\n"
        )
        assert run(text, "prompt.duplicate-instructions") == []


class TestAnotherLanguage:
    TURKISH = (
        "Sen deneyimli bir seyahat rehberisin. Zaman zaman kullanıcıya yerel yemekler "
        "hakkında kısa bilgiler ver ve her önerinin nedenini açıkla."
    )

    def test_wording_rules_of_the_declared_language_skip_text_in_another(self) -> None:
        """A Turkish prompt declared English: English word lists find only false matches
        ("Zaman zaman" is Turkish for "now and then"); the language rule says why."""
        findings = lint(LintInput(template=self.TURKISH, messages=None), default_guide())
        rules = {f.rule for f in findings}
        assert "clarity.repeated-words" not in rules
        assert "prompt.language" in rules

    def test_they_still_read_text_in_the_declared_language(self) -> None:
        text = "Answer the the question in a friendly tone, and list the steps one by one."
        assert [f.match for f in run(text, "clarity.repeated-words")] == ["the the"]


class TestDuplicateInstructions:
    RULE = "prompt.duplicate-instructions"

    def test_an_instruction_given_twice_is_found(self) -> None:
        text = (
            "- If pricing is unavailable, write Unknown.\n- List the sources.\n\n"
            "## Steps\n1. Find the price.\n2. If pricing is unavailable, write Unknown.\n"
        )
        assert len(run(text, self.RULE)) == 1

    def test_a_refrain_of_the_format_is_not(self) -> None:
        frames = "\n".join(
            f"Frame {i}: the house loses one more wall. Mountain and trees stay unchanged."
            for i in range(1, 9)
        )
        assert run(frames, self.RULE) == []

    def test_a_changelog_is_not_instructions(self) -> None:
        text = (
            "Always answer in French.\n\n## Changelog\n- v1.3:\n"
            "  - Maintained all safety rules and privacy safeguards.\n- v1.4:\n"
            "  - Maintained all safety rules and privacy safeguards.\n\n"
            "## Output\nAlways answer in French. Keep the answer short and friendly.\n"
        )
        found = run(text, self.RULE)
        # The instruction after the changelog is still compared with the one before it.
        assert [f.match for f in found] == ["Always answer in French."]
