"""``secrets``: API keys, private keys, passwords in assignments, high-entropy text."""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from registry.style.builtin.base import Builtin
from registry.style.document import Document
from registry.style.i18n import Message, mark, translate
from registry.style.rules.base import Hit, Spec
from registry.style.rules.patterns import Pattern
from registry.style.text import Unit

__all__ = ["Secrets"]

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
                params={"kind": translate(kind), "match": shown},
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
