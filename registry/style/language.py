"""Offline language detection of prose, with py3langid's model (shipped in its wheel).

py3langid is a maintained fork of langid.py: a naive Bayes classifier over byte
n-grams for 97 languages whose model file is inside the package, so nothing is
downloaded at run time. The model loads once (about a second) on first use.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["Detection", "detect_language", "same_language"]

# Texts that langid cannot tell apart reliably count as one language.
_CLOSE_LANGUAGES = (
    frozenset({"no", "nb", "nn", "da"}),
    frozenset({"hr", "sr", "bs"}),
    frozenset({"id", "ms"}),
    frozenset({"zh", "yue"}),
)
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`|https?://\S+", re.DOTALL)
# langid reads bytes in a Python loop: a sample of this many characters, from the start,
# the middle and the end of a long text, keeps detection under a millisecond.
_SAMPLE_CHARS = 900

_lock = threading.Lock()
_identifier: Any = None


@dataclass(frozen=True)
class Detection:
    """The language a text is written in (ISO 639-1) and the model's confidence."""

    language: str
    confidence: float


def _model() -> Any:
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                try:
                    from py3langid.langid import MODEL_FILE, LanguageIdentifier
                except ModuleNotFoundError as exc:
                    # The SDK's light install leaves it out (it brings numpy).
                    raise ModuleNotFoundError(
                        "language detection runs on py3langid, which is not installed: "
                        "pip install 'prompt-registry[lint]'",
                        name="py3langid",
                    ) from exc
                # Our own instance: the module-level one may be restricted by others.
                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def detect_language(text: str) -> Detection:
    """The most likely language of ``text``; code blocks and URLs are left out."""
    prose = " ".join(_CODE.sub(" ", text).split())
    if len(prose) > _SAMPLE_CHARS:
        third = _SAMPLE_CHARS // 3
        middle = (len(prose) - third) // 2
        prose = " ".join((prose[:third], prose[middle : middle + third], prose[-third:]))
    language, confidence = _model().classify(prose)
    return Detection(str(language), float(confidence))


def same_language(detected: str, language: str) -> bool:
    """Whether a detected language code names the language of a locale's language subtag."""
    if detected == language:
        return True
    return any(detected in group and language in group for group in _CLOSE_LANGUAGES)
