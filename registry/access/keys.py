"""Creating, listing, revoking and checking API keys.

A key reads ``rk_<prefix>_<secret>``. The prefix is stored as it is and identifies the
key in lists and logs; the secret is stored only as a salted SHA-256 hash. Secrets are
256 random bits, so a fast hash is enough: nobody can guess one to compare against.

Every request looks its key up again (one indexed query), so a revoked or expired key is
refused at once by every process, with no cache to outlive the revocation. The lookup
reads the columns it needs as a plain row: loading the key as an ORM object cost more
than the rest of the check.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import string
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from registry.access import audit
from registry.access.models import ApiKey
from registry.access.roles import Principal, Role, within
from registry.access.schemas import Key, KeyCreate, KeyCreated
from registry.db import PreparedRead, Reads, utcnow
from registry.errors import ErrorItem, InvalidInput, NotFound, Unauthorized
from registry.inputs import MAX_INTEGER
from registry.locales.messages import _
from registry.locales.tags import LocaleError, canonical_locale

log = logging.getLogger("registry.access")

TOKEN_START = "rk_"
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
# How stale ``last_used_at`` may get before a request writes it again.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def create_key(session: Session, data: KeyCreate, *, created_by: str) -> KeyCreated:
    """Store a new key and return it with its token, which is never shown again."""
    role = Role(data.role)
    folders, read_folders = _folders(data, role)
    locales = _locales(data.locales, role)
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(10))
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    key = ApiKey(
        prefix=f"{TOKEN_START}{prefix}",
        salt=salt,
        secret_hash=_hash(salt, secret),
        owner=data.owner,
        description=data.description,
        role=role.value,
        folders=folders,
        read_folders=read_folders,
        locales=locales,
        created_at=utcnow(),
        created_by=created_by,
        expires_at=data.expires_at,
    )
    session.add(key)
    session.flush()
    schema = key_schema(key)
    audit.record(session, "key.create", target=key.prefix, after=schema.model_dump(mode="json"))
    return KeyCreated(**schema.model_dump(), token=f"{key.prefix}_{secret}")


def _folders(data: KeyCreate, role: Role) -> tuple[list[str] | None, list[str]]:
    """The key's folders (None: every prompt) and read-only folders, as stored."""
    if data.folder is not None and data.folders is not None:
        raise InvalidInput(
            _("give folders or folder, not both"),
            [ErrorItem(loc=("body", "folder"), message=_("list it in folders instead"))],
        )
    given = data.folders if data.folder is None else [data.folder]
    field = "folder" if data.folder is not None else "folders"
    if given is None:
        if data.read_folders:
            raise InvalidInput(
                _("a key that may read every prompt needs no read_folders"),
                [
                    ErrorItem(
                        loc=("body", "read_folders"),
                        message=_("leave it out, or limit the key with folders"),
                    )
                ],
            )
        return None, []
    if role is Role.ADMIN:
        raise InvalidInput(
            _("an admin key cannot be limited to a folder"),
            [ErrorItem(loc=("body", field), message=_("leave it out, or choose another role"))],
        )
    folders = _normalized(given)
    # A read-only folder inside one the key already changes adds nothing.
    read_folders = [f for f in _normalized(data.read_folders) if not within(f, folders)]
    return folders, read_folders


def _normalized(folders: list[str]) -> list[str]:
    """Folders ending in ``/``, without one that lies inside another, sorted."""
    unique = sorted({folder.strip("/") + "/" for folder in folders})
    return [f for f in unique if not within(f, [o for o in unique if o != f])]


def _locales(locales: list[str], role: Role) -> list[str]:
    if role is not Role.TRANSLATOR:
        if locales:
            raise InvalidInput(
                _("only translator keys are limited to locales"),
                [ErrorItem(loc=("body", "locales"), message=_("leave it out for this role"))],
            )
        return []
    if not locales:
        raise InvalidInput(
            _("a translator key needs the locales it may translate into"),
            [ErrorItem(loc=("body", "locales"), message=_("list at least one locale"))],
        )
    canonical: list[str] = []
    for index, tag in enumerate(locales):
        try:
            canonical.append(canonical_locale(tag))
        except LocaleError as exc:
            raise InvalidInput(
                str(exc), [ErrorItem(loc=("body", "locales", index), message=str(exc))]
            ) from None
    return sorted(set(canonical))


def key_schema(key: ApiKey) -> Key:
    return Key(
        id=key.id,
        prefix=key.prefix,
        owner=key.owner,
        description=key.description,
        role=Role(key.role),
        folders=None if key.folders is None else list(key.folders),
        read_folders=list(key.read_folders),
        locales=list(key.locales),
        created_at=key.created_at,
        created_by=key.created_by,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def list_keys(session: Session, *, include_revoked: bool = False) -> list[Key]:
    query = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return [key_schema(key) for key in session.scalars(query)]


def _find(session: Session, ident: str) -> ApiKey:
    """A key by its id or its prefix."""
    query = select(ApiKey)
    if ident.isdigit():
        if int(ident) > MAX_INTEGER:  # no such id, and past what the store can compare
            raise NotFound(_("there is no key {key}").format(key=repr(ident)))
        query = query.where(ApiKey.id == int(ident))
    else:
        query = query.where(ApiKey.prefix == ident)
    key = session.scalars(query).one_or_none()
    if key is None:
        raise NotFound(_("there is no key {key}").format(key=repr(ident)))
    return key


def get_key(session: Session, ident: str) -> Key:
    return key_schema(_find(session, ident))


def revoke_key(session: Session, ident: str) -> Key:
    """Revoke a key; it is refused from the next request on. Revoking twice is a no-op."""
    key = _find(session, ident)
    if key.revoked_at is None:
        before = key_schema(key).model_dump(mode="json")
        key.revoked_at = utcnow()
        session.flush()
        after = key_schema(key).model_dump(mode="json")
        audit.record(session, "key.revoke", target=key.prefix, before=before, after=after)
    return key_schema(key)


# The columns a request's key check reads, by the key's unique prefix: a Core statement
# on the table, which the session runs without the ORM's loading machinery.
_KEYS = ApiKey.__table__.c
LOOKUP = select(
    _KEYS.id,
    _KEYS.salt,
    _KEYS.secret_hash,
    _KEYS.owner,
    _KEYS.role,
    _KEYS.folders,
    _KEYS.read_folders,
    _KEYS.locales,
    _KEYS.expires_at,
    _KEYS.last_used_at,
    _KEYS.revoked_at,
).where(_KEYS.prefix == bindparam("prefix"))


@dataclass(frozen=True)
class Checked:
    """A verified key: who it acts as, and whether its last use needs writing."""

    principal: Principal
    last_used_at: datetime | None


def parse_token(token: str) -> tuple[str, str]:
    """A bearer token's prefix and secret, without looking anything up; 401 if malformed."""
    token = token.strip()
    # The prefix has no "_"; the secret may.
    head, sep, secret = token.removeprefix(TOKEN_START).partition("_")
    if not token.startswith(TOKEN_START) or not sep or not head or not secret:
        raise Unauthorized(
            _("the API key is malformed; it reads rk_<prefix>_<secret>, as it was shown")
        )
    return TOKEN_START + head, secret


# Every request runs it: compiled once and run on the session's DBAPI connection.
_LOOKUP = PreparedRead(lambda: LOOKUP)


def check_token(reads: Session | Reads, token: str, *, now: datetime | None = None) -> Checked:
    """The principal a bearer token acts as; 401 if malformed, unknown, revoked or expired.

    Read in a session's transaction, or on single-statement reads (``Database.reads``)."""
    prefix, secret = parse_token(token)
    key = _LOOKUP.first(reads, prefix=prefix)
    return verify(key, prefix, secret, now=now)


def verify(key: Any | None, prefix: str, secret: str, *, now: datetime | None = None) -> Checked:
    """Check a parsed token against its key's ``LOOKUP`` row (None: no such key)."""
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(key.salt, secret)):
        raise Unauthorized(_("the API key is not known to this registry"))
    return _usable(key, prefix, now=now)


# A key by its id: the web console's session proved the secret when it signed in.
LOOKUP_BY_ID = select(_KEYS.prefix, *LOOKUP.selected_columns).where(_KEYS.id == bindparam("key_id"))


def check_key_id(session: Session, key_id: int, *, now: datetime | None = None) -> Checked:
    """The principal of a key known by id; 401 if it is gone, revoked or expired."""
    key = session.execute(LOOKUP_BY_ID, {"key_id": key_id}).one_or_none()
    if key is None:
        raise Unauthorized(_("the API key is not known to this registry"))
    return _usable(key, key.prefix, now=now)


def _usable(key: Any, prefix: str, *, now: datetime | None) -> Checked:
    """A found key's principal, unless it was revoked or has expired (401)."""
    now = now or utcnow()
    if key.revoked_at is not None:
        raise Unauthorized(_("the API key {prefix} was revoked").format(prefix=prefix))
    if key.expires_at is not None and key.expires_at <= now:
        raise Unauthorized(_("the API key {prefix} has expired").format(prefix=prefix))
    principal = Principal(
        key_id=key.id,
        owner=key.owner,
        role=Role(key.role),
        folders=None if key.folders is None else tuple(key.folders),
        read_folders=tuple(key.read_folders),
        locales=tuple(key.locales),
    )
    return Checked(principal, key.last_used_at)


SessionOpener = Callable[[], AbstractContextManager[Session]]


def use_to_record(last_used_at: datetime | None, *, now: datetime | None = None) -> bool:
    """Whether a key last recorded as used at ``last_used_at`` has a use to record now."""
    return last_used_at is None or (now or utcnow()) - last_used_at >= LAST_USED_RESOLUTION


def touch(open_session: SessionOpener, key_id: int, last_used_at: datetime | None) -> None:
    """Record a key's use, at most once per ``LAST_USED_RESOLUTION``, in its own commit.

    Best effort: a busy database must not fail the request the key was used for.
    """
    now = utcnow()
    if not use_to_record(last_used_at, now=now):
        return
    try:
        with open_session() as session:
            session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
    except OperationalError as exc:
        log.info("could not record the use of key %s: %s", key_id, exc.orig)
