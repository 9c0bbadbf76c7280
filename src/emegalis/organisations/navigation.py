"""The main navigation, built from what the person may actually open: a link is offered only
if it leads to a page their organisation's convention and their roles let them see."""

from django.conf import settings
from django.urls import reverse

from emegalis.core import service_access
from emegalis.core.services_catalog import Service

from .models import OrganisationKind
from .roles import Role

# Services whose pages need one of these roles on top of the convention.
SERVICE_ROLES: dict[str, frozenset[str]] = {
    Service.ACTES: frozenset({Role.AGENT_ACTES}),
}


def may_open(service: str, enabled: frozenset[str], roles: frozenset[str]) -> bool:
    required = SERVICE_ROLES.get(service)
    return service in enabled and (required is None or bool(required & roles))


def enabled_services(request) -> frozenset[str]:
    """The services the active organisation's conventions open, read once per request (the
    menu is on every page, the dashboard asks again)."""
    if not hasattr(request, "_enabled_services"):
        organisation = getattr(request, "organisation", None)
        request._enabled_services = (
            service_access.enabled_services(organisation) if organisation else frozenset()
        )
    return request._enabled_services


def is_company(organisation) -> bool:
    return organisation is not None and organisation.kind == OrganisationKind.ENTREPRISE


def main_links(request) -> list[tuple[str, str]]:
    """(label, url) of the main menu for this request."""
    user = request.user
    links = []
    if user.is_authenticated:
        organisation = getattr(request, "organisation", None)
        roles = getattr(request, "roles", frozenset())
        links.append(("Tableau de bord", reverse("dashboard")))
        if is_company(organisation):
            links.append(("Mon entreprise", reverse("marches_company")))
            links.append(("Mes dépôts", reverse("marches_company") + "#depots"))
        elif organisation is not None:
            links.append(
                ("Mon organisation", reverse("organisation_detail", args=[organisation.pk]))
            )
            enabled = enabled_services(request)
            if Service.MARCHES in enabled and roles & {
                Role.ACHETEUR,
                Role.REFERENT,
                Role.COORDINATEUR_GROUPEMENT,
            }:
                links.append(("Mes consultations", reverse("marches_buyer_home")))
            if may_open(Service.ACTES, enabled, roles):
                links.append(("Actes", reverse("actes_home")))
            if Role.COMMISSION in roles:
                links.append(("Commission d'ouverture", reverse("marches_commission_home")))
        if Role.AGENT_PREFECTURE in roles and settings.PREFECTURE_COUNTERPART_ENABLED:
            links.append(("Préfecture", reverse("prefecture_home")))
        if user.is_platform_staff:
            links += [
                ("Membres", reverse("operator_members")),
                ("Contributions", reverse("operator_contributions")),
                ("Journal", reverse("operator_journal")),
                ("Retours @CTES", reverse("actes_unexpected")),
            ]
        links.append(("Mon compte", reverse("account_security")))
    links.append(("Consultations", reverse("marches_search")))
    links.append(("Aide", reverse("help_index")))
    return links
