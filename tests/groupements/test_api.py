"""The groupements API with real API keys: scoped like the pages, validated like the pages."""

import json

import pytest

from emegalis.core.services_catalog import Service
from emegalis.groupements.models import Need
from emegalis.organisations import services as account_services

from .helpers import constituted, open_survey, side

pytestmark = pytest.mark.django_db


def _key(user, organisation) -> dict:
    _, raw = account_services.create_api_key(user=user, organisation=organisation, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def setup():
    agglo, commune, other = side(), side(), side()
    groupement = constituted(agglo, commune, other)
    survey = open_survey(agglo, groupement)
    return agglo, commune, other, groupement, survey


def test_a_member_reads_and_writes_its_needs_and_sees_only_totals(client, setup):
    agglo, commune, other, groupement, survey = setup
    first, second = survey.lots.get().items.all()
    other_key = _key(other.coordinator, other.organisation)
    response = client.put(
        f"/api/v1/groupements/recensements/{survey.pk}/besoins",
        json.dumps({"quantities": {str(first.pk): "30", str(second.pk): "2,5"}}),
        content_type="application/json",
        **other_key,
    )
    assert response.status_code == 200 and response.json() == {"saved": 2}
    key = _key(commune.coordinator, commune.organisation)
    listed = client.get("/api/v1/groupements", **key).json()
    assert [g["id"] for g in listed] == [groupement.pk]
    assert len(listed[0]["members"]) == 3
    body = client.get(f"/api/v1/groupements/recensements/{survey.pk}", **key).json()
    assert body["items"][0]["total"] == "30.000" or float(body["items"][0]["total"]) == 30
    assert body["items"][0]["own"] is None and body["items"][0]["by_member"] == {}
    coordinator = _key(agglo.coordinator, agglo.organisation)
    body = client.get(f"/api/v1/groupements/recensements/{survey.pk}", **coordinator).json()
    assert float(body["items"][0]["by_member"][str(other.organisation.pk)]) == 30
    bad = client.put(
        f"/api/v1/groupements/recensements/{survey.pk}/besoins",
        json.dumps({"quantities": {str(first.pk): "5", str(second.pk): "-1"}}),
        content_type="application/json",
        **key,
    )
    assert bad.status_code == 422
    assert any("négative" in e for e in bad.json()["errors"])
    assert not Need.objects.filter(member__organisation=commune.organisation).exists()


def test_an_outsider_gets_404_and_an_organisation_without_the_service_403(client, setup):
    _agglo, _commune, _other, groupement, survey = setup
    outsider = side()
    key = _key(outsider.coordinator, outsider.organisation)
    assert client.get("/api/v1/groupements", **key).json() == []
    for url in (
        f"/api/v1/groupements/{groupement.pk}",
        f"/api/v1/groupements/recensements/{survey.pk}",
        f"/api/v1/groupements/recensements/{survey.pk}/repartition",
        f"/api/v1/groupements/recensements/{survey.pk}/decp",
        f"/api/v1/groupements/recensements/{survey.pk}/ocds",
    ):
        assert client.get(url, **key).status_code == 404, url
    response = client.put(
        f"/api/v1/groupements/recensements/{survey.pk}/besoins",
        json.dumps({"quantities": {}}),
        content_type="application/json",
        **key,
    )
    assert response.status_code == 404
    closed = side(Service.MARCHES)
    assert (
        client.get("/api/v1/groupements", **_key(closed.referent, closed.organisation)).status_code
        == 403
    )
