"""Who may do what in the collaboratif service."""

from django.core.exceptions import PermissionDenied

from emegalis.adhesions.access import may_use
from emegalis.core.services_catalog import Service
from emegalis.organisations.models import Organisation, User
from emegalis.organisations.roles import Role as PlatformRole
from emegalis.organisations.selectors import roles_in

from .models import Member, Role, Workspace

CREATOR_ROLES = frozenset({PlatformRole.MEMBRE_COLLABORATIF, PlatformRole.REFERENT})
WRITERS = frozenset({Role.ADMINISTRATEUR, Role.CONTRIBUTEUR})


def is_agent(user: User, organisation: Organisation) -> bool:
    return user.memberships.filter(organisation=organisation, is_active=True).exists()


def require_service_open(organisation: Organisation) -> None:
    if not may_use(organisation, Service.COLLABORATIF):
        raise PermissionDenied(
            f"{organisation.name} n'a pas le service « Outils collaboratifs » ouvert par sa "
            "convention."
        )


def require_creator(user: User, organisation: Organisation) -> None:
    require_service_open(organisation)
    if not roles_in(user, organisation) & CREATOR_ROLES:
        raise PermissionDenied(
            "Seuls le référent et les membres d'espace collaboratif de votre organisation créent "
            "un espace de travail."
        )


def membership(user: User, workspace: Workspace) -> Member | None:
    if not user.is_authenticated:
        return None
    return workspace.members.filter(user=user).first()


def require_member(user: User, workspace: Workspace) -> Member:
    member = membership(user, workspace)
    if member is None:
        raise PermissionDenied("Vous n'êtes pas membre de cet espace.")
    return member


def require_admin(user: User, workspace: Workspace) -> Member:
    member = require_member(user, workspace)
    if member.role != Role.ADMINISTRATEUR:
        raise PermissionDenied("Seuls les administrateurs de l'espace peuvent faire cela.")
    return member


def require_writer(user: User, workspace: Workspace) -> Member:
    member = require_member(user, workspace)
    if workspace.archived_at is not None:
        raise PermissionDenied("Cet espace est archivé : il est en lecture seule.")
    if member.role not in WRITERS:
        raise PermissionDenied("Votre rôle de lecteur ne permet pas de modifier cet espace.")
    return member
