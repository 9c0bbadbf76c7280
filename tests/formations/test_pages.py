"""The pages: a public catalogue; an agent asks, the référent approves, the trainee sees it;
nobody else reaches a registration (404), nor the sessions' lists."""

import pytest

from emegalis.formations.models import Registration

from .helpers import agent, commune, course, session, staff

pytestmark = pytest.mark.django_db


def test_catalogue_request_approval_and_access(client, login, login_verified):
    team = staff()
    the_course = course(team)
    the_session = session(team, the_course)
    page = client.get("/formations/").content.decode()
    assert "Publier une consultation" in page
    page = client.get(f"/formations/catalogue/{the_course.slug}/").content.decode()
    assert "Évaluation des acquis" in page and "Se connecter pour s'inscrire" in page
    organisation, referent = commune()
    trainee = agent(organisation)
    login(trainee)
    response = client.post(f"/formations/sessions/{the_session.pk}/inscription/")
    assert response.status_code == 302 and response["Location"] == "/formations/mes-inscriptions/"
    registration = Registration.objects.get()
    assert registration.state == "a_valider"
    assert client.get("/formations/validations/").status_code == 403
    assert client.get(f"/formations/sessions/{the_session.pk}/").status_code == 404
    client.logout()
    other_org, other_referent = commune()
    login(other_referent)
    response = client.post(f"/formations/inscriptions/{registration.pk}/accepter/")
    assert response.status_code == 404
    client.logout()
    login(referent)
    page = client.get("/formations/validations/").content.decode()
    assert trainee.get_full_name() in page
    client.post(f"/formations/inscriptions/{registration.pk}/accepter/")
    registration.refresh_from_db()
    assert registration.state == "inscrite" and registration.decided_by == referent
    client.logout()
    login(trainee)
    assert "Inscrit" in client.get("/formations/mes-inscriptions/").content.decode()
    client.logout()
    login_verified(team)  # the syndicat's staff work with the second factor
    page = client.get(f"/formations/sessions/{the_session.pk}/").content.decode()
    assert trainee.get_full_name() in page
