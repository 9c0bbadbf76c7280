"""The formations API: the public catalogue, registering (an agent for itself, pending its
référent; a company for one of its people), one's registrations; refusals in French."""

import pytest

from emegalis.organisations import services as account_services
from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, make_member

from .helpers import agent, commune, course, session, staff

pytestmark = pytest.mark.django_db


def _key(user, organisation) -> dict:
    _, raw = account_services.create_api_key(user=user, organisation=organisation, name="t")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_catalogue_registration_and_refusals(client):
    team = staff()
    the_session = session(team, course(team), capacity=1)
    catalogue = client.get("/api/v1/formations/catalogue").json()
    assert catalogue[0]["sessions"] == [the_session.pk]
    detail = client.get(f"/api/v1/formations/sessions/{the_session.pk}").json()
    assert detail["seats_taken"] == 0 and len(detail["half_days"]) == 2
    organisation, _referent = commune()
    trainee = agent(organisation)
    auth = _key(trainee, organisation)
    url = f"/api/v1/formations/sessions/{the_session.pk}/inscription"
    response = client.post(url, {}, content_type="application/json", **auth)
    assert response.status_code == 201 and response.json()["state"] == "a_valider"
    again = client.post(url, {}, content_type="application/json", **auth)
    assert again.status_code == 422 and "déjà inscrit" in again.json()["errors"][0]
    mine = client.get("/api/v1/formations/inscriptions", **auth).json()
    assert [r["session_id"] for r in mine] == [the_session.pk]
    company = OrganisationFactory(kind="entreprise")
    representative = make_member(company, Role.ENTREPRISE)
    refused = client.post(
        url,
        {"trainee_id": representative.pk},
        content_type="application/json",
        **_key(representative, company),
    )
    assert refused.status_code == 422 and "collectivités" in refused.json()["errors"][0]
    assert client.get("/api/v1/formations/inscriptions").status_code == 401
