"""Who may act in the contrôle de légalité: the agents « actes » of an organisation whose
convention opens the service."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from emegalis.adhesions.access import require_service
from emegalis.core.services_catalog import Service
from emegalis.organisations.models import Organisation, User
from emegalis.organisations.roles import Role
from emegalis.organisations.selectors import roles_in


def is_agent(user: User, organisation: Organisation | None) -> bool:
    if organisation is None or not user.is_authenticated:
        return False
    return Role.AGENT_ACTES in roles_in(user, organisation)


def require_agent(user: User, organisation: Organisation | None) -> None:
    """Only the agents actes of an organisation whose convention opens « actes » may act."""
    if organisation is None or not is_agent(user, organisation):
        raise PermissionDenied(
            "Seuls les agents « actes » de la collectivité peuvent transmettre ses actes."
        )
    require_service(organisation, Service.ACTES)
