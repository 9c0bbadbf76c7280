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


def test_the_staff_adds_a_course_and_schedules_a_session(client, login, login_verified):
    from datetime import timedelta

    from emegalis.core import clock
    from emegalis.formations.models import Course, Session

    team = staff()
    organisation, referent = commune()
    login(referent)
    assert client.get("/formations/catalogue/nouvelle/").status_code == 403
    client.logout()
    login_verified(team)
    response = client.post(
        "/formations/catalogue/nouvelle/",
        {
            "title": "Rédiger un CCTP",
            "audience": "agents",
            "objectives": "Écrire un cahier des clauses techniques.",
            "duration_hours": "3,5",
            "methods": "Ateliers",
            "assessment": "Cas pratique",
            "access_conditions": "Sur inscription",
            "accessibility": "Salle accessible",
            "price": "Gratuit pour les membres",
            "contact": "formations@example.test",
        },
    )
    created = Course.objects.get(title="Rédiger un CCTP")
    assert response["Location"] == f"/formations/catalogue/{created.slug}/"
    first = clock.today() + timedelta(days=30)
    form = {
        "course": created.pk,
        "first_day": first.isoformat(),
        "last_day": (first - timedelta(days=2)).isoformat(),
        "halves": "matin",
        "capacity": 10,
        "minimum": 4,
        "registration_deadline": (first - timedelta(days=7)).isoformat(),
        "venue": "Vannes",
        "trainers": "inconnu@example.test",
    }
    page = client.post("/formations/sessions/nouvelle/", form).content.decode()
    assert "Aucun compte actif pour : inconnu@example.test" in page
    form["trainers"] = referent.email
    page = client.post("/formations/sessions/nouvelle/", form).content.decode()
    assert "La session finit avant de commencer." in page
    form["last_day"] = (first + timedelta(days=7)).isoformat()
    response = client.post("/formations/sessions/nouvelle/", form)
    created_session = Session.objects.get(course=created)
    assert response["Location"] == f"/formations/sessions/{created_session.pk}/"
    weekdays = sum(1 for i in range(8) if (first + timedelta(days=i)).weekday() < 5)
    assert created_session.slots.count() == weekdays  # mornings of the working days
    assert list(created_session.trainers.all()) == [referent]
