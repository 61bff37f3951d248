"""Offline language detection: py3langid's model, shipped in its wheel."""

from __future__ import annotations

import pytest

from registry.style.language import detect_language, same_language

TEXTS = {
    "en": "You are a helpful assistant. Answer the question in two short sentences.",
    "de": "Du bist ein hilfreicher Assistent. Beantworte die Frage in zwei kurzen Sätzen.",
    "fr": "Vous êtes un assistant serviable. Répondez à la question en deux phrases courtes.",
    "es": "Eres un asistente útil. Responde a la pregunta en dos frases cortas.",
    "ja": "あなたは親切なアシスタントです。質問に二つの短い文で答えてください。",
}


@pytest.mark.parametrize(("language", "text"), list(TEXTS.items()))
def test_detects_the_language_of_a_prompt(language: str, text: str) -> None:
    detected = detect_language(text)
    assert detected.language == language
    assert detected.confidence > 0.5


def test_code_blocks_and_urls_do_not_count() -> None:
    text = (
        "Réponds en français, brièvement et poliment, à la question posée.\n"
        "```\nprint('hello world, this is some english code and more english words')\n```\n"
        "https://example.com/the/english/words/in/this/address"
    )
    assert detect_language(text).language == "fr"


def test_a_long_text_is_sampled_from_its_start_middle_and_end() -> None:
    text = TEXTS["de"] * 200 + TEXTS["en"] * 10
    assert detect_language(text).language == "de"


@pytest.mark.parametrize(
    ("detected", "language", "same"),
    [
        ("de", "de", True),
        ("nb", "no", True),
        ("da", "nb", True),
        ("hr", "sr", True),
        ("ms", "id", True),
        ("en", "de", False),
        ("zh", "ja", False),
    ],
)
def test_languages_langid_cannot_tell_apart_count_as_one(
    detected: str, language: str, same: bool
) -> None:
    assert same_language(detected, language) is same
