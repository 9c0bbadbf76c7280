"""Operator forms that create conventions and contributions and edit services."""

import re
from decimal import Decimal

import pytest

from emegalis.adhesions.models import Contribution, Convention
from emegalis.core.services_catalog import Service
from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, make_convention, make_member

pytestmark = pytest.mark.django_db


def test_operator_creates_a_convention(staff_client, commune_a):
    url = f"/operateur/membres/{commune_a.pk}/conventions/nouvelle/"
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(
        url,
        {
            "kind": "charte",
            "reference": "CH-2026-014",
            "start_date": "01/01/2026",
            "end_date": "31/12/2029",
            "deliberation_reference": "DEL-2025-88",
            "services": ["marches", "actes"],
        },
    )
    assert response.status_code == 302
    convention = Convention.objects.get(reference="CH-2026-014")
    assert convention.organisation == commune_a
    assert convention.current_status == "prospect"
    assert sorted(convention.services) == ["actes", "marches"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "x", "reference": "R", "start_date": "2026-01-01"}, "Sélectionnez un choix"),
        ({"kind": "charte", "reference": "", "start_date": "2026-01-01"}, "obligatoire"),
        (
            {
                "kind": "charte",
                "reference": "R",
                "start_date": "2026-01-01",
                "end_date": "2025-01-01",
            },
            "précède la date de début",
        ),
        (
            {"kind": "charte", "reference": "R", "start_date": "2026-01-01", "services": ["x"]},
            "Sélectionnez un choix",
        ),
        ({"kind": "charte", "reference": "DUP", "start_date": "2026-01-01"}, "déjà la référence"),
    ],
)
def test_convention_form_errors(staff_client, commune_a, data, message):
    existing = make_convention(commune_a, [])
    Convention.objects.filter(pk=existing.pk).update(reference="DUP")
    count = Convention.objects.count()
    response = staff_client.post(f"/operateur/membres/{commune_a.pk}/conventions/nouvelle/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Convention.objects.count() == count


def test_operator_edits_services(staff_client, convention_a):
    url = f"/operateur/conventions/{convention_a.pk}/services/"
    page = staff_client.get(url)
    assert page.status_code == 200
    checkbox = r'<input type="checkbox"[^>]*value="(\w+)"[^>]*checked'
    assert re.findall(checkbox, page.content.decode()) == sorted(
        convention_a.services, key=list(Service).index
    )
    response = staff_client.post(url, {"services": ["collaboratif"]})
    assert response.status_code == 302
    assert convention_a.services == [Service.COLLABORATIF]
    response = staff_client.post(url, {"services": ["inconnu"]})
    assert response.status_code == 400
    assert convention_a.services == [Service.COLLABORATIF]


def test_operator_creates_a_contribution_for_the_epci_and_its_communes(
    staff_client, agglo, communes
):
    url = f"/operateur/membres/{agglo.pk}/contributions/nouvelle/"
    page = staff_client.get(url)
    assert page.status_code == 200
    for commune in communes:
        assert commune.name in page.content.decode()
    response = staff_client.post(
        url,
        {
            "year": "2026",
            "amount_ht": "3 000,00",
            "label": "Contribution mutualisée",
            "beneficiaries": [agglo.pk, *(c.pk for c in communes)],
        },
    )
    assert response.status_code == 302
    contribution = Contribution.objects.get()
    assert contribution.amount_ht == Decimal("3000.00")
    assert contribution.beneficiaries.count() == 7


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"year": "2026", "amount_ht": "trois mille"}, "Saisissez un montant"),
        ({"year": "2026", "amount_ht": "-3"}, "supérieure ou égale"),
        ({"year": "2026", "amount_ht": "3000"}, "Cochez au moins une organisation"),
        ({"year": "20260", "amount_ht": "3000"}, "inférieure ou égale"),
    ],
)
def test_contribution_form_errors(staff_client, agglo, communes, data, message):
    response = staff_client.post(f"/operateur/membres/{agglo.pk}/contributions/nouvelle/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Contribution.objects.exists()


def test_contribution_cannot_cover_an_unrelated_organisation(staff_client, agglo, communes):
    stranger = OrganisationFactory(name="Commune étrangère")
    response = staff_client.post(
        f"/operateur/membres/{agglo.pk}/contributions/nouvelle/",
        {"year": "2026", "amount_ht": "3000", "beneficiaries": [stranger.pk]},
    )
    assert response.status_code == 400
    assert not Contribution.objects.exists()


def test_operator_creation_pages_refuse_non_staff(login, agent_a, commune_a, convention_a):
    client = login(make_member(commune_a, Role.REFERENT, user=agent_a))
    for url in (
        f"/operateur/membres/{commune_a.pk}/conventions/nouvelle/",
        f"/operateur/membres/{commune_a.pk}/contributions/nouvelle/",
        f"/operateur/conventions/{convention_a.pk}/services/",
    ):
        assert client.get(url).status_code == 403
        assert client.post(url, {}).status_code == 403
    assert not Contribution.objects.exists()
    assert Convention.objects.count() == 1
