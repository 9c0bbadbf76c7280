"""Who may act for an organisation in the groupements service."""

from django.core.exceptions import PermissionDenied

from emegalis.organisations.models import Organisation, User
from emegalis.organisations.roles import Role
from emegalis.organisations.selectors import roles_in

# The agents who run an organisation's part in a groupement: the coordinator's side and each
# member's needs. The référent alone signs the convention for the organisation.
MANAGER_ROLES = frozenset({Role.COORDINATEUR_GROUPEMENT, Role.REFERENT})


def may_manage(user: User, organisation: Organisation) -> bool:
    return user.is_authenticated and bool(roles_in(user, organisation) & MANAGER_ROLES)


def require_manager(user: User, organisation: Organisation) -> None:
    if not may_manage(user, organisation):
        raise PermissionDenied(
            f"Seuls le référent et les coordinateurs de groupement de {organisation.name} "
            "peuvent faire cela."
        )


def require_referent(
    user: User, organisation: Organisation, *, what: str = "la convention"
) -> None:
    if Role.REFERENT not in roles_in(user, organisation):
        raise PermissionDenied(f"Seul le référent de {organisation.name} signe {what} pour elle.")
