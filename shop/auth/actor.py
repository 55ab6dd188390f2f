"""Who is acting: a user and their role grants. Plain data, so services stay free of Flask."""

from __future__ import annotations

from dataclasses import dataclass, field

from shop.auth.models import Role
from shop.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    user_id: int
    grants: frozenset[tuple[Role, int]] = field(default_factory=frozenset)

    def has(self, role: Role, scope_id: int | None = None) -> bool:
        if scope_id is None:
            return any(r == role for r, _ in self.grants)
        return (role, scope_id) in self.grants

    def scopes(self, role: Role) -> set[int]:
        return {scope for r, scope in self.grants if r == role}

    @property
    def is_admin(self) -> bool:
        return self.has(Role.ADMIN)

    def require(self, *roles: Role) -> None:
        """Refuse unless the actor holds one of `roles` (any scope) or is an admin."""
        if self.is_admin or any(self.has(role) for role in roles):
            return
        raise Forbidden(required_roles=[r.value for r in roles])
