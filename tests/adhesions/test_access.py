"""The access rule seen from outside: a service page opens only under a convention in force."""

from datetime import date, timedelta

import pytest

from emegalis.adhesions import access, services
from emegalis.adhesions.models import ConventionStatus
from emegalis.core import clock
from emegalis.core.services_catalog import Service
from tests.factories import make_convention

pytestmark = pytest.mark.django_db


def test_service_page_opens_when_a_convention_in_force_enables_it(login, agent_a, commune_a):
    make_convention(commune_a, [Service.MARCHES], start=date(2020, 1, 1), end=None)
    client = login(agent_a)
    assert client.get("/services/marches/", follow=True).status_code == 200


def test_service_page_refused_when_service_not_enabled(login, agent_a, commune_a):
    make_convention(commune_a, [Service.ACTES], start=date(2020, 1, 1), end=None)
    client = login(agent_a)
    response = client.get("/services/marches/")
    assert response.status_code == 403
    assert "Salle des marchés" in response.content.decode()


def test_service_page_refused_when_convention_resiliee(login, staff, agent_a, commune_a):
    today = clock.today()
    convention = make_convention(
        commune_a, [Service.MARCHES], start=today - timedelta(days=400), end=None
    )
    client = login(agent_a)
    assert client.get("/services/marches/", follow=True).status_code == 200
    services.change_convention_status(
        actor=staff,
        convention=convention,
        status=ConventionStatus.RESILIE,
        effective_on=today,
        note="Délibération de retrait",
    )
    assert client.get("/services/marches/").status_code == 403


def test_service_page_refused_before_start_and_after_end(login, agent_a, commune_a):
    today = clock.today()
    client = login(agent_a)
    future = make_convention(
        commune_a, [Service.MARCHES], start=today + timedelta(days=1), end=None
    )
    assert client.get("/services/marches/").status_code == 403
    future.delete()
    make_convention(
        commune_a,
        [Service.MARCHES],
        start=today - timedelta(days=365),
        end=today - timedelta(days=1),
    )
    assert client.get("/services/marches/").status_code == 403


def test_service_page_refused_without_any_convention(login, agent_a):
    client = login(agent_a)
    assert client.get("/services/marches/").status_code == 403


def test_enabled_services_follow_the_dated_status_history(staff, commune_a):
    convention = services.create_convention(
        actor=staff,
        organisation=commune_a,
        kind="charte",
        reference="CH-2025-001",
        start_date=date(2025, 1, 1),
        end_date=date(2029, 12, 31),
        services=[Service.MARCHES, Service.ACTES],
        deliberation_reference="DEL-2024-12",
    )
    for status, on in [
        (ConventionStatus.EN_COURS, date(2025, 1, 1)),
        (ConventionStatus.ADHERENT, date(2025, 3, 1)),
        (ConventionStatus.RESILIE, date(2027, 7, 1)),
    ]:
        services.change_convention_status(
            actor=staff, convention=convention, status=status, effective_on=on
        )
    both = {Service.MARCHES, Service.ACTES}
    assert access.enabled_services(commune_a, date(2024, 12, 31)) == frozenset()
    assert access.enabled_services(commune_a, date(2025, 2, 28)) == frozenset()
    assert access.enabled_services(commune_a, date(2025, 3, 1)) == both
    assert access.enabled_services(commune_a, date(2027, 6, 30)) == both
    assert access.enabled_services(commune_a, date(2027, 7, 1)) == frozenset()
    assert access.status_on(convention, date(2026, 1, 1)) == ConventionStatus.ADHERENT
    assert access.status_on(convention, date(2027, 7, 1)) == ConventionStatus.RESILIE


def test_another_organisations_convention_opens_nothing(login, agent_a, commune_b):
    make_convention(commune_b, [Service.MARCHES], start=date(2020, 1, 1), end=None)
    client = login(agent_a)
    assert client.get("/services/marches/").status_code == 403
