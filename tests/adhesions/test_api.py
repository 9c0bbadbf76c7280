"""API: conventions, contributions and services of an organisation, scoped like the pages."""

import io
from datetime import date
from decimal import Decimal

import pytest

from emegalis.adhesions import services
from emegalis.core.services_catalog import Service
from emegalis.organisations.roles import Role
from tests.adhesions.helpers import pdf_bytes
from tests.factories import make_convention, make_member

pytestmark = pytest.mark.django_db


def test_conventions_of_own_organisation(login, staff, agent_a, commune_a, convention_a):
    services.attach_signed_document(
        actor=staff, convention=convention_a, file=io.BytesIO(pdf_bytes())
    )
    services.change_convention_status(
        actor=staff, convention=convention_a, status="resilie", effective_on=date(2028, 1, 1)
    )
    client = login(agent_a)
    response = client.get(f"/api/v1/organisations/{commune_a.pk}/conventions")
    assert response.status_code == 200
    [item] = response.json()
    assert item["reference"] == convention_a.reference
    assert item["kind"] == "charte"
    assert item["start_date"] == "2025-01-01" and item["end_date"] == "2029-12-31"
    assert item["current_status"] == "resilie"
    assert [(s["status"], s["effective_on"]) for s in item["status_history"]] == [
        ("adherent", "2025-01-01"),
        ("resilie", "2028-01-01"),
    ]
    assert item["services"] == ["actes", "marches"]
    assert item["has_signed_document"] is True


def test_services_on_a_date(login, staff, agent_a, commune_a, convention_a):
    services.change_convention_status(
        actor=staff, convention=convention_a, status="resilie", effective_on=date(2028, 1, 1)
    )
    client = login(agent_a)
    url = f"/api/v1/organisations/{commune_a.pk}/services"
    assert client.get(url, {"on": "2024-12-31"}).json()["services"] == []
    assert client.get(url, {"on": "2025-01-01"}).json() == {
        "organisation_id": commune_a.pk,
        "on": "2025-01-01",
        "services": ["actes", "marches"],
    }
    assert client.get(url, {"on": "2027-12-31"}).json()["services"] == ["actes", "marches"]
    assert client.get(url, {"on": "2028-01-01"}).json()["services"] == []
    assert client.get(url).status_code == 200
    assert client.get(url, {"on": "pas-une-date"}).status_code == 422
    assert client.get(url, {"on": "2026-02-30"}).status_code == 422


def test_contributions_show_the_call_to_payer_members_only(
    login, agent_a, commune_a, agglo, agglo_call
):
    client = login(agent_a)
    [item] = client.get(f"/api/v1/organisations/{commune_a.pk}/contributions").json()
    assert item["payer"]["name"] == "Lorient Agglomération"
    assert item["amount_ht"] == "3000.00", item["amount_ht"]
    assert len(item["beneficiaries"]) == 7
    assert item["has_call"] is True and item["call"] is None

    treasurer = make_member(agglo, Role.REFERENT)
    client.logout()
    client = login(treasurer)
    [item] = client.get(f"/api/v1/organisations/{agglo.pk}/contributions").json()
    assert item["call"]["number"] == agglo_call.number
    assert item["call"]["is_paid"] is False
    assert Decimal(str(item["call"]["amount_ttc"])) == Decimal("3600.00")


def test_agent_of_commune_a_cannot_read_commune_b_by_api(
    login, agent_a, commune_b, agglo, agglo_call
):
    make_convention(commune_b, [Service.MARCHES])
    client = login(agent_a)
    for url in (
        f"/api/v1/organisations/{commune_b.pk}/conventions",
        f"/api/v1/organisations/{commune_b.pk}/contributions",
        f"/api/v1/organisations/{commune_b.pk}/services",
        f"/api/v1/organisations/{agglo.pk}/contributions",
        "/api/v1/organisations/999999/conventions",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json() == {"detail": "Ressource introuvable.", "errors": []}


def test_api_requires_authentication(client, commune_a):
    for suffix in ("conventions", "contributions", "services"):
        assert client.get(f"/api/v1/organisations/{commune_a.pk}/{suffix}").status_code == 401


def test_staff_sees_any_organisation(staff_client, commune_b):
    make_convention(commune_b, [Service.ACTES], start=date(2020, 1, 1), end=None)
    response = staff_client.get(f"/api/v1/organisations/{commune_b.pk}/services")
    assert response.status_code == 200
    assert response.json()["services"] == ["actes"]
