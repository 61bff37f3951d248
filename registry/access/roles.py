"""Roles, the permissions they grant, and the principal a request acts as."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from registry.errors import Forbidden
from registry.i18n.messages import _


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


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the key's id, owner, role, folder and locales."""

    key_id: int | None
    owner: str
    role: Role
    folder: str | None = None
    locales: tuple[str, ...] = ()

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def in_scope(self, name: str) -> bool:
        """Whether a prompt (or folder, ending in ``/``) lies in the key's folder."""
        return self.folder is None or name.startswith(self.folder)

    def may_translate(self, locale: str) -> bool:
        """Translators write only their key's locales; editors and above write any."""
        if not self.can(Permission.TRANSLATE):
            return False
        return self.role is not Role.TRANSLATOR or locale in self.locales

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(
                _(
                    "keys with the {role} role may not do this; it needs the {needed} role or above"
                ).format(role=self.role.value, needed=LEAST_ROLE[permission].value)
            )

    def require_scope(self, name: str) -> None:
        if not self.in_scope(name):
            raise Forbidden(
                _("this key is limited to the folder {folder}; {name} lies outside it").format(
                    folder=repr(self.folder), name=repr(name)
                )
            )

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
