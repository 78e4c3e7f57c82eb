"""The authenticated account and the actor an audit row names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from fleet_server.access.scope import Scope
from fleet_server.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change and from where: what an audit row records."""

    username: str
    user_id: int | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    full_name: str
    role: str
    organisation_id: int | None
    team: str | None
    language: str
    #: Sites given to this account one by one (user_sites).
    site_ids: tuple[int, ...] = ()
    #: Admins and the provincial department see every site.
    province_wide: bool = False
    via: Literal["bearer", "session"] = "bearer"
    token_id: int = 0
    csrf_token: str | None = None
    capabilities: frozenset[str] = field(default_factory=frozenset)

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def need(self, capability: str) -> None:
        """Raise :class:`Forbidden` unless this account has ``capability``."""
        if capability not in self.capabilities:
            raise Forbidden(f"the {self.role} role may not do this ({capability})")

    @property
    def actor(self) -> str:
        return self.username

    @property
    def scope(self) -> Scope:
        return Scope.of(
            self.role,
            username=self.username,
            organisation_id=self.organisation_id,
            team=self.team,
            site_ids=self.site_ids,
            province_wide=self.province_wide,
        )

    def acting_from(self, address: str | None) -> Actor:
        """This account as the actor of a change made from ``address``."""
        return Actor(username=self.username, user_id=self.user_id, address=address)
