"""Who is asking: an organisation's key, a console user, or the person themselves."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from shareguard.errors import Forbidden


@dataclass(frozen=True)
class Principal:
    organisation_id: uuid.UUID | None
    user_id: uuid.UUID | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    api_key_id: uuid.UUID | None = None
    #: Agreements an API key is limited to; None means all of its organisation's.
    agreement_scope: frozenset[uuid.UUID] | None = None
    #: A partner's machine client (OAuth client credentials), for an access token it holds.
    client_key_id: uuid.UUID | None = None
    #: Set only in the person-facing service: the person signed in.
    person_id: uuid.UUID | None = None

    @property
    def is_partner(self) -> bool:
        """An organisation acting through a key without staff roles."""
        return not (self.roles - {"partner_user"})

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def require(self, *roles: str) -> None:
        """Raise Forbidden unless the principal holds one of ``roles``."""
        if not self.has(*roles):
            raise Forbidden(f"this needs one of the roles: {', '.join(sorted(roles))}")

    def may_act_under(self, agreement_id: uuid.UUID) -> bool:
        return self.agreement_scope is None or agreement_id in self.agreement_scope
