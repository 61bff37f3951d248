"""Guide patterns run on RE2: no pattern a guide stores, and no text a reader sends, can
keep a lint (or a publish) busy for long; what RE2 cannot run is refused when stored.

The time limits are generous (seconds where a lint takes milliseconds): they catch
quadratic or exponential work, not a slow machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry.style import GuideError, LintInput, default_guide, lint, load_guide
from registry.style.rules import GUIDE_PATTERN_LIMIT

from factories import unique_name

EVIL = """\
name: evil
rules:
  evil.a:
    kind: existence
    raw: (a+)+$
"""
FAST = 2.0  # seconds


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    # The first lint of a process loads the language model: not the time measured here.
    lint_text(default_guide(), "A first prompt of more than eight words, to load the model.")


def lint_text(guide: Any, text: str, **extra: Any) -> list[Any]:
    return lint(LintInput(template=text, messages=None, variables=[], **extra), guide)


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def guide_with(**rule: Any) -> Any:
    return load_guide({"name": "t", "rules": {"t.rule": {"level": "warning", **rule}}})


class TestLinearTime:
    @pytest.mark.parametrize("text", ["a" * 40 + "b", "a" * 100_000 + "b", "a" * 100_000])
    def test_a_nested_quantifier_runs_in_linear_time(self, text: str) -> None:
        findings, seconds = timed(lambda: lint_text(load_guide(EVIL), text))
        assert seconds < FAST
        assert [f.rule for f in findings] == ([] if text.endswith("b") else ["evil.a"])

    @pytest.mark.parametrize(
        ("label", "text", "guide"),
        [
            ("a run of dots before a letter", "." * 40_000 + "x", None),
            ("spaces in a style comment", "{# style: off a" + " " * 40_000 + "b #}", None),
            ("a key word over and over", "password" * 5_000, None),
            ("many variables", "".join(f"{{{{ v{i} }}}}" for i in range(3_000)), None),
            ("paired pronouns after nouns", "the user he/she " * 4_000, None),
            (
                "silenced spans and findings",
                "".join(f"{{# style: off r{i} #}}" for i in range(3_000)) + " some" * 5_000,
                None,
            ),
            ("spaces in a heading", "# a" + " " * 40_000 + "x", {"kind": "capitalization"}),
        ],
    )
    def test_built_in_checks_take_linear_time(
        self, label: str, text: str, guide: dict[str, Any] | None
    ) -> None:
        chosen = default_guide() if guide is None else guide_with(**guide)
        _, seconds = timed(lambda: lint_text(chosen, text))
        assert seconds < FAST, label


class TestPositions:
    def test_offsets_count_code_points_after_accents_and_cjk(self) -> None:
        guide = guide_with(kind="existence", raw=r"TODO|\p{Han}+")
        findings = lint_text(guide, "Grüße aus 東京, café!\nÜbung: 日本語 TODO here")
        assert [(f.match, f.line, f.column, f.end_column) for f in findings] == [
            ("東京", 1, 11, 13),
            ("日本語", 2, 8, 11),
            ("TODO", 2, 12, 16),
        ]

    def test_raw_patterns_and_groups_count_code_points(self) -> None:
        guide = guide_with(kind="conditional", first=r"\b(\p{Lu}{3})\b", second=r"\((\p{Lu}{3})\)")
        (finding,) = lint_text(guide, "Ça coûte 東京 cher: l'API est lente.")
        assert (finding.column, finding.match) == (21, "API")

    def test_a_token_is_bounded_by_letters_of_any_script(self) -> None:
        # Side by side, each is found: the character between two tokens bounds both.
        guide = guide_with(kind="existence", tokens=["Straße", r"\p{Han}{2}"])
        text = "Die Straßenbahn, Straße Straße,Straße; 東京Straße, in 東京."
        findings = lint_text(guide, text)
        assert [(f.match, f.column) for f in findings] == [
            ("Straße", 18),
            ("Straße", 25),
            ("Straße", 32),
            ("東京", 53),
        ]

    def test_repetition_with_tokens_compares_neighbours(self) -> None:
        guide = guide_with(kind="repetition", tokens=[r"\pL+"])
        findings = lint_text(guide, "Éé éé vite The the the dog")
        assert [(f.match, f.column) for f in findings] == [("Éé éé", 1), ("The the", 12)]


class TestRefusedPatterns:
    @pytest.mark.parametrize(
        ("pattern", "says"),
        [
            (r"(?<!un)safe", "lookbehind"),
            (r"(?<=un)safe", "lookbehind"),
            (r"safe(?!ty)", "lookahead"),
            (r"(\w+) \1", "backreferences"),
            (r"(?P<w>\w+) (?P=w)", "backreferences"),
            (r"a++", "possessive"),
            (r"(?>a)", "atomic"),
            (r"end\Z", r"write \z"),
            (r"\pL{500}", "too large"),
            (r"a{1001}", "at most 1000"),
            (r"(", "not a valid regular expression: missing ): ("),
        ],
    )
    def test_a_pattern_re2_cannot_run_is_refused_with_why(self, pattern: str, says: str) -> None:
        with pytest.raises(GuideError) as error:
            guide_with(kind="existence", raw=pattern)
        assert [(path, says in message) for path, message in error.value.errors] == [
            ("rules.t.rule.raw", True)
        ]

    @pytest.mark.parametrize(
        ("rule", "path"),
        [
            ({"kind": "existence", "tokens": ["ok", "(?=x)"]}, "rules.t.rule.tokens[1]"),
            ({"kind": "existence", "tokens": ["x"], "exceptions": ["(?!y)"]}, "exceptions[0]"),
            ({"kind": "substitution", "swap": {"(?<=a)b": "c"}}, "rules.t.rule.swap.(?<=a)b"),
            ({"kind": "occurrence", "token": "(?=a)", "max": 1}, "rules.t.rule.token[0]"),
            ({"kind": "consistency", "either": {"a": "(?=b)"}}, "rules.t.rule.either.a[0]"),
            ({"kind": "conditional", "first": "a", "second": "(?=b)"}, "rules.t.rule.second"),
            ({"kind": "capitalization", "match": "(?=A)"}, "rules.t.rule.match"),
            ({"kind": "repetition", "tokens": ["(?<=a)b"]}, "rules.t.rule.tokens[0]"),
            (
                {"kind": "builtin", "check": "secrets", "params": {"allow": ["(?=x)"]}},
                "rules.t.rule.params.allow[0]",
            ),
            (
                {"kind": "builtin", "check": "user-input", "params": {"names": [r"(\w)\1"]}},
                "rules.t.rule.params.names[0]",
            ),
        ],
    )
    def test_every_key_that_holds_a_pattern_is_checked(
        self, rule: dict[str, Any], path: str
    ) -> None:
        with pytest.raises(GuideError) as error:
            guide_with(**rule)
        assert any(p.endswith(path) for p, _ in error.value.errors), error.value.errors

    def test_a_guide_has_a_bounded_number_of_patterns(self) -> None:
        rules = {
            f"t.r{i}": {"kind": "existence", "raw": f"word{i}"}
            for i in range(GUIDE_PATTERN_LIMIT + 5)
        }
        with pytest.raises(GuideError) as error:
            load_guide({"name": "big", "rules": rules})
        (problem,) = error.value.errors
        assert "too large" in problem[1]

    def test_counts_set_how_far_checks_read_are_bounded(self) -> None:
        with pytest.raises(GuideError) as error:
            guide_with(kind="builtin", check="contradictions", params={"max_words": 10**9})
        assert error.value.errors[0][0].endswith("params.max_words")


class TestThroughTheApi:
    def test_a_lookbehind_is_refused_when_the_guide_is_stored(self, client: TestClient) -> None:
        source = "rules:\n  house.unsafe:\n    kind: existence\n    raw: '(?<!un)safe'\n"
        response = client.put("/v1/style-guides/lookbehind", json={"source": source})
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        (item,) = response.json()["errors"]
        assert item["loc"] == ["body", "source", "rules.house.unsafe.raw"]
        assert item["message"].startswith("lookbehind")
        assert client.get("/v1/style-guides/lookbehind").status_code == 404

    def test_a_reader_lints_against_a_nested_quantifier_quickly(
        self, client: TestClient, make_key: Callable[..., dict[str, str]]
    ) -> None:
        stored = client.put("/v1/style-guides/evil", json={"source": EVIL})
        assert stored.status_code == 200, stored.text
        reader = make_key("reader")
        # The tests' body limit is 64 KB; the engine's own tests above lint 100 KB.
        for text, found in (("a" * 40 + "b", 0), ("a" * 60_000, 1)):
            response, seconds = timed(
                lambda text=text: client.post(
                    "/v1/lint", json={"template": text, "guide": "evil"}, headers=reader
                )
            )
            assert response.status_code == 200, response.text
            assert seconds < FAST
            assert len(response.json()["findings"]) == found

    def test_publishing_into_a_bound_folder_is_quick(self, client: TestClient) -> None:
        assert client.put("/v1/style-guides/evil", json={"source": EVIL}).status_code == 200
        assert client.put("/v1/style-bindings/evil", json={"guide": "evil"}).status_code == 200
        name = unique_name("evil/p")
        assert client.post("/v1/prompts", json={"name": name}).status_code == 201
        response, seconds = timed(
            lambda: client.post(f"/v1/prompts/{name}/-/versions", json={"template": "a" * 40 + "b"})
        )
        assert response.status_code == 201, response.text
        assert seconds < FAST
