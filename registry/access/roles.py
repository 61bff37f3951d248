"""Roles, the permissions they grant, and the principal a request acts as."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from registry.errors import Forbidden
from registry.locales.messages import _
from registry.locales.tags import fallback_chain


class Role(StrEnum):
    READER = "reader"
    TRANSLATOR = "translator"
    EDITOR = "editor"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class Permission(StrEnum):
    READ = "read"
    TRANSLATE = "translate"
    PUBLISH = "publish"
    REVIEW = "review"
    ADMIN = "admin"


# Each role includes everything the one before it may do.
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.READER: frozenset({Permission.READ}),
    Role.TRANSLATOR: frozenset({Permission.READ, Permission.TRANSLATE}),
    Role.EDITOR: frozenset({Permission.READ, Permission.TRANSLATE, Permission.PUBLISH}),
    Role.REVIEWER: frozenset(
        {Permission.READ, Permission.TRANSLATE, Permission.PUBLISH, Permission.REVIEW}
    ),
    Role.ADMIN: frozenset(Permission),
}

# The least role holding each permission, named in refusals.
LEAST_ROLE: dict[Permission, Role] = {
    permission: next(role for role in Role if permission in GRANTS[role])
    for permission in Permission
}


def writes_locale(locales: Iterable[str], locale: str) -> bool:
    """Whether a translator key for ``locales`` (canonical) writes ``locale`` (canonical).

    A key for a language writes its regional variants too (``fr`` writes ``fr_CA``,
    ``es`` writes ``es_MX`` through ``es_419``), following CLDR's parents within the same
    language, so never another script (``zh`` does not write ``zh_Hant_TW``). A key that
    names regions of a language (``fr_CA``) writes only the ones it names.
    """
    listed = set(locales)
    if locale in listed:
        return True
    language = locale.split("_")[0]
    for parent in fallback_chain(locale, locale)[1:]:
        if parent.split("_")[0] != language:
            return False
        if parent in listed:
            # The nearest listed parent, unless the key names a narrower locale under it.
            return not any(
                other != parent and parent in fallback_chain(other, other)[1:] for other in listed
            )
    return False


def within(name: str, folders: Iterable[str]) -> bool:
    """Whether a prompt (or a folder, ending in ``/``) lies in one of ``folders``."""
    return any(name.startswith(folder) for folder in folders)


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the key's id, owner, role, folders and locales.

    ``folders`` limits everything the key does to the prompts under them (None: every
    prompt). ``read_folders`` are folders it may also read, but not change: a component
    shared by many folders (``shared/``) is read by keys of each through includes, and
    changed only by keys whose ``folders`` hold it. Nothing outside both is revealed to
    the key, directly or through an include, an error message or a list.
    """

    key_id: int | None
    owner: str
    role: Role
    folders: tuple[str, ...] | None = None
    read_folders: tuple[str, ...] = ()
    locales: tuple[str, ...] = ()

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    @property
    def readable(self) -> tuple[str, ...] | None:
        """The folders whose prompts the key may read; None: every prompt."""
        if self.folders is None:
            return None
        return self.folders + self.read_folders

    def may_read(self, name: str) -> bool:
        """Whether the key may see prompt ``name`` (or a folder, ending in ``/``)."""
        readable = self.readable
        return readable is None or within(name, readable)

    def may_see_path(self, path: str) -> bool:
        """Whether a policy or binding for ``path`` concerns the key: every prompt
        (``""``), a folder or prompt it may read, or a folder holding one of its own."""
        readable = self.readable
        if readable is None or path == "" or within(path, readable):
            return True
        return path.endswith("/") and any(folder.startswith(path) for folder in readable)

    @property
    def translatable(self) -> tuple[str, ...] | None:
        """The folders whose translations the key's queue and PO export hold: those it
        may change if it may translate (a file of prompts it only reads could not be
        imported back), else those it may read. None: every prompt."""
        return self.folders if self.can(Permission.TRANSLATE) else self.readable

    def may_change(self, name: str) -> bool:
        """Whether the key's role applies to prompt ``name``, beyond reading it."""
        return self.folders is None or within(name, self.folders)

    def may_translate(self, locale: str) -> bool:
        """Translators write only their key's locales (see :func:`writes_locale`); editors
        and above write any."""
        if not self.can(Permission.TRANSLATE):
            return False
        return self.role is not Role.TRANSLATOR or writes_locale(self.locales, locale)

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(
                _(
                    "keys with the {role} role may not do this; it needs the {needed} role or above"
                ).format(role=self.role.value, needed=LEAST_ROLE[permission].value)
            )

    def require_scope(self, name: str, *, change: bool = False) -> None:
        """Refuse (403) a prompt the key may not read, or with ``change``, not change."""
        refusal = self.scope_refusal(name, change=change)
        if refusal is not None:
            raise refusal

    def scope_refusal(self, name: str, *, change: bool = False) -> Forbidden | None:
        """The 403 for a prompt the key may not read (or change); None if it may.

        It names only what the caller named, so it never tells whether a prompt outside
        the key's folders exists.
        """
        if self.may_change(name) if change else self.may_read(name):
            return None
        if change and self.may_read(name):
            return Forbidden(
                _(
                    "this key may only read {name}; its role applies to the folders {folders}"
                ).format(name=repr(name), folders=self.describe_folders())
            )
        return Forbidden(
            _("this key is limited to the folders {folders}; {name} lies outside them").format(
                folders=self.describe_folders(), name=repr(name)
            )
        )

    def describe_folders(self) -> str:
        """The key's folders as a refusal names them: ``'support/', 'shared/' (read)``."""
        if self.folders is None:
            return "*"
        named = [repr(folder) for folder in self.folders]
        named += [_("{folder} (read only)").format(folder=repr(f)) for f in self.read_folders]
        return ", ".join(named)

    def require_locale(self, locale: str) -> None:
        self.require(Permission.TRANSLATE)
        if not self.may_translate(locale):
            raise Forbidden(
                _("this key may translate only into {locales}, not {locale}").format(
                    locales=", ".join(self.locales) or "-", locale=locale
                )
            )


# What services record when they run outside a request (CLI against the database, seeding).
SYSTEM = Principal(key_id=None, owner="system", role=Role.ADMIN)
