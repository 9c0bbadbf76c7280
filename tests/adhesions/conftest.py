from datetime import date
from decimal import Decimal

import pytest

from emegalis.adhesions import services
from emegalis.core.services_catalog import Service
from emegalis.organisations.models import OrganisationKind
from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, make_convention, make_member


@pytest.fixture
def agglo(db):
    return OrganisationFactory(
        name="Lorient Agglomération",
        kind=OrganisationKind.COMMUNAUTE_AGGLOMERATION,
        insee_nature="46",
        address="Esplanade du Péristyle",
        postcode="56100",
        city="Lorient",
    )


COMMUNE_NAMES = ["Lorient", "Plœmeur", "Lanester", "Quéven", "Larmor-Plage", "Hennebont"]


@pytest.fixture
def communes(agglo):
    return [OrganisationFactory(name=f"Commune de {name}", parent=agglo) for name in COMMUNE_NAMES]


@pytest.fixture
def commune_a(communes):
    return communes[0]


@pytest.fixture
def commune_b(communes):
    return communes[1]


@pytest.fixture
def agent_a(commune_a):
    return make_member(commune_a, Role.ACHETEUR)


@pytest.fixture
def convention_a(commune_a):
    return make_convention(
        commune_a, [Service.MARCHES, Service.ACTES], start=date(2025, 1, 1), end=date(2029, 12, 31)
    )


@pytest.fixture
def agglo_call(staff, agglo, communes):
    """The agglomeration's 2026 call, covering itself and its communes."""
    services.create_contribution(
        actor=staff,
        payer=agglo,
        year=2026,
        amount_ht=Decimal("3000"),
        beneficiaries=[agglo, *communes],
        label="Contribution mutualisée 2026",
    )
    [call] = services.generate_calls(actor=staff, year=2026, issued_on=date(2026, 1, 5))
    return call
