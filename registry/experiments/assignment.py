"""Deterministic assignment of subjects to arms; standard library only (the SDK uses it).

A subject (a user or session id) hashes with the experiment's salt into one of
:data:`BUCKETS` buckets; arm *i* owns ``weight_i * BUCKETS / 100`` consecutive buckets.
The same subject therefore lands in the same arm on every replica and every SDK, for as
long as the experiment lives, and a new experiment (a new salt) shuffles subjects anew.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Sequence

BUCKETS = 10_000
_PER_POINT = BUCKETS // 100
RESOLVE_ID_PREFIX = "rx1"
MAX_ID = 2**31 - 1


def bucket(salt: str, subject: str) -> int:
    """The bucket of ``subject`` in an experiment salted with ``salt``: 0 … BUCKETS - 1."""
    digest = hashlib.sha256(f"{salt}\x1f{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def arm_index(weights: Sequence[int], salt: str, subject: str) -> int:
    """Which arm (by position) ``subject`` gets, for integer weights summing to 100."""
    point = bucket(salt, subject)
    upper = 0
    for index, weight in enumerate(weights):
        upper += weight * _PER_POINT
        if point < upper:
            return index
    raise ValueError("weights must sum to 100")


def new_salt() -> str:
    return secrets.token_hex(8)


def resolve_id(experiment: int, subject: str) -> str:
    """A fresh id for one serving of an experiment to a subject.

    It carries the experiment and the subject, so feedback sent with it alone is
    attributed without the server having stored anything at serving time.
    """
    encoded = base64.urlsafe_b64encode(subject.encode()).decode().rstrip("=")
    return f"{RESOLVE_ID_PREFIX}.{experiment}.{encoded}.{secrets.token_hex(8)}"


def parse_resolve_id(value: str) -> tuple[int, str] | None:
    """The experiment and subject a resolve id was made for, or None if it is not one."""
    parts = value.split(".")
    if len(parts) != 4 or parts[0] != RESOLVE_ID_PREFIX:
        return None
    if not (parts[1].isascii() and parts[1].isdigit()):
        return None
    try:
        padded = parts[2] + "=" * (-len(parts[2]) % 4)
        subject = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    experiment = int(parts[1]) if len(parts[1]) <= 12 else 0
    # The same limits as a subject sent on its own: no NUL, at most 255 characters.
    if not 0 < experiment <= MAX_ID or not subject or len(subject) > 255 or "\x00" in subject:
        return None
    return experiment, subject
