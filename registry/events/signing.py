"""Signatures of the Standard Webhooks specification (https://www.standardwebhooks.com).

Written here rather than taken from the ``standardwebhooks`` package: signing is one
HMAC, and the tests verify these signatures with that package, an implementation that
is not ours.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
# 32 random bytes: the size of the HMAC-SHA256 key, and within the 24 to 64 the
# specification asks for.
SECRET_BYTES = 32


def new_secret() -> str:
    """A signing secret as receivers configure it: ``whsec_`` and base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,`` and the base64 HMAC-SHA256 of ``id.timestamp.body`` under the secret."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one post: the same id on every attempt, the attempt's own time."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
    }
