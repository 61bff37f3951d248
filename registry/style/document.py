"""A prompt being linted: its units, declared variables, locale, and what is computed once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property

from registry.errors import InvalidTemplate
from registry.style.findings import LintInput
from registry.style.language import Detection, detect_language, same_language
from registry.style.text import MASK, Unit
from registry.style.tokens import TokenCounter
from registry.templating import TemplateInfo, analyze

__all__ = ["Document"]

# "No linguistic content" (keys, numbers, code) and "undetermined".
_UNDETERMINED = frozenset({"zxx", "und"})
_CJK = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


class Document:
    """Everything the rules read about one prompt; lives for one lint, in one thread."""

    def __init__(self, data: LintInput, token_counter: TokenCounter) -> None:
        language = data.locale.replace("-", "_").split("_")[0].lower()
        if data.messages is not None:
            self.units = [
                Unit(content, index, role, language)
                for index, (role, content) in enumerate(data.messages)
            ]
        else:
            self.units = [Unit(data.template or "", None, None, language)]
        self.variables: list[Mapping[str, object]] = list(data.variables)
        self.locale = data.locale
        self.localized = data.localized
        self.token_counter = token_counter
        self._tokens: dict[int, int] = {}
        self._analysis: dict[int, TemplateInfo | InvalidTemplate] = {}

    def other_language(self, min_words: int, confidence: float) -> Detection | None:
        """The language the prose is written in, when it is surely not the declared
        locale's (at least ``min_words`` words, detected with ``confidence``); else None.
        Detected once per lint."""
        detected = self._detected
        if detected is None or detected.confidence < confidence:
            return None
        words = sum(unit.words for unit in self.units)
        cjk = sum(len(_CJK.findall(unit.prose)) for unit in self.units)
        # Chinese and Japanese have no spaces: two characters count as a word.
        if words + cjk // 2 < min_words:
            return None
        return detected

    @cached_property
    def _detected(self) -> Detection | None:
        language = self.locale.replace("-", "_").split("_")[0].lower()
        if not re.fullmatch("[a-z]{2,3}", language):
            return None  # no language to compare with
        prose = "\n".join(unit.prose.replace(MASK, " ") for unit in self.units)
        detected = detect_language(prose)
        if detected.language in _UNDETERMINED or same_language(detected.language, language):
            return None
        return detected

    @cached_property
    def declared(self) -> dict[str, Mapping[str, object]]:
        """The declared variables by name."""
        return {str(v.get("name")): v for v in self.variables if v.get("name")}

    def tokens(self, unit: Unit) -> int:
        """The token count of a unit's source, counted once per lint."""
        key = id(unit)
        if key not in self._tokens:
            self._tokens[key] = self.token_counter.count(unit.source)
        return self._tokens[key]

    def analysis(self, unit: Unit) -> TemplateInfo | InvalidTemplate:
        """The variables and includes of a unit's template, or why it does not compile."""
        key = id(unit)
        if key not in self._analysis:
            try:
                self._analysis[key] = analyze(unit.source)
            except InvalidTemplate as exc:
                self._analysis[key] = exc
        return self._analysis[key]
