"""Token counting: the offline estimate against real cl100k_base counts; a counter plugged in."""

from __future__ import annotations

import pytest

from registry.style import (
    EstimatingTokenCounter,
    LintInput,
    TokenCounter,
    default_token_counter,
    lint,
    load_guide,
)

# Texts and their cl100k_base token counts, measured offline with the bpe-openai package
# (which embeds OpenAI's vocabularies); the estimate must stay within 15% of each.
MEASURED = [
    (
        "You are a support assistant for an online shop. Answer the customer's question using "
        "only the policy below, in at most three short paragraphs, and end with the next step "
        "the customer should take.",
        39,
    ),
    (
        "Du bist ein Assistent für den Kundendienst eines Onlineshops. Beantworte die Frage der "
        "Kundin nur mit Hilfe der folgenden Richtlinien, in höchstens drei kurzen Absätzen.",
        48,
    ),
    (
        "Vous êtes l'assistant du service client d'une boutique en ligne. Répondez à la question "
        "du client en vous appuyant uniquement sur la politique ci-dessous.",
        36,
    ),
    (
        "あなたはオンラインショップのサポート担当アシスタントです。以下のポリシーだけを使って、"
        "お客様の質問に三段落以内で答えてください。",
        61,
    ),
    (
        "Вы помощник службы поддержки интернет-магазина. Отвечайте на вопрос клиента, используя "
        "только приведённые ниже правила, не более чем в трёх коротких абзацах.",
        72,
    ),
    (
        'def total(items):\n    """Sum the prices of the items in the cart."""\n'
        "    return sum(item.price * item.quantity for item in items)\n",
        29,
    ),
    (
        "Hello {{ customer_name }}, your order {{ order.number }} ships on "
        "{{ order.date | format_date }}.\n{% if vip %}You get free express delivery.{% endif %}",
        37,
    ),
]


class TestEstimate:
    @pytest.mark.parametrize(("text", "tokens"), MEASURED, ids=lambda v: str(v)[:12])
    def test_within_15_percent_of_cl100k(self, text: str, tokens: int) -> None:
        estimate = EstimatingTokenCounter().count(text)
        assert abs(estimate - tokens) / tokens <= 0.15, (estimate, tokens)

    def test_empty_and_whitespace(self) -> None:
        counter = EstimatingTokenCounter()
        assert counter.count("") == 0
        assert counter.count("\n\n") == 0

    def test_more_text_never_counts_fewer_tokens(self) -> None:
        counter = EstimatingTokenCounter()
        text = MEASURED[0][0]
        counts = [counter.count(text[:end]) for end in range(0, len(text), 17)]
        assert counts == sorted(counts)

    def test_the_default_counter_is_the_estimate(self) -> None:
        assert isinstance(default_token_counter(), EstimatingTokenCounter)
        assert isinstance(default_token_counter(), TokenCounter)


class CharacterCounter:
    """A counter that a caller could plug in: one token per character."""

    def __init__(self) -> None:
        self.calls = 0

    def count(self, text: str) -> int:
        self.calls += 1
        return len(text)


class TestPluggable:
    GUIDE = load_guide(
        {
            "rules": {
                "t.size": {
                    "kind": "builtin",
                    "check": "size",
                    "level": "error",
                    "params": {"max_tokens": 10},
                },
                "t.metric": {"kind": "metric", "formula": "tokens > 10", "per": "message"},
            }
        }
    )

    def test_a_counter_given_to_lint_is_used_once_per_unit(self) -> None:
        counter = CharacterCounter()
        data = LintInput(template=None, messages=[("system", "abcdef"), ("user", "ghijkl")])
        found = lint(data, self.GUIDE, token_counter=counter)
        assert [(f.rule, f.level, f.unit) for f in found] == [("t.size", "error", 1)]
        assert counter.calls == 2

    def test_the_counter_decides(self) -> None:
        data = LintInput(template=None, messages=[("system", "abcdef"), ("user", "ghijkl")])
        assert lint(data, self.GUIDE) == []  # the estimate: a few tokens
