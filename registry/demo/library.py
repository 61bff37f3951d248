"""The demo prompts: each entry is a prompt, its versions in order, and its labels."""

from __future__ import annotations

from typing import Any

TONE_V1 = """\
Voice: you speak for {{ brand }}. Be friendly and clear. Use short sentences.
"""

TONE_V2 = """\
Voice: you speak for {{ brand }}.
- Be warm and direct; prefer plain words over jargon.
- Keep sentences short, and say what the reader can do next.
- Never blame the reader; describe the problem, then the fix.
"""

TONE_V2_TRANSLATIONS = {
    "fr": (
        "Voix : vous parlez au nom de {{ brand }}.\n"
        "- Soyez chaleureux et direct ; préférez les mots simples au jargon.\n"
        "- Faites des phrases courtes et dites au lecteur ce qu'il peut faire ensuite.\n"
        "- Ne blâmez jamais le lecteur ; décrivez le problème, puis la solution.\n"
    ),
    "de": (
        "Stimme: Sie sprechen für {{ brand }}.\n"
        "- Seien Sie herzlich und direkt; einfache Wörter statt Fachjargon.\n"
        "- Schreiben Sie kurze Sätze und sagen Sie, was man als Nächstes tun kann.\n"
        "- Geben Sie nie den Lesenden die Schuld; erst das Problem, dann die Lösung.\n"
    ),
    "es": (
        "Voz: hablas en nombre de {{ brand }}.\n"
        "- Sé cálido y directo; prefiere palabras sencillas a la jerga.\n"
        "- Usa frases cortas y di qué puede hacer el lector a continuación.\n"
        "- Nunca culpes al lector; describe el problema y luego la solución.\n"
    ),
    "ja": (
        "話し方: あなたは {{ brand }} を代表して話します。\n"
        "- 温かく率直に。専門用語より平易な言葉を選びます。\n"
        "- 文は短くし、読み手が次に何をすればよいかを伝えます。\n"
        "- 読み手を責めず、問題を説明してから解決策を示します。\n"
    ),
}

INCLUDE_TONE = '{% include "shared/tone-of-voice@production" %}'


def approved(texts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Translations given as text (or messages), all approved."""
    key = "template"
    return {
        locale: {("messages" if isinstance(text, list) else key): text, "status": "approved"}
        for locale, text in texts.items()
    }


BRAND = {
    "name": "brand",
    "type": "string",
    "required": False,
    "default": "Acme",
    "description": "Company name the assistant speaks for.",
}

LIBRARY: list[dict[str, Any]] = [
    {
        "name": "shared/tone-of-voice",
        "kind": "text",
        "description": "House tone of voice, included by customer-facing prompts.",
        "tags": ["component", "tone"],
        "versions": [
            {"template": TONE_V1, "variables": [BRAND], "message": "First tone block"},
            {
                "template": TONE_V2,
                "variables": [BRAND],
                "message": "Spell out the rules",
                "translations": approved(TONE_V2_TRANSLATIONS),
            },
        ],
        "labels": [("production", 1, "first release"), ("production", 2, "clearer rules")],
    },
    {
        "name": "classify/support-ticket",
        "kind": "text",
        "description": "Zero-shot classifier: routes a support ticket to one category.",
        "tags": ["classification", "support"],
        "versions": [
            {
                "template": (
                    "Classify the support ticket into exactly one of these categories: "
                    "{{ categories | join(', ') }}.\n"
                    "Answer with the category name only.\n\n"
                    "Ticket:\n{{ ticket }}\n"
                ),
                "variables": [
                    {"name": "ticket", "type": "string", "description": "Ticket text."},
                    {
                        "name": "categories",
                        "type": "list",
                        "required": False,
                        "default": ["billing", "bug", "account", "feature request", "other"],
                        "description": "Allowed categories.",
                    },
                ],
                "config": {"model": "gpt-4o-mini", "temperature": 0, "max_tokens": 10},
                "message": "Zero-shot ticket router",
                "translations": approved(
                    {
                        "fr": (
                            "Classez le ticket de support dans exactement une de ces "
                            "catégories : {{ categories | join(', ') }}.\n"
                            "Répondez uniquement avec le nom de la catégorie.\n\n"
                            "Ticket :\n{{ ticket }}\n"
                        ),
                        "de": (
                            "Ordne das Support-Ticket genau einer dieser Kategorien zu: "
                            "{{ categories | join(', ') }}.\n"
                            "Antworte nur mit dem Namen der Kategorie.\n\n"
                            "Ticket:\n{{ ticket }}\n"
                        ),
                        "es": (
                            "Clasifica el ticket de soporte en exactamente una de estas "
                            "categorías: {{ categories | join(', ') }}.\n"
                            "Responde solo con el nombre de la categoría.\n\n"
                            "Ticket:\n{{ ticket }}\n"
                        ),
                        "ja": (
                            "サポートチケットを次のカテゴリのうち正確に1つに分類してください: "
                            "{{ categories | join(', ') }}。\n"
                            "カテゴリ名だけを答えてください。\n\n"
                            "チケット:\n{{ ticket }}\n"
                        ),
                    }
                ),
            }
        ],
        "labels": [("production", 1, "launch")],
    },
    {
        "name": "sentiment/few-shot",
        "kind": "text",
        "description": "Few-shot sentiment classifier; the examples are a list variable.",
        "tags": ["classification", "few-shot"],
        "versions": [
            {
                "template": (
                    "Decide whether each review is positive, negative or mixed.\n\n"
                    "{% for example in examples %}"
                    "Review: {{ example.text }}\nSentiment: {{ example.label }}\n\n"
                    "{% endfor %}"
                    "Review: {{ review }}\nSentiment:"
                ),
                "variables": [
                    {"name": "review", "type": "string", "description": "Review to classify."},
                    {
                        "name": "examples",
                        "type": "list",
                        "required": False,
                        "default": [
                            {"text": "Arrived early and works perfectly.", "label": "positive"},
                            {"text": "Broke after two days.", "label": "negative"},
                            {"text": "Great screen, but the battery is weak.", "label": "mixed"},
                        ],
                        "description": "Labelled examples: objects with text and label.",
                    },
                ],
                "config": {"model": "gpt-4o-mini", "temperature": 0, "max_tokens": 3},
                "message": "Three-shot sentiment",
            }
        ],
        "labels": [("production", 1, "launch")],
    },
    {
        "name": "summarize/article",
        "kind": "text",
        "description": "Summarizes an article for a given audience in the house voice.",
        "tags": ["summarization"],
        "versions": [
            {
                "template": (
                    '{% include "shared/tone-of-voice@production" %}\n'
                    "Summarize the article below in at most {{ max_words }} words.\n\n"
                    "{{ article }}\n"
                ),
                "variables": [
                    {"name": "article", "type": "string", "description": "Full text."},
                    {"name": "max_words", "type": "integer", "required": False, "default": 120},
                    BRAND,
                ],
                "config": {"model": "gpt-4o", "temperature": 0.3, "max_tokens": 400},
                "message": "Summary with a word budget",
                # Version 2 changes the source, so this arrives there as a stale translation.
                "translations": approved(
                    {
                        "fr": (
                            '{% include "shared/tone-of-voice@production" %}\n'
                            "Résumez l'article ci-dessous en {{ max_words }} mots au plus.\n\n"
                            "{{ article }}\n"
                        )
                    }
                ),
            },
            {
                "template": (
                    '{% include "shared/tone-of-voice@production" %}\n'
                    "Summarize the article below for {{ audience }} in at most "
                    "{{ max_words }} words. Start with the single most important fact.\n\n"
                    "{{ article }}\n"
                ),
                "variables": [
                    {"name": "article", "type": "string", "description": "Full text."},
                    {
                        "name": "audience",
                        "type": "string",
                        "required": False,
                        "default": "a busy reader",
                    },
                    {"name": "max_words", "type": "integer", "required": False, "default": 120},
                    BRAND,
                ],
                "config": {"model": "gpt-4o", "temperature": 0.3, "max_tokens": 400},
                "message": "Name the audience; lead with the key fact",
            },
        ],
        "labels": [
            ("production", 1, "launch"),
            ("staging", 2, "try audience-aware summaries"),
        ],
    },
    {
        "name": "support/assistant",
        "kind": "chat",
        "description": "Chat support assistant with a system message in the house voice.",
        "tags": ["chat", "support"],
        "versions": [
            {
                "messages": [
                    {
                        "role": "system",
                        "content": (
                            "You are the support assistant of {{ brand }}.\n"
                            '{% include "shared/tone-of-voice@production" %}'
                            "If you do not know an answer, say so and offer to hand over "
                            "to a human agent."
                        ),
                    },
                    {"role": "user", "content": "{{ question }}"},
                ],
                "variables": [
                    {"name": "question", "type": "string", "description": "Customer message."},
                    BRAND,
                ],
                "config": {"model": "gpt-4o", "temperature": 0.4},
                "message": "Support assistant",
                "translations": approved(
                    {
                        locale: [
                            {"role": "system", "content": system},
                            {"role": "user", "content": "{{ question }}"},
                        ]
                        for locale, system in {
                            "fr": "Vous êtes l'assistant du support de {{ brand }}.\n"
                            + INCLUDE_TONE
                            + "Si vous ne connaissez pas une réponse, dites-le et proposez "
                            "de passer le relais à un conseiller.",
                            "de": "Sie sind der Support-Assistent von {{ brand }}.\n"
                            + INCLUDE_TONE
                            + "Wenn Sie eine Antwort nicht wissen, sagen Sie es und bieten "
                            "Sie an, an einen Menschen im Support zu übergeben.",
                            "es": "Eres el asistente de soporte de {{ brand }}.\n"
                            + INCLUDE_TONE
                            + "Si no sabes una respuesta, dilo y ofrece pasar la "
                            "conversación a un agente humano.",
                            "ja": "あなたは {{ brand }} のサポートアシスタントです。\n"
                            + INCLUDE_TONE
                            + "答えがわからない場合は正直にそう伝え、担当者への"
                            "引き継ぎを提案してください。",
                        }.items()
                    }
                ),
            }
        ],
        "labels": [("production", 1, "launch")],
    },
    {
        "name": "support/greeting",
        "kind": "text",
        "description": "First message of a support conversation.",
        "tags": ["support"],
        "versions": [
            {
                "template": (
                    '{% include "shared/tone-of-voice@production" %}\n'
                    "Greet {{ customer_name }} and ask how you can help today."
                    "{% if open_tickets > 0 %} Mention that they have {{ open_tickets }} "
                    "open ticket(s).{% endif %}"
                ),
                "variables": [
                    {"name": "customer_name", "type": "string"},
                    {"name": "open_tickets", "type": "integer", "required": False, "default": 0},
                    BRAND,
                ],
                "message": "Greeting",
                "translations": {
                    **approved(
                        {
                            "fr": INCLUDE_TONE + "\nSaluez {{ customer_name }} et demandez "
                            "comment vous pouvez aider aujourd'hui.{% if open_tickets > 0 %} "
                            "Mentionnez {{ open_tickets | plural(one='son ticket ouvert', "
                            "other='ses # tickets ouverts') }}.{% endif %}",
                            "de": INCLUDE_TONE + "\nBegrüßen Sie {{ customer_name }} und "
                            "fragen Sie, wie Sie heute helfen können.{% if open_tickets > 0 %} "
                            "Erwähnen Sie {{ open_tickets | plural(one='das offene Ticket', "
                            "other='die # offenen Tickets') }}.{% endif %}",
                            "es": INCLUDE_TONE + "\nSaluda a {{ customer_name }} y pregunta "
                            "cómo puedes ayudar hoy.{% if open_tickets > 0 %} Menciona que "
                            "tiene {{ open_tickets | plural(one='# ticket abierto', "
                            "other='# tickets abiertos') }}.{% endif %}",
                            "ja": INCLUDE_TONE + "\n{{ customer_name }} さんに挨拶し、今日は"
                            "どのようなご用件かを尋ねてください。{% if open_tickets > 0 %}"
                            "未解決のチケットが {{ open_tickets | number }} 件あることにも"
                            "触れてください。{% endif %}",
                        }
                    ),
                    # A locale with only a draft: not served until approved.
                    "it": {
                        "template": INCLUDE_TONE + "\nSaluta {{ customer_name }} e chiedi "
                        "come puoi essere utile.{% if open_tickets > 0 %} Ricorda i "
                        "{{ open_tickets }} ticket aperti.{% endif %}",
                        "status": "draft",
                    },
                },
            }
        ],
        "labels": [("production", 1, "launch")],
    },
    {
        "name": "extract/invoice-fields",
        "kind": "text",
        "description": "Extracts invoice fields as JSON.",
        "tags": ["extraction", "json"],
        "versions": [
            {
                "template": (
                    "Extract these fields from the invoice as a JSON object: "
                    "{{ fields | join(', ') }}. Use null for a field that is missing.\n\n"
                    "Invoice:\n{{ invoice }}\n"
                ),
                "variables": [
                    {"name": "invoice", "type": "string"},
                    {
                        "name": "fields",
                        "type": "list",
                        "required": False,
                        "default": ["invoice_number", "date", "total", "currency", "vendor"],
                    },
                ],
                "config": {
                    "model": "gpt-4o-mini",
                    "temperature": 0,
                    "response_format": {"type": "json_object"},
                },
                "message": "JSON field extraction",
            }
        ],
        "labels": [("production", 1, "launch")],
    },
    {
        "name": "email/reply-draft",
        "kind": "text",
        "description": "Drafts a reply to a customer e-mail in the house voice.",
        "tags": ["email"],
        "versions": [
            {
                "template": (
                    '{% include "shared/tone-of-voice@production" %}\n'
                    "Draft a reply to this e-mail from {{ sender }}:\n\n{{ email }}\n\n"
                    "{% if points %}Make sure the reply covers:\n"
                    "{% for point in points %}- {{ point }}\n{% endfor %}{% endif %}"
                ),
                "variables": [
                    {"name": "sender", "type": "string"},
                    {"name": "email", "type": "string"},
                    {"name": "points", "type": "list", "required": False, "default": []},
                    BRAND,
                ],
                "config": {"model": "gpt-4o", "temperature": 0.5},
                "message": "Reply drafts",
            }
        ],
        "labels": [("production", 1, "launch")],
    },
    {
        "name": "code/review",
        "kind": "chat",
        "description": "Reviews a code change and lists concrete problems.",
        "tags": ["chat", "engineering"],
        "versions": [
            {
                "messages": [
                    {
                        "role": "system",
                        "content": (
                            "You review {{ language }} code. List concrete problems: bugs, "
                            "missing tests, unclear names. For each, quote the line and "
                            "propose a fix. Do not restate what the code does."
                        ),
                    },
                    {"role": "user", "content": "Review this diff:\n\n{{ diff }}"},
                ],
                "variables": [
                    {"name": "language", "type": "string", "required": False, "default": "Python"},
                    {"name": "diff", "type": "string"},
                ],
                "config": {"model": "gpt-4o", "temperature": 0.2, "seed": 7},
                "message": "Code review",
            }
        ],
        "labels": [("production", 1, "launch")],
    },
]
