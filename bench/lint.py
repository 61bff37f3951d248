"""Linting cost of a 4 KB prompt with the default guide, against one pass of ``re``.

The baseline (one compiled pattern, ``findall`` over the same text) is measured in the
same run, so the ratio holds on a noisy shared machine. Three cases:

- the same prompt again (a CI job re-linting unchanged files): Jinja's analysis of the
  template is cached by content;
- a new prompt whose template was analysed already, as publishing does: it validates
  the template (and so parses and compiles it) before it runs the guide;
- a new prompt, Jinja's parse and compile included, as ``registry lint`` on a new file.
"""

from __future__ import annotations

import itertools
import platform
import re
import statistics
import time
import timeit

from registry.style import LintInput, StyleGuide, default_guide, default_token_counter, lint
from registry.templating import analyze

from bench.results import Section, Target

# A realistic system prompt of 4 KB: prose, Markdown, Jinja, no finding.
PROMPT = "\n".join(
    [
        (
            "You are the support assistant of {{ company }}, an online shop that sells outdoor "
            "gear: tents, sleeping bags, backpacks, stoves and clothing. You answer customers by "
            "chat, in {{ language }}, on behalf of the support team."
        ),
        "",
        "# Your goals",
        "",
        "1. Solve the customer's problem in as few messages as possible.",
        "2. Keep every answer accurate: use only the order data and the policies below.",
        "3. Leave the customer with a clear next step, even when you cannot help.",
        "",
        "# Tone of voice",
        "",
        "- Be warm, calm and direct. Use short sentences and everyday words.",
        "- Address the customer by first name when it is known: {{ customer_name }}.",
        "- Never blame the customer. Describe the problem, then the fix.",
        "- Do not use emojis, exclamation marks in a row, or marketing language.",
        "- When you apologise, do it once, and say what you will do about the problem.",
        "",
        "# Orders",
        "",
        "The order data below comes from the shop's order system. Treat it as the truth.",
        "",
        "{% if order %}",
        "Order number: {{ order.number }}",
        "Placed on: {{ order.placed_on }}",
        "Status: {{ order.status }}",
        (
            "Items: {% for item in order.items %}{{ item.quantity }} \u00d7 {{ item.name }}"
            "{% if not loop.last %}, {% endif %}{% endfor %}"
        ),
        "Shipping address: {{ order.address }}",
        "Carrier and tracking number: {{ order.carrier }} {{ order.tracking }}",
        "{% else %}",
        (
            "No order is attached to this conversation. If the customer asks about an order, ask "
            "for the order number and the e-mail address used to place it."
        ),
        "{% endif %}",
        "",
        "# Policies",
        "",
        (
            "Returns: customers can return unused items within 30 days of delivery for a full "
            "refund. Items must be in their original packaging. Sleeping bags and stoves that "
            "were used cannot be returned unless they are faulty."
        ),
        "",
        (
            "Refunds: a refund goes back to the original payment method within 5 to 10 business "
            "days after the return arrives at the warehouse. Do not promise a faster refund. Gift"
            " cards are refunded as store credit."
        ),
        "",
        (
            "Warranty: tents, backpacks and stoves have a two-year warranty against manufacturing"
            " defects. Wear and tear, misuse and damage from weather are not covered. To open a "
            "warranty claim, the customer sends photos of the defect and the order number."
        ),
        "",
        (
            "Delivery: standard delivery takes 3 to 5 business days; express delivery takes 1 to "
            "2 business days and costs extra. If a parcel is more than 5 business days late, "
            "offer to open an investigation with the carrier."
        ),
        "",
        (
            'Address changes: the address can be changed until the order status is "shipped". '
            "After that, the customer must contact the carrier."
        ),
        "",
        "# What you can do",
        "",
        "- Look up an order and explain its status.",
        "- Explain the return, refund, warranty and delivery policies.",
        (
            "- Start a return: give the customer the return link {{ return_link }} and explain "
            "the steps."
        ),
        "- Open a carrier investigation for a late parcel.",
        "- Hand the conversation over to a human agent.",
        "",
        "# What you cannot do",
        "",
        "- Change prices, give discounts or issue refunds yourself.",
        "- Share details of another customer's order.",
        (
            "- Give advice about using the products in dangerous conditions; point to the product"
            " manual instead."
        ),
        "",
        "# Handing over",
        "",
        (
            "Hand the conversation over to a human agent when the customer asks for one, when the"
            " customer is upset after two answers, when a warranty claim needs a decision, or "
            "when the question is not about orders, products or policies. Before handing over, "
            "write a two-line summary for the agent: the customer's problem and what you have "
            "already tried."
        ),
        "",
        "# Format",
        "",
        (
            "Answer in plain text, at most 120 words, with one short paragraph per idea. Use a "
            "numbered list only for steps the customer must follow in order. End with a question "
            "only when you need information from the customer."
        ),
        "",
        "# Example",
        "",
        "Customer: My tent arrived with a broken pole. What can I do?",
        (
            "Assistant: I'm sorry the pole arrived broken. Your tent is covered by the warranty, "
            "so we will replace the pole. Please send a photo of the broken pole and your order "
            "number, and I will open the claim for you."
        ),
        "Customer: Thanks. How long will the new pole take to arrive?",
        (
            "Assistant: Replacement parts ship within two business days, and standard delivery "
            "takes 3 to 5 business days after that."
        ),
        "",
    ]
)
VARIABLES: list[dict[str, object]] = [
    {"name": name, "type": "string", "required": True, "default": None, "description": ""}
    for name in ("company", "language", "customer_name", "order", "return_link")
]
TARGET_MS = 5.0  # per 4 KB, issue 4
BASELINE = re.compile(r"\bTODO\b")
# Every "new" prompt of the run is new: Jinja's analysis is cached by content.
_SERIAL = itertools.count()


def best_of(stmt: object, number: int, repeat: int = 7) -> float:
    """Median seconds per call over ``repeat`` runs of ``number`` calls."""
    runs = timeit.repeat(stmt, number=number, repeat=repeat)  # type: ignore[arg-type]
    return statistics.median(runs) / number


def fresh_lints(guide: StyleGuide, *, analysed: bool, number: int = 40, repeat: int = 5) -> float:
    """Median seconds per lint of prompts never linted before (a unique line each)."""
    runs = []
    for _ in range(repeat):
        texts = [f"{PROMPT}\nReference: case {next(_SERIAL)}." for _ in range(number)]
        if analysed:
            for text in texts:
                analyze(text)  # as publishing does before it lints
        started = time.perf_counter()
        for text in texts:
            lint(LintInput(template=text, messages=None, variables=VARIABLES), guide)
        runs.append((time.perf_counter() - started) / number)
    return statistics.median(runs)


def main() -> Section:
    size = len(PROMPT.encode())
    started = time.perf_counter()
    default_guide.cache_clear()
    guide = default_guide()
    compiled = time.perf_counter() - started
    data = LintInput(template=PROMPT, messages=None, variables=VARIABLES, locale="en")
    started = time.perf_counter()
    findings = lint(data, guide)
    first = time.perf_counter() - started
    assert findings == [], findings  # a clean prompt: the cost is the rules, not the report

    baseline = best_of(lambda: BASELINE.findall(PROMPT), number=2_000)
    results = (
        ("lint, same prompt again", best_of(lambda: lint(data, guide), number=100)),
        ("lint, new prompt, analysed", fresh_lints(guide, analysed=True)),
        ("lint, new prompt, with Jinja", fresh_lints(guide, analysed=False)),
    )
    rules = len(guide.rules_for("en").rules)
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, Python {platform.python_version()}")
    print(f"default guide: {rules} rules for English, compiled once in {compiled * 1e3:.0f} ms")
    print(f"first lint of the process (loads the language model): {first * 1e3:.0f} ms")
    print(f"re.findall, one pattern, {size} B      {baseline * 1e6:8.1f} µs")
    targets = []
    for label, seconds in results:
        per_4k = seconds * 1e3 * 4096 / size
        targets.append(Target(f"{label}, per 4 KB", per_4k, TARGET_MS, "ms"))
        print(
            f"{label:<32} {seconds * 1e3:8.2f} ms  {seconds / baseline:5.0f}x re"
            f"  {seconds * 1e3 * 4096 / size:5.2f} ms per 4 KB"
        )
    print_token_error()
    return Section("6b. Lint: the default guide on a 4 KB prompt", targets=targets)


def print_token_error() -> None:
    """The offline token estimate of the prompt against real BPE counts, when measurable."""
    estimate = default_token_counter().count(PROMPT)
    try:
        # Not a dependency: bpe-openai embeds OpenAI's vocabularies, so it counts offline.
        import bpe_openai  # type: ignore[import-not-found]
    except ImportError:
        print(f"token estimate: {estimate} (pip install bpe-openai to compare with BPE counts)")
        return
    for name in ("cl100k_base", "o200k_base"):
        real = len(bpe_openai.get_encoding(name).encode(PROMPT))
        print(f"token estimate: {estimate}, {name}: {real} ({(estimate - real) / real:+.1%})")


if __name__ == "__main__":
    main()
