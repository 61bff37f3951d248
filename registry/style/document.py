"""A prompt being linted: its units, declared variables, locale, and what is computed once."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from registry.errors import InvalidTemplate
from registry.style.model import LintInput
from registry.style.text import Unit
from registry.style.tokens import TokenCounter
from registry.templating import TemplateInfo, analyze

__all__ = ["Document"]


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
