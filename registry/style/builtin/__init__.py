"""Prompt-specific checks, used in a guide as ``kind: builtin`` with ``check: <name>``.

=====================  ===================================================================
``variables``          declared but unused, and used but undeclared variables
``size``               characters and tokens per prompt and per message, against budgets
``secrets``            API keys, private keys, passwords in assignments, high-entropy text
``invisible``          zero-width, bidirectional-control, tag and control characters
``user-input``         a variable that carries user input inside a system message
``contradictions``     "always X" and "never X" in one prompt
``duplicates``         the same instruction twice
``generic-pronouns``   "he"/"she" for a person whose gender the prompt does not know
``language``           the prose is not in the language of the declared locale
=====================  ===================================================================

Their parameters go under ``params`` and can be changed by a guide that extends
another: ``overrides: {prompt.size: {params: {max_tokens: 16000}}}``.

Each check is a module of this package; :mod:`.base` holds the rule kind they share.
"""

from __future__ import annotations

from registry.style.builtin.base import Builtin
from registry.style.builtin.contradictions import Contradictions
from registry.style.builtin.duplicates import Duplicates
from registry.style.builtin.invisible import Invisible
from registry.style.builtin.language import Language
from registry.style.builtin.notes import LeftoverNotes
from registry.style.builtin.pronouns import GenericPronouns
from registry.style.builtin.secrets import Secrets
from registry.style.builtin.size import Size
from registry.style.builtin.user_input import UserInput
from registry.style.builtin.variables import Variables, variable_spans
from registry.style.rules import Rule

__all__ = ["BUILTINS", "Builtin", "variable_spans"]


BUILTINS: dict[str, type[Rule]] = {
    cls.check_name: cls
    for cls in (
        Variables,
        Size,
        Secrets,
        Invisible,
        UserInput,
        Contradictions,
        Duplicates,
        LeftoverNotes,
        GenericPronouns,
        Language,
    )
}
