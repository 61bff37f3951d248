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
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from babel import Locale, UnknownLocaleError
from babel.numbers import format_percent

from registry.errors import InvalidTemplate
from registry.i18n.messages import current_locale
from registry.style.document import Document
from registry.style.i18n import Message, mark, mark_plural
from registry.style.model import Level
from registry.style.names import first_person, known_referent
from registry.style.rules import (
    E_NEEDS,
    E_NUMBER,
    SPACES,
    Hit,
    Pattern,
    Rule,
    Spec,
    keep_case,
    number,
    words_pattern,
)
from registry.style.text import ALL_SCOPES, Unit
from registry.templating.engine import ENVIRONMENT

__all__ = ["BUILTINS", "Builtin", "variable_spans"]

E_PARAMS = mark("must be a mapping of parameter names to values")
E_CODEPOINT = mark("write a character as U+ and its hexadecimal code, such as U+200D")


@dataclass(frozen=True, kw_only=True)
class Builtin(Rule):
    """A prompt-specific check; ``params`` keeps what the guide wrote, for overrides."""

    params: Mapping[str, Any]

    kind = "builtin"
    # A check reads the whole text unless it is about wording (it says so itself).
    default_reads = ALL_SCOPES
    fields = ("match", "fix")
    keys = ("params",)
    check_name: ClassVar[str] = ""
    param_keys: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def parse(cls, spec: Spec) -> dict[str, Any] | None:
        raw = spec.data.get("params", {})
        if not isinstance(raw, Mapping):
            spec.error("params", _t(E_PARAMS))
            return None
        params = Spec(raw, spec.at("params"), spec.errors)
        params.only(cls.param_keys)
        before = len(spec.errors)
        own = cls.parse_params(params)
        if own is None or len(spec.errors) > before:
            return None
        return {"params": dict(raw), **own}

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        """The check's settings from its ``params``."""
        return {}


def _t(msgid: str) -> str:
    return Message(msgid).render({})


def _lower(level: Level) -> Level:
    return "warning" if level == "error" else "suggestion"


# ------------------------------------------------------------------ variables

M_UNUSED = mark('the variable "{match}" is declared but the prompt never uses it')
M_UNDECLARED = mark('the variable "{match}" is used but not declared; add it to the variables')


def variable_spans(unit: Unit, name: str) -> list[tuple[int, int]]:
    """Where a name is read in a unit's Jinja expressions and statements (not in strings)."""
    return unit.names.get(name, [])


@dataclass(frozen=True, kw_only=True)
class Variables(Builtin):
    """Declared but unused, and used but undeclared variables."""

    check_name: ClassVar[str] = "variables"

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        used: dict[str, Unit] = {}
        complete = True
        for unit in units:
            info = doc.analysis(unit)
            if isinstance(info, InvalidTemplate):
                complete = False  # the engine reports it; what it uses is unknown
                continue
            if info.includes:
                complete = False  # an included prompt may read any declared variable
            for name in sorted(info.variables):
                if name not in ENVIRONMENT.globals:
                    used.setdefault(name, unit)
                    if name not in doc.declared:
                        spans = variable_spans(unit, name) or [(0, 0)]
                        yield Hit(
                            unit, spans[0][0], spans[0][1], name, message=Message(M_UNDECLARED)
                        )
        if complete and len(units) == len(doc.units):
            for name in doc.declared:
                if name not in used:
                    yield Hit(units[0], 0, 0, name, message=Message(M_UNUSED))


# ------------------------------------------------------------------ size

M_PROMPT_CHARS_OVER = mark("the prompt has {count} characters; the limit is {limit}")
M_PROMPT_CHARS_NEAR = mark("the prompt has {count} characters, {percent} of its limit of {limit}")
M_PROMPT_TOKENS_OVER = mark("the prompt has about {count} tokens; the limit is {limit}")
M_PROMPT_TOKENS_NEAR = mark(
    "the prompt has about {count} tokens, {percent} of its limit of {limit}"
)
M_MESSAGE_CHARS_OVER = mark("this message has {count} characters; the limit is {limit}")
M_MESSAGE_CHARS_NEAR = mark(
    "this message has {count} characters, {percent} of its limit of {limit}"
)
M_MESSAGE_TOKENS_OVER = mark("this message has about {count} tokens; the limit is {limit}")
M_MESSAGE_TOKENS_NEAR = mark(
    "this message has about {count} tokens, {percent} of its limit of {limit}"
)


@dataclass(frozen=True, kw_only=True)
class Size(Builtin):
    """Character and token budgets per prompt and per chat message."""

    max_chars: int | None
    max_tokens: int | None
    max_message_chars: int | None
    max_message_tokens: int | None
    warn_at: float

    check_name: ClassVar[str] = "size"
    param_keys = ("max_chars", "max_tokens", "max_message_chars", "max_message_tokens", "warn_at")

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        return {
            "max_chars": params.integer("max_chars", 32_000, 1),
            "max_tokens": params.integer("max_tokens", 8_000, 1),
            "max_message_chars": params.integer("max_message_chars", None, 1),
            "max_message_tokens": params.integer("max_message_tokens", None, 1),
            "warn_at": params.fraction("warn_at", 0.8),
        }

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        chars = [len(unit.source) for unit in units]
        tokens = [doc.tokens(unit) for unit in units]
        yield from self._budget(
            units, chars, self.max_chars, (M_PROMPT_CHARS_OVER, M_PROMPT_CHARS_NEAR)
        )
        yield from self._budget(
            units, tokens, self.max_tokens, (M_PROMPT_TOKENS_OVER, M_PROMPT_TOKENS_NEAR)
        )
        if units[0].role is None:
            return  # a text prompt is one message: the prompt's budget is its budget
        for unit, n_chars, n_tokens in zip(units, chars, tokens, strict=True):
            yield from self._budget(
                [unit],
                [n_chars],
                self.max_message_chars,
                (M_MESSAGE_CHARS_OVER, M_MESSAGE_CHARS_NEAR),
            )
            yield from self._budget(
                [unit],
                [n_tokens],
                self.max_message_tokens,
                (M_MESSAGE_TOKENS_OVER, M_MESSAGE_TOKENS_NEAR),
            )

    def _budget(
        self,
        units: Sequence[Unit],
        sizes: Sequence[int],
        limit: int | None,
        messages: tuple[str, str],
    ) -> Iterator[Hit]:
        total = sum(sizes)
        if limit is None or total < limit * self.warn_at:
            return
        params = {
            "count": number(total),
            "limit": number(limit),
            # Rounded down: 99.6% of a budget must not read as 100%.
            "percent": format_percent(total * 100 // limit / 100, locale=current_locale()),
        }
        if total <= limit:
            yield Hit(
                units[0],
                0,
                0,
                "",
                params=params,
                message=Message(messages[1]),
                level=_lower(self.level),
            )
            return
        # Point at where the budget runs out, to the end of that unit.
        before = 0
        for unit, size in zip(units, sizes, strict=True):
            if before + size > limit:
                offset = int(len(unit.source) * (limit - before) / size) if size else 0
                yield Hit(
                    unit, offset, len(unit.source), "", params=params, message=Message(messages[0])
                )
                return
            before += size


# ------------------------------------------------------------------ secrets

K_OPENAI = mark("an OpenAI API key")
K_ANTHROPIC = mark("an Anthropic API key")
K_AWS = mark("an AWS access key ID")
K_GITHUB = mark("a GitHub token")
K_SLACK = mark("a Slack token")
K_STRIPE = mark("a Stripe secret key")
K_GOOGLE = mark("a Google API key")
K_PRIVATE_KEY = mark("a private key")
K_JWT = mark("a JSON Web Token")
K_SLACK_WEBHOOK = mark("a Slack webhook URL")
K_PASSWORD = mark("a password or secret in an assignment")
K_ENTROPY = mark("a random-looking string that may be a secret")
K_URL_PASSWORD = mark("a password in a URL")
M_SECRET = mark("{kind} in the prompt ({match}): remove it, and revoke it if it was real")

_PROVIDERS: tuple[tuple[str, str], ...] = (
    (K_ANTHROPIC, r"sk-ant-(?:api|admin|oat)?\d{0,2}-?[A-Za-z0-9_-]{20,}"),
    (K_OPENAI, r"sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}"),
    (K_AWS, r"(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA)[0-9A-Z]{16}"),
    (K_GITHUB, r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})"),
    (K_SLACK, r"xox[abeoprs]-[A-Za-z0-9-]{10,}"),
    (K_SLACK_WEBHOOK, r"https://hooks\.slack\.com/services/[A-Za-z0-9_/]{20,}"),
    (K_STRIPE, r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    (K_GOOGLE, r"AIza[0-9A-Za-z_-]{35}"),
    (K_JWT, r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
)
_PROVIDER = re.compile(
    "|".join(f"(?P<p{i}>{p})" for i, (_, p) in enumerate(_PROVIDERS)) + "(?![A-Za-z0-9_-])"
)
# Every key shape starts with one of these: a cheap scan finds the few places to try.
_PROVIDER_START = re.compile(
    r"sk-|[sr]k_|A(?:KIA|SIA|BIA|CCA|IDA|ROA|Iza)|gh[pousr]_|github_pat_|xox|https://hooks|eyJ"
)
_KEY_CHARACTER = re.compile(r"[A-Za-z0-9_-]")
_SECRET_WORD = re.compile(
    r"pass(?:word|wd|phrase)|pwd|secret|api[_-]?key|access[_-]?key|auth[_-]?token|"
    r"access[_-]?token|client[_-]?secret|private[_-]?key"
)
_PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_PRIVATE_KEY_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
# `password = hunter2`, `"api_key": "…"`, `client_secret: 'x'`. A bare `word: value` in
# prose ("your password: never share it") counts only when the value is quoted or has
# a digit or a symbol in it, as a real password would.
_ASSIGNMENT = re.compile(
    r"(?P<key>\b(?:[A-Za-z_]*_)?(?:password|passwd|passphrase|pwd|secret|api[_-]?key|"
    r"access[_-]?key|auth[_-]?token|access[_-]?token|secret[_-]?key|client[_-]?secret|"
    r"private[_-]?key)\b[\"']?)"
    r"(?P<sep>\s*(?::=|=|:)\s*)"
    r"(?P<value>\"[^\"\n]{4,}\"|'[^'\n]{4,}'|[^\s\"',;]{4,})",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(
    r"^[\"']?(?:\{\{.*|\{.*\}|<.*>|\$\{?\w+\}?|%\(?\w+\)?s?|\*+|x+|\.+|"
    r"(?:your|my|the|some|example|dummy|placeholder|redacted|changeme|secret|password|"
    r"none|null|true|false|env|os\.environ)\b.*)[\"']?$",
    re.IGNORECASE,
)
# A value that names where the secret comes from, not the secret: a call, an attribute
# path (os.environ["X"], process.env.X, settings.API_KEY), a constant's name.
_REFERENCE = re.compile(
    r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+(?:[.(\[].*)?|.*[(\[].*|[A-Z][A-Z0-9_]*|"
    r"[A-Za-z_]+"
)
# A credential under a weaker name (token, key, credentials) or after Bearer: reported
# only when the value looks random. Free text is not searched for random strings: git
# hashes, UUIDs, trace ids and repository names look random too.
_TOKEN_ASSIGNMENT = re.compile(
    r"(?:[Tt]oken|TOKEN|[Kk]ey|KEY|[Cc]redentials?|CREDENTIALS?|[Bb]earer)[\"']?"
    r"(?:\s*(?::=|=|:)\s*[\"']?|[ \t]+)(?P<value>[A-Za-z0-9+/=_.~-]{16,})"
)
# The scheme is bounded: a long run of letters must not be read again from each one.
_URL_PASSWORD = re.compile(
    r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,30}://[^\s/:@]{1,200}:(?P<value>[^\s/@]{3,200})@"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_HEX = re.compile(r"[0-9a-fA-F]+")


def shannon_entropy(text: str) -> float:
    """Bits per character of a string's character distribution."""
    counts = Counter(text)
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in counts.values())


def _redact(secret: str) -> str:
    # Findings are stored and printed by CI: they must never copy the secret itself.
    shown = min(6, len(secret) // 4)
    return f"{secret[:shown]}…"


@dataclass(frozen=True, kw_only=True)
class Secrets(Builtin):
    """API keys, private keys, passwords in assignments and random-looking strings."""

    entropy: float
    entropy_min_length: int
    hex_entropy: float
    hex_min_length: int
    allow: Pattern | None

    check_name: ClassVar[str] = "secrets"
    param_keys = ("entropy", "entropy_min_length", "hex_entropy", "hex_min_length", "allow")

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        allow = params.strings("allow")
        compiled = None
        if allow and all(params.regex(f"allow[{i}]", p, kept=False) for i, p in enumerate(allow)):
            compiled = params.regex("allow", "|".join(f"(?:{p})" for p in allow))
        return {
            "entropy": params.fraction("entropy", 4.0, 0.0, 8.0),
            "entropy_min_length": params.integer("entropy_min_length", 20, 8) or 20,
            "hex_entropy": params.fraction("hex_entropy", 3.0, 0.0, 4.0),
            "hex_min_length": params.integer("hex_min_length", 32, 8) or 32,
            "allow": compiled,
        }

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        for unit in units:
            yield from self._scan(unit)

    def _scan(self, unit: Unit) -> Iterator[Hit]:
        # The raw source: a key in a Jinja string or comment leaks all the same.
        source = unit.source
        # Disjoint spans already reported, sorted: a later pattern must not report them.
        taken: list[tuple[int, int]] = []

        def free(start: int, end: int) -> bool:
            index = bisect.bisect_left(taken, (start, end))
            before = index == 0 or taken[index - 1][1] <= start
            after = index == len(taken) or taken[index][0] >= end
            return before and after

        def hit(kind: str, start: int, end: int, shown: str) -> Hit:
            bisect.insort(taken, (start, end))
            return Hit(
                unit,
                start,
                end,
                shown,
                params={"kind": _t(kind), "match": shown},
                message=Message(M_SECRET),
            )

        ends = [m.end() for m in _PRIVATE_KEY_END.finditer(source)]
        for found in _PRIVATE_KEY.finditer(source):
            # The block runs to the END line after it, when there is one.
            after = bisect.bisect_left(ends, found.end())
            end = ends[after] if after < len(ends) else found.end()
            if free(found.start(), end):
                yield hit(K_PRIVATE_KEY, found.start(), end, found.group()[:31] + "…")
        for start in _PROVIDER_START.finditer(source):
            at = start.start()
            if at and _KEY_CHARACTER.match(source, at - 1):
                continue
            key = _PROVIDER.match(source, at)
            if key is None or self._allowed(key.group()) or not free(at, key.end()):
                continue
            index = int((key.lastgroup or "p0")[1:])
            yield hit(_PROVIDERS[index][0], at, key.end(), _redact(key.group()))
        for found in self._assignments(source):
            value = found["value"]
            if not self._literal(value, found["sep"]) or self._allowed(value):
                continue
            if free(found.start("value"), found.end("value")):
                shown = f"{found['key']}{found['sep']}…"
                yield hit(K_PASSWORD, found.start(), found.end(), shown)
        for found in _URL_PASSWORD.finditer(source):
            value = found["value"]
            if _PLACEHOLDER.match(value) or self._allowed(value):
                continue
            if free(found.start("value"), found.end("value")):
                yield hit(K_URL_PASSWORD, found.start(), found.end(), _redact(found.group()))
        for found in _TOKEN_ASSIGNMENT.finditer(source):
            at, value = found.start(), found["value"]
            if at and source[at].islower() and source[at - 1].isalpha():
                continue  # "monkey", not a key
            if not free(found.start("value"), found.end("value")) or self._allowed(value):
                continue
            if self._random(value):
                yield hit(K_ENTROPY, found.start("value"), found.end("value"), _redact(value))

    @staticmethod
    def _literal(value: str, separator: str) -> bool:
        """Whether an assigned value is a literal secret, not a placeholder, a reference
        to where the secret is kept (an environment lookup) or a description."""
        quoted = value[0] in "\"'"
        inner = value[1:-1] if quoted and len(value) > 1 else value
        if _PLACEHOLDER.match(value) or _PLACEHOLDER.match(inner) or not inner.strip():
            return False
        if quoted:
            # "password": "at least 8 characters" describes one; a secret has no spaces.
            return not any(c.isspace() for c in inner)
        if _REFERENCE.fullmatch(value):
            return False
        # Unquoted after a colon is prose as often as config: a digit or a symbol says
        # it is a value.
        return separator.strip() != ":" or bool(re.search(r"[\d\W_]", value))

    def _allowed(self, text: str) -> bool:
        return self.allow is not None and self.allow.search(text)

    @staticmethod
    def _assignments(source: str) -> Iterator[re.Match[str]]:
        folded = source.lower()
        if len(folded) != len(source):
            yield from _ASSIGNMENT.finditer(source)
            return
        end = 0
        # The run of letters and underscores that holds each key word ("db_password"), found
        # by reading each character once: "passwordpassword…" must not walk back over the
        # run, nor try the same start again, for every "password" in it.
        run_start = scanned = 0
        tried = -1
        for word in _SECRET_WORD.finditer(folded):
            start = word.start()
            while start > scanned and (folded[start - 1].isalpha() or folded[start - 1] == "_"):
                start -= 1
            if start > scanned:
                run_start = start
            start, scanned = run_start, word.start()
            if start < end or start == tried:
                continue
            tried = start
            found = _ASSIGNMENT.match(source, start)
            if found is not None:
                end = found.end()
                yield found

    def _random(self, text: str) -> bool:
        # Identifiers and words have letters only, or letters and underscores in runs;
        # a secret mixes letters and digits.
        if not (re.search(r"\d", text) and re.search(r"[A-Za-z]", text)):
            return False
        if _UUID.fullmatch(text):
            return False
        if _HEX.fullmatch(text):
            return len(text) >= self.hex_min_length and shannon_entropy(text) >= self.hex_entropy
        return len(text) >= self.entropy_min_length and shannon_entropy(text) >= self.entropy


# ------------------------------------------------------------------ invisible characters

M_INVISIBLE = mark_plural(
    "invisible or control character {codes}: remove it",
    "{count} invisible or control characters ({codes}): remove them",
)
_JOINERS = "\u200c\u200d"
# Left-to-right, right-to-left and Arabic letter marks: invisible, but how right-to-left
# text gets its punctuation and numbers in the right place. Allowed on a line that has
# right-to-left letters (Hebrew, Arabic, Syriac, Thaana, N'Ko…); the embeddings and
# overrides that reorder code (U+202A-U+202E, U+2066-U+2069) never are.
_DIRECTION_MARKS = frozenset("\u200e\u200f\u061c")
_RIGHT_TO_LEFT = re.compile(
    "[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff\U00010800-\U00010fff\U0001e800-\U0001efff]"
)
_INVISIBLE = re.compile(
    "["
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # control characters (not tab, line feed, CR)
    "\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"  # zero-width and bidi controls
    "\u3164\ufeff\uffa0\ufff9-\ufffb"
    "\U000e0000-\U000e007f"  # tag characters: invisible ASCII, used to smuggle text
    "]+"
)


def _code(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}" if name else f"U+{ord(char):04X}"


@dataclass(frozen=True, kw_only=True)
class Invisible(Builtin):
    """Zero-width, bidirectional-control, tag and control characters."""

    allow: frozenset[str]

    check_name: ClassVar[str] = "invisible"
    param_keys = ("allow",)

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        allowed = set()
        for i, text in enumerate(params.strings("allow")):
            found = re.fullmatch(r"U\+([0-9A-Fa-f]{4,6})", text.strip())
            if found is None:
                params.error(f"allow[{i}]", _t(E_CODEPOINT))
            else:
                allowed.add(chr(int(found[1], 16)))
        return {"allow": frozenset(allowed)}

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        for unit in units:
            source = unit.source
            for found in _INVISIBLE.finditer(source):
                start, end = found.start(), found.end()
                run = found.group()
                if all(c in self.allow for c in run):
                    continue
                if run in _JOINERS and self._joins_letters(source, start, end):
                    continue
                if _DIRECTION_MARKS.issuperset(run) and self._in_right_to_left(source, start):
                    continue
                codes = list(dict.fromkeys(_code(c) for c in run))
                shown = ", ".join(codes[:3]) + (", …" if len(codes) > 3 else "")
                singular, plural = M_INVISIBLE
                yield Hit(
                    unit,
                    start,
                    end,
                    run,
                    fix="",
                    params={"codes": shown, "count": number(len(run))},
                    message=Message(singular, plural, len(run)),
                )

    @staticmethod
    def _in_right_to_left(source: str, start: int) -> bool:
        line_start = source.rfind("\n", 0, start) + 1
        line_end = source.find("\n", start)
        line = source[line_start : len(source) if line_end < 0 else line_end]
        return _RIGHT_TO_LEFT.search(line) is not None

    @staticmethod
    def _joins_letters(source: str, start: int, end: int) -> bool:
        # A single ZWJ or ZWNJ between two non-ASCII characters is part of the writing:
        # emoji sequences, Persian and Indic scripts.
        if start == 0 or end >= len(source):
            return False
        before, after = source[start - 1], source[end]
        return not (before.isascii() or after.isascii() or before.isspace() or after.isspace())


# ------------------------------------------------------------------ user input in system

M_USER_INPUT = mark(
    '"{match}" looks like user input inside a system message: pass it in a user message, '
    "or fence it and tell the model to treat it as data"
)
_USER_NAMES = (
    r"user_?input",
    r"input",
    r"query",
    r"question",
    r"message",
    r"request",
    r"text",
    r"content",
    r"comment",
    r"feedback",
    r"review",
    r"search",
    r"utterance",
    r"conversation",
    r"chat_history",
    r"user_\w+",
    r"\w+_(?:input|query|question|message|request|text|comment|feedback)",
)
_USER_DESCRIPTIONS = (
    r"\buser(?:'s)?[- ](?:input|provided|supplied|written|typed|entered|message|question|"
    r"query|text)\b",
    r"\b(?:from|by|of) the (?:end[- ])?(?:user|customer|visitor|caller|client)\b",
    r"\b(?:untrusted|user input|free text|free-form)\b",
)


@dataclass(frozen=True, kw_only=True)
class UserInput(Builtin):
    """A variable that carries user input inside a system message."""

    names: Pattern | None
    descriptions: Pattern | None
    trusted: frozenset[str]

    check_name: ClassVar[str] = "user-input"
    param_keys = ("names", "descriptions", "trusted")

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        names = params.strings("names") if "names" in params.data else list(_USER_NAMES)
        descriptions = (
            params.strings("descriptions")
            if "descriptions" in params.data
            else list(_USER_DESCRIPTIONS)
        )
        compiled_names = _alternatives(params, "names", names, ignorecase=False)
        compiled_descriptions = _alternatives(params, "descriptions", descriptions, ignorecase=True)
        return {
            "names": compiled_names,
            "descriptions": compiled_descriptions,
            "trusted": frozenset(params.strings("trusted")),
        }

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        for unit in units:
            if unit.role is None:
                continue  # a text prompt has no system message
            info = doc.analysis(unit)
            if isinstance(info, InvalidTemplate):
                continue
            for name in sorted(info.variables):
                if self._user_input(name, doc.declared.get(name)):
                    for start, end in variable_spans(unit, name):
                        yield Hit(unit, start, end, name, message=Message(M_USER_INPUT))

    def _user_input(self, name: str, declared: Mapping[str, object] | None) -> bool:
        if name in self.trusted:
            return False
        if declared is not None and declared.get("type", "string") not in ("string", None):
            return False  # a number or a flag cannot carry instructions
        if self.names is not None and self.names.fullmatch(name.lower()):
            return True
        description = str(declared.get("description") or "") if declared else ""
        return self.descriptions is not None and self.descriptions.search(description)


def _alternatives(
    params: Spec, key: str, patterns: Sequence[str], *, ignorecase: bool
) -> Pattern | None:
    if not patterns:
        return None
    if not all(
        params.regex(f"{key}[{i}]", p, ignorecase, kept=False) for i, p in enumerate(patterns)
    ):
        return None
    return params.regex(key, "|".join(f"(?:{p})" for p in patterns), ignorecase)


# ------------------------------------------------------------------ contradictions

M_CONTRADICTION = mark('"{match}" contradicts "{other}" earlier in the prompt')
M_DUPLICATE = mark('"{match}" repeats an earlier instruction')
_ARTICLES = frozenset({"a", "an", "the", "please", "you", "to"})
# This module's own patterns stay on `re`, each linear: a character class, or a few
# words of a few letters tried at each position.
_CLAUSE_END = re.compile(
    "[.!?;:,\u2026\u3002\uff01\uff1f\n]|(?<!\\w)(?:and|but|or|unless|except|und|aber|oder)(?!\\w)",
    re.IGNORECASE,
)
_WORDS = re.compile("[^\\W_]+(?:['\u2019][^\\W_]+)*")


def _normalized(text: str, start: int, end: int, limit: int) -> tuple[str, ...]:
    """The words of a clause, lower-cased, without articles; empty past ``limit`` words."""
    words: list[str] = []
    for found in _WORDS.finditer(text, start, end):
        word = found.group().lower()
        if word not in _ARTICLES:
            words.append(word)
            if len(words) > limit:
                return ()
    return tuple(words)


@dataclass(frozen=True, kw_only=True)
class Contradictions(Builtin):
    """Contradictory instructions: "always X" and "never X" (or "do not X") in one prompt."""

    positive: Pattern
    negative: Pattern
    max_words: int

    check_name: ClassVar[str] = "contradictions"
    default_reads = frozenset({"prose", "heading", "name"})
    param_keys = ("always", "never", "max_words")

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        always = params.strings("always") or ["always", "you must", "make sure to"]
        never = params.strings("never") or ["never", "do not", "don't", "you must not"]
        positive = _marker(params, "always", always)
        negative = _marker(params, "never", never)
        if positive is None or negative is None:
            return None
        return {
            "positive": positive,
            "negative": negative,
            "max_words": _bounded(params, "max_words", 8, 1, _MAX_WORDS),
        }

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        seen: dict[tuple[str, ...], tuple[bool, str]] = {}
        for unit in units:
            prose = unit.scoped(self.reads)[0]
            markers = [(m, True) for m in self.positive.finditer(unit, self.reads)]
            markers += [(m, False) for m in self.negative.finditer(unit, self.reads)]
            markers.sort(key=lambda pair: pair[0].start)
            for found, positive in markers:
                # A clause longer than this has more words than max_words anyway.
                window = min(len(prose), found.end + 40 * self.max_words)
                end_match = _CLAUSE_END.search(prose, found.end, window)
                end = end_match.start() if end_match else window
                what = _normalized(prose, found.end, end, self.max_words)
                if not what:
                    continue
                text = unit.source[found.start : end].strip()
                earlier = seen.get(what)
                if earlier is None:
                    seen[what] = (positive, text)
                elif earlier[0] != positive:
                    yield Hit(
                        unit,
                        found.start,
                        found.start + len(text),
                        text,
                        params={"other": earlier[1]},
                        message=Message(M_CONTRADICTION),
                    )


def _marker(params: Spec, key: str, words: Sequence[str]) -> Pattern | None:
    pattern = words_pattern([re.escape(w) for w in words])
    return params.regex(key, pattern, ignorecase=True, bounded=True)


# Upper bounds of the counts that set how far a check reads after each match: past them
# a prompt of many matches would be read again for each one.
_MAX_WORDS = 64
_MAX_WINDOW = 2000


def _bounded(params: Spec, key: str, default: int, low: int, high: int) -> int:
    value = params.integer(key, default, low) or default
    if value > high:
        params.error(key, _t(E_NUMBER).format(min=low, max=high))
        return default
    return value


_TABLE_ROW = re.compile(r"[ \t]*\|")
_HAS_LETTER = re.compile(r"[^\W\d_]")


# A sentence given this many times is a refrain of the prompt's format, not a slip.
_REFRAIN = 3
# A Markdown heading (or a line in bold alone) naming a record of changes.
_HEADING = re.compile(r"^(?:(#{1,6})[ \t]+(.*?)[ \t#]*|\*\*(.*?)\*\*:?)[ \t]*$", re.MULTILINE)
_RECORD = re.compile(
    r"change ?log|version history|revision history|release notes|what's new",
    re.IGNORECASE,
)


def _record_sections(source: str) -> list[tuple[int, int]]:
    """Where a changelog or version history section runs: from its heading to the next
    heading of its level or above (a bold line counts as the lowest level)."""
    sections: list[tuple[int, int]] = []
    open_at: tuple[int, int] | None = None  # start and heading level
    for match in _HEADING.finditer(source):
        level = len(match.group(1)) if match.group(1) else 7
        if open_at is not None and level <= open_at[1]:
            sections.append((open_at[0], match.start()))
            open_at = None
        title = match.group(2) if match.group(1) else match.group(3)
        if open_at is None and title is not None and _RECORD.fullmatch(title.strip(" :")):
            open_at = (match.end(), level)
    if open_at is not None:
        sections.append((open_at[0], len(source)))
    return sections


@dataclass(frozen=True, kw_only=True)
class Duplicates(Builtin):
    """The same instruction (sentence) twice: each repeated sentence once, and a run of
    repeated sentences (a pasted block) as one finding.

    Not instructions repeated by accident, and so not findings: a sentence given three
    times or more (a refrain of the format, restated for each frame or section), and the
    entries of a changelog or version history section, which record, not instruct.
    """

    min_words: int

    check_name: ClassVar[str] = "duplicates"
    # Instructions are prose: code, quoted examples, headings and tables repeat by design.
    default_reads = frozenset({"prose", "name"})
    param_keys = ("min_words",)

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        return {"min_words": params.integer("min_words", 4, 1) or 4}

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        sentences = [list(self._sentences(unit)) for unit in units]
        times = Counter(words for found in sentences for _, _, words in found)
        # Each sentence's words by position in the prompt; the first place it was seen.
        first_seen: dict[tuple[str, ...], int] = {}
        reported: set[tuple[str, ...]] = set()
        position = 0
        for unit, found in zip(units, sentences, strict=True):
            block: list[int] = []  # start, end, and the earlier copy's position
            for start, end, words in found:
                position += 1
                earlier = first_seen.setdefault(words, position)
                if earlier == position or words in reported or times[words] >= _REFRAIN:
                    if block:
                        yield self._hit(unit, block)
                        block = []
                    continue
                reported.add(words)
                if block and block[3] == position - 1 and earlier == block[2] + 1:
                    block[1], block[2], block[3] = end, earlier, position
                    continue
                if block:
                    yield self._hit(unit, block)
                block = [start, end, earlier, position]
            if block:
                yield self._hit(unit, block)

    def _sentences(self, unit: Unit) -> Iterator[tuple[int, int, tuple[str, ...]]]:
        # The sentences of what the rule reads (a sentence all in code or quotes is
        # none), compared by the words of their source, Jinja, code and quotes included:
        # "Greet {{ a }}." and "Greet {{ b }}.", 'Add "Summary".' and 'Add "Risks".' differ.
        source = unit.source
        records = _record_sections(source)
        for start, end in unit.scoped_sentences(self.reads):
            if _TABLE_ROW.match(source, start):
                continue
            if any(first <= start < last for first, last in records):
                continue
            words = tuple(_WORDS.findall(source[start:end].lower()))
            if sum(1 for w in words if _HAS_LETTER.search(w)) >= self.min_words:
                yield start, end, words

    @staticmethod
    def _hit(unit: Unit, block: list[int]) -> Hit:
        start, end = block[0], block[1]
        text = unit.source[start:end]
        short = text if len(text) <= 60 else text[:59] + "…"
        return Hit(unit, start, end, text, params={"match": short}, message=Message(M_DUPLICATE))


# ------------------------------------------------------------------ leftover notes

M_NOTE = mark('leftover note "{match}": finish or remove it before publishing')


@dataclass(frozen=True, kw_only=True)
class LeftoverNotes(Builtin):
    """A note the author left for themselves: ``TODO:``, ``FIXME(ann):``, ``XXX:`` in the
    prose, or a marker opening a Jinja or HTML comment. The word alone is no note: "a
    todo app", "status: TODO", "(XXX) XXX-XXXX", "write TBD" are the prompt's text."""

    markers: tuple[str, ...]
    note: re.Pattern[str]
    comment: re.Pattern[str]

    check_name: ClassVar[str] = "leftover-notes"
    # Code and quoted examples show notes on purpose ("// TODO: implement").
    default_reads = frozenset({"prose", "heading", "name"})
    param_keys = ("markers", "alone")

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        markers = params.strings("markers") or ["TODO", "FIXME", "XXX", "TBD"]
        # Markers that are no word of any task: a note wherever they stand.
        alone = params.strings("alone") if "alone" in params.data else ["FIXME"]
        words = "|".join(re.escape(m) for m in sorted(markers, key=len, reverse=True))
        # The marker, an optional (author) or (#issue), a colon before a space.
        pattern = rf"(?<![\w-])(?:{words})(?:\([^()\n]{{0,40}}\))?:(?=\s|\Z)"
        # A marker alone on its line, or closing it after a sentence: "Answer. TODO".
        pattern += rf"|(?:^|(?<=[.!?] ))[ \t]*(?:[-*+][ \t]+)?(?:{words})[ \t]*$"
        if alone:
            pattern += r"|(?<![\w-])(?:" + "|".join(re.escape(m) for m in alone) + r")(?![\w-])"
        note = re.compile(pattern, re.MULTILINE)
        comment = re.compile(rf"(?:<!--)?[-+\s]*(?:{words})(?!\w)")
        return {"markers": tuple(markers), "note": note, "comment": comment}

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        for unit in units:
            if not any(marker in unit.source for marker in self.markers):
                continue  # most prompts: one substring search a marker, no pattern
            prose = unit.scoped(self.reads)[0]
            hits = [self._marker(m) for m in self.note.finditer(prose)]
            for found in re.finditer("<!--", prose):
                close = prose.find("-->", found.end())
                hits.extend(
                    self._comment(prose, found.start(), close if close >= 0 else len(prose))
                )
            for span in unit.jinja:
                if span.kind == "comment":
                    hits.extend(self._comment(unit.source, span.start + 2, span.end))
            for start, end in sorted(set(hits)):
                yield Hit(unit, start, end, unit.source[start:end], message=Message(M_NOTE))

    def _comment(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        found = self.comment.match(text, start, end)
        if found is None:
            return []
        marker = found.group().lstrip("<!-+ \t\r\n")
        return [(found.end() - len(marker), found.end())]

    @staticmethod
    def _marker(found: re.Match[str]) -> tuple[int, int]:
        # The finding is the marker word: "TODO", not "- TODO" or "TODO(ann):".
        word = re.search(r"\w+", found.group())
        if word is None:
            return found.span()
        return found.start() + word.start(), found.start() + word.end()


# ------------------------------------------------------------------ generic pronouns

M_PRONOUN = mark(
    'use "{fix}" instead of "{match}" for a person whose gender the prompt does not know'
)
_NEUTRAL = {
    "he": "they",
    "she": "they",
    "him": "them",
    "his": "their",
    "her": "their",
    "hers": "theirs",
    "himself": "themselves",
    "herself": "themselves",
}
_PRONOUNS = ("he", "she", "him", "his", "her", "hers", "himself", "herself")
_PRONOUN = re.compile(r"(?<!\w)(?:himself|herself|hers|her|him|his|he|she)(?!\w)", re.IGNORECASE)
_PAIRED = re.compile(
    r"\b(?:he|she|him|her|his|hers|himself|herself)\s*(?:/|\bor\b)\s*"
    r"(?:he|she|him|her|his|hers|himself|herself)\b",
    re.IGNORECASE,
)
_PREDICATE = re.compile(r"\b(?:is|was|are|were|as|be|becomes|became)\s+\Z")
_NAMED = re.compile(r",?[ \t]+(?!(?:He|She|His|Her|Him)\b)[A-Z][a-z]+")
# "her" is an object ("tell her.") before these, a possessive ("her account") otherwise.
_AFTER_OBJECT = re.compile(
    r"\s*(?:$|[^\w\s]|\b(?:a|an|the|to|that|about|and|or|if|when|with|for|in|on|at|"
    r"know|what|how|why|again|back|up|first)\b)",
    re.IGNORECASE,
)


def _inside(starts: Sequence[int], spans: Sequence[tuple[int, int]]) -> set[int]:
    """The offsets among ``starts`` (sorted) that fall in ``spans`` (sorted, disjoint)."""
    inside = set()
    for span_start, span_end in spans:
        index = bisect.bisect_left(starts, span_start)
        while index < len(starts) and starts[index] < span_end:
            inside.add(starts[index])
            index += 1
    return inside


@dataclass(frozen=True, kw_only=True)
class GenericPronouns(Builtin):
    """A gendered pronoun for a person the prompt does not know."""

    nouns: Pattern
    window: int

    check_name: ClassVar[str] = "generic-pronouns"
    default_reads = frozenset({"prose", "heading", "name"})
    param_keys = ("nouns", "anyone", "window")

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        nouns = params.strings("nouns")
        if not nouns:
            params.error(None, _t(E_NEEDS).format(what="nouns"))
            return None
        # Determiners, then nouns: a list of every phrase would be ten times as large.
        determiners = ("a", "an", "the", "each", "every", "any", "your", "our", "this", "that")
        names = words_pattern([re.escape(n) for n in nouns])
        singular = f"(?:{words_pattern(determiners)}){SPACES}(?:{names})"
        plural = f"(?:{words_pattern(('the', 'any', 'your', 'our'))}){SPACES}(?:{names})s"
        # "Someone", "anyone": a person unknown by definition, with no determiner.
        anyone = params.strings("anyone")
        alone = f"|{words_pattern([re.escape(w) for w in anyone])}" if anyone else ""
        pattern = params.regex(
            "nouns", f"{singular}|{plural}{alone}", ignorecase=True, bounded=True
        )
        if pattern is None:
            return None
        return {"nouns": pattern, "window": _bounded(params, "window", 150, 10, _MAX_WINDOW)}

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        for unit in units:
            prose = unit.scoped(self.reads)[0]
            nouns = list(self.nouns.finditer(unit, self.reads))
            if not nouns:
                continue
            pronouns = list(_PRONOUN.finditer(prose))
            if not pronouns:
                continue
            starts = [m.start() for m in pronouns]
            # "he or she", "his/her": another rule's business; never reported here.
            reported = _inside(starts, [m.span() for m in _PAIRED.finditer(prose)])
            described = first_person(prose)
            for noun in nouns:
                if (
                    _PREDICATE.search(prose, max(0, noun.start - 12), noun.start)
                    or _NAMED.match(prose, noun.end)
                    or described < noun.start
                ):
                    # "Maria is the manager", "the user Tom", "a woman … someone behind
                    # her": a known person
                    continue
                limit = noun.end + self.window
                blank = prose.find("\n\n", noun.end, limit)
                limit = blank if blank >= 0 else limit
                first = bisect.bisect_left(starts, noun.end)
                for found in pronouns[first : bisect.bisect_left(starts, limit)]:
                    start = found.start()
                    if start in reported or known_referent(prose, noun.end, start):
                        continue  # "a man walks in … he", "tell John his order shipped"
                    reported.add(start)
                    word = unit.source[start : found.end()]
                    neutral = _NEUTRAL[word.lower()]
                    if word.lower() == "her" and _AFTER_OBJECT.match(prose, found.end()):
                        neutral = "them"
                    fix = keep_case(word, neutral)
                    yield Hit(
                        unit,
                        start,
                        found.end(),
                        word,
                        fix=fix,
                        params={"fix": fix},
                        message=Message(M_PRONOUN),
                    )


# ------------------------------------------------------------------ language

M_LANGUAGE = mark("the text looks like {language}, but its locale is {locale}")


def _language_name(code: str) -> str:
    try:
        name = Locale.parse(code).get_display_name(current_locale())
    except (UnknownLocaleError, ValueError):
        return code
    return name or code


@dataclass(frozen=True, kw_only=True)
class Language(Builtin):
    """The prose is in the language of the declared locale."""

    min_words: int
    confidence: float

    check_name: ClassVar[str] = "language"
    param_keys = ("min_words", "confidence")

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        return {
            "min_words": params.integer("min_words", 8, 1) or 8,
            "confidence": params.fraction("confidence", 0.9),
        }

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        detected = doc.other_language(self.min_words, self.confidence)
        if detected is None:
            return
        yield Hit(
            units[0],
            0,
            0,
            detected.language,
            params={
                "language": _language_name(detected.language),
                "locale": _language_name(doc.locale.replace("-", "_")),
            },
            message=Message(M_LANGUAGE),
        )


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
