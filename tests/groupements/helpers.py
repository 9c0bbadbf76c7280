"""Builders for the groupements tests: organisations with the service open, their agents."""

from dataclasses import dataclass
from datetime import date, timedelta

from emegalis.core import clock
from emegalis.core.services_catalog import Service
from emegalis.groupements import services
from emegalis.organisations.models import Organisation, User
from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, make_convention, make_member

RECORD = {
    "object": "Fournitures de bureau",
    "kind": "ponctuel",
    "start_date": None,  # today, filled in by record()
    "end_date": date(2029, 6, 30),
    "missions": "procedure",
    "cao": "coordinateur",
    "cost_key": "egal",
    "fixed_part_percent": 0,
    "joining_rules": "",
    "withdrawal_rules": "",
}
ITEMS = "1 ; Papeterie ; Ramette A4 ; ramette ; 3,20\n1 ; Papeterie ; Stylos ; boîte ; 9,90\n"


def record(**changes) -> dict:
    return {**RECORD, "start_date": clock.today(), **changes}


@dataclass
class Side:
    organisation: Organisation
    coordinator: User  # holds the coordinateur de groupement role
    referent: User


def side(*services_open: str, name: str | None = None) -> Side:
    organisation = OrganisationFactory(**({"name": name} if name else {}))
    make_convention(organisation, list(services_open) or [Service.GROUPEMENTS])
    return Side(
        organisation=organisation,
        coordinator=make_member(organisation, Role.COORDINATEUR_GROUPEMENT),
        referent=make_member(organisation, Role.REFERENT),
    )


def sign(member: Side, groupement, **extra):
    return services.sign_convention(
        actor=member.referent,
        groupement=groupement,
        organisation=member.organisation,
        deliberation_date=clock.today() - timedelta(days=3),
        deliberation_number=extra.pop("number", "DEL-2026-12"),
        two_factor_verified=extra.pop("two_factor_verified", True),
        **extra,
    )


def constituted(coordinator: Side, *members: Side, **changes):
    groupement = services.create_groupement(
        actor=coordinator.coordinator, coordinator=coordinator.organisation, **record(**changes)
    )
    for member in members:
        services.add_member(
            actor=coordinator.coordinator, groupement=groupement, organisation=member.organisation
        )
    services.submit_for_signature(actor=coordinator.coordinator, groupement=groupement)
    for member in (coordinator, *members):
        sign(member, groupement)
    groupement.refresh_from_db()
    return groupement


def open_survey(coordinator: Side, groupement, items: str = ITEMS):
    return services.open_survey(
        actor=coordinator.coordinator,
        groupement=groupement,
        title="Recensement 2027",
        deadline=clock.now() + timedelta(days=10),
        items_text=items,
    )
