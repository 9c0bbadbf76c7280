"""Who may act in the salle des marchés: a consultation's buyers, a company's representatives.
Shared by every stage."""

from datetime import date

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from emegalis.adhesions.access import may_use, require_service
from emegalis.core.services_catalog import Service
from emegalis.organisations.models import Organisation, OrganisationKind, User
from emegalis.organisations.roles import Role


def buyer_organisations(user: User) -> QuerySet[Organisation]:
    """Organisations where the user holds the buyer role (active membership)."""
    if not user.is_authenticated:
        return Organisation.objects.none()
    return Organisation.objects.filter(
        memberships__user=user,
        memberships__is_active=True,
        memberships__roles__role=Role.ACHETEUR,
    ).distinct()


def is_buyer(user: User, organisation: Organisation | None) -> bool:
    if organisation is None or not user.is_authenticated:
        return False
    return buyer_organisations(user).filter(pk=organisation.pk).exists()


def may_publish(user: User, organisation: Organisation | None, on: date | None = None) -> bool:
    """A buyer of an organisation whose convention opens the service on that day."""
    return is_buyer(user, organisation) and may_use(organisation, Service.MARCHES, on)


def company_of(user: User, organisation: Organisation | None = None) -> Organisation | None:
    """The company the user acts for: the given (active) organisation if it is a company the
    user is an active member of, else the first company they are an active member of."""
    if not user.is_authenticated:
        return None
    companies = Organisation.objects.filter(
        kind=OrganisationKind.ENTREPRISE,
        memberships__user=user,
        memberships__is_active=True,
    )
    if (
        organisation is not None
        and organisation.kind == OrganisationKind.ENTREPRISE
        and companies.filter(pk=organisation.pk).exists()
    ):
        return organisation
    return companies.order_by("memberships__pk").first()


def pending_company_memberships(user: User):
    """Companies the user asked to join and whose representatives have not approved yet."""
    if not user.is_authenticated:
        return []
    return list(
        user.memberships.filter(is_active=False, organisation__kind=OrganisationKind.ENTREPRISE)
        .select_related("organisation")
        .order_by("pk")
    )


def require_buyer(user: User, organisation: Organisation) -> None:
    """Only buyers of an organisation whose convention opens « marchés » today may write."""
    if not is_buyer(user, organisation):
        raise PermissionDenied(
            f"Seuls les acheteurs de {organisation.name} peuvent gérer ses consultations."
        )
    require_service(organisation, Service.MARCHES)
