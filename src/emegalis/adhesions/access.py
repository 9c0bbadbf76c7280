"""The one access rule: may an organisation's agents use a service on a given date?

An organisation may use service X on date D only if one of its own conventions is in force
on D — D within the convention's period and the convention's status on D is « adhérent » —
and that convention enables X. Every service, page and API asks here.
"""

from datetime import date

from django.core.exceptions import PermissionDenied

from emegalis.core import clock
from emegalis.core.services_catalog import Service
from emegalis.organisations.models import Organisation

from .models import Convention, ConventionStatus


class ServiceNotEnabled(PermissionDenied):
    def __init__(self, organisation: Organisation | None, service: str):
        label = Service(service).label
        who = organisation.name if organisation else "Votre organisation"
        super().__init__(
            f"{who} n'a pas accès au service « {label} » : aucune convention en vigueur ne "
            "l'ouvre. Contactez votre référent ou le syndicat."
        )
        self.organisation = organisation
        self.service = service


def status_on(convention: Convention, on: date) -> str | None:
    """The convention's status on a date, from its dated history (None before any)."""
    status = None
    for change in convention.status_changes.all():  # ordered by effective date
        if change.effective_on <= on:
            status = change.status
        else:
            break
    return status


def conventions_in_force(organisation: Organisation, on: date | None = None) -> list[Convention]:
    on = on or clock.today()
    candidates = (
        Convention.objects.filter(organisation=organisation, start_date__lte=on)
        .exclude(end_date__lt=on)
        .prefetch_related("status_changes", "enabled_services")
    )
    return [c for c in candidates if status_on(c, on) == ConventionStatus.ADHERENT]


def enabled_services(organisation: Organisation | None, on: date | None = None) -> frozenset[str]:
    if organisation is None:
        return frozenset()
    return frozenset(s for c in conventions_in_force(organisation, on) for s in c.services)


def may_use(organisation: Organisation | None, service: str, on: date | None = None) -> bool:
    return service in enabled_services(organisation, on)


def require_service(organisation: Organisation | None, service: str, on: date | None = None):
    if not may_use(organisation, service, on):
        raise ServiceNotEnabled(organisation, service)
