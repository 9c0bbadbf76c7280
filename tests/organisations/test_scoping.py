"""One organisation cannot reach another's pages or data, by URL or by API."""

import pytest

from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, make_member


@pytest.fixture
def commune_a(db):
    return OrganisationFactory(name="Commune A")


@pytest.fixture
def commune_b(db):
    return OrganisationFactory(name="Commune B")


@pytest.fixture
def referent_a(commune_a):
    return make_member(commune_a, Role.REFERENT, Role.ACHETEUR)


@pytest.fixture
def agent_a(commune_a):
    return make_member(commune_a, Role.ACHETEUR)


@pytest.fixture
def referent_b(commune_b):
    return make_member(commune_b, Role.REFERENT)


def cross_urls(pk: int) -> list[str]:
    return [
        f"/organisations/{pk}/",
        f"/organisations/{pk}/utilisateurs/",
        f"/organisations/{pk}/utilisateurs/ajouter/",
        f"/api/v1/organisations/{pk}",
        f"/api/v1/organisations/{pk}/users",
    ]


@pytest.mark.django_db
def test_referent_of_a_gets_404_everywhere_in_b(client, login, referent_a, commune_b, referent_b):
    login(referent_a)
    for url in cross_urls(commune_b.pk):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Commune B" not in response.content.decode(), url
        assert referent_b.email not in response.content.decode(), url


@pytest.mark.django_db
def test_api_404_is_json_in_french(client, login, referent_a, commune_b):
    login(referent_a)
    response = client.get(f"/api/v1/organisations/{commune_b.pk}")
    assert response.json() == {"detail": "Ressource introuvable.", "errors": []}


@pytest.mark.django_db
def test_referent_of_a_sees_a(client, login, referent_a, agent_a, commune_a):
    login(referent_a)
    assert client.get(f"/organisations/{commune_a.pk}/").status_code == 200
    members_page = client.get(f"/organisations/{commune_a.pk}/utilisateurs/")
    assert members_page.status_code == 200
    assert agent_a.email in members_page.content.decode()
    assert client.get(f"/api/v1/organisations/{commune_a.pk}").json()["name"] == "Commune A"
    users = client.get(f"/api/v1/organisations/{commune_a.pk}/users").json()
    assert {u["email"] for u in users} == {referent_a.email, agent_a.email}


@pytest.mark.django_db
def test_api_lists_only_the_users_organisations(client, login, referent_a, commune_a, commune_b):
    login(referent_a)
    listed = client.get("/api/v1/organisations").json()
    assert [o["id"] for o in listed] == [commune_a.pk]


@pytest.mark.django_db
def test_plain_agent_cannot_see_the_member_list(client, login, agent_a, referent_a, commune_a):
    login(agent_a)
    assert client.get(f"/organisations/{commune_a.pk}/").status_code == 200
    for url in cross_urls(commune_a.pk)[1:3] + cross_urls(commune_a.pk)[4:]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert referent_a.email not in response.content.decode(), url


@pytest.mark.django_db
def test_plain_agent_does_not_see_the_users_link(client, login, agent_a, commune_a):
    login(agent_a)
    page = client.get(f"/organisations/{commune_a.pk}/").content.decode()
    assert f"/organisations/{commune_a.pk}/utilisateurs/" not in page


@pytest.mark.django_db
def test_deactivated_member_loses_access(client, login, agent_a, commune_a):
    agent_a.memberships.update(is_active=False)
    login(agent_a)
    assert client.get(f"/organisations/{commune_a.pk}/").status_code == 404
    assert client.get(f"/api/v1/organisations/{commune_a.pk}").status_code == 404


@pytest.mark.django_db
def test_anonymous_api_gets_401(client, commune_a):
    for url in ["/api/v1/me", "/api/v1/organisations", f"/api/v1/organisations/{commune_a.pk}"]:
        assert client.get(url).status_code == 401, url


@pytest.mark.django_db
def test_anonymous_pages_redirect_to_login(client, commune_a):
    response = client.get(f"/organisations/{commune_a.pk}/utilisateurs/")
    assert response.status_code == 302
    assert response["Location"].startswith("/compte/connexion/?next=")


@pytest.mark.django_db
def test_platform_staff_see_every_organisation(client, login_verified, staff, commune_b):
    login_verified(staff)
    assert client.get(f"/organisations/{commune_b.pk}/").status_code == 200
    assert client.get(f"/api/v1/organisations/{commune_b.pk}/users").status_code == 200


# --- the organisation switcher -----------------------------------------------------------------


@pytest.fixture
def two_hats(commune_a, commune_b):
    """An agent of both communes (e.g. a secretary shared by two small communes)."""
    user = make_member(commune_a, Role.ACHETEUR)
    return make_member(commune_b, Role.AGENT_ACTES, user=user)


def active_organisation_id(client):
    return client.get("/api/v1/me").json()["active_organisation_id"]


@pytest.mark.django_db
def test_switching_changes_the_dashboards_organisation(
    client, login, two_hats, commune_a, commune_b
):
    login(two_hats)
    dashboard = client.get("/tableau-de-bord/")
    assert dashboard.context["active_organisation"] == commune_a  # first by name
    assert 'id="organisation-switcher"' in dashboard.content.decode()

    response = client.post(
        "/organisations/choisir/", {"organisation": commune_b.pk, "next": "/tableau-de-bord/"}
    )
    assert response.status_code == 302 and response["Location"] == "/tableau-de-bord/"
    dashboard = client.get("/tableau-de-bord/")
    assert dashboard.context["active_organisation"] == commune_b
    assert "Vous agissez pour <strong>Commune B</strong>" in dashboard.content.decode()
    assert "Vous agissez désormais pour Commune B." in dashboard.content.decode()
    assert active_organisation_id(client) == commune_b.pk


@pytest.mark.django_db
def test_switching_to_a_foreign_organisation_is_refused(
    client, login, agent_a, commune_a, commune_b
):
    login(agent_a)
    response = client.post(
        "/organisations/choisir/", {"organisation": commune_b.pk, "next": "/tableau-de-bord/"}
    )
    assert response.status_code == 302
    dashboard = client.get("/tableau-de-bord/")
    assert dashboard.context["active_organisation"] == commune_a
    assert "Vous n&#x27;êtes pas rattaché à cette organisation." in dashboard.content.decode()
    assert active_organisation_id(client) == commune_a.pk
    assert client.get(f"/organisations/{commune_b.pk}/").status_code == 404


@pytest.mark.django_db
def test_switching_keeps_the_current_choice_when_refused(
    client, login, two_hats, commune_a, commune_b
):
    other = OrganisationFactory(name="Commune C")
    login(two_hats)
    client.post("/organisations/choisir/", {"organisation": commune_b.pk})
    client.post("/organisations/choisir/", {"organisation": other.pk})
    assert active_organisation_id(client) == commune_b.pk


@pytest.mark.django_db
def test_switcher_refuses_get_bad_input_and_off_site_redirects(client, login, two_hats, commune_b):
    login(two_hats)
    assert client.get("/organisations/choisir/").status_code == 405
    assert client.post("/organisations/choisir/", {"organisation": "abc"}).status_code == 400
    response = client.post(
        "/organisations/choisir/", {"organisation": commune_b.pk, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/tableau-de-bord/"
