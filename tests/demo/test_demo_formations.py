"""The demo region's trainings: the four courses, a session held, future sessions, the one for
companies full with a waiting list, and Hennebont's agent registered (awaiting approval)."""

import pytest

from emegalis.demo.region import demo_email, load_demo_region
from emegalis.formations.models import Certificate, Course, Registration, Session

pytestmark = pytest.mark.django_db


def test_the_demo_has_courses_sessions_and_a_waiting_list():
    load_demo_region()
    assert Course.objects.count() == 4
    held = Session.objects.get(state="tenue")
    assert all(slot.sheet.sha256 for slot in held.slots.all())
    (certificate,) = Certificate.objects.all()
    assert certificate.registration.trainee.email == demo_email("acheteur.agglo")
    assert certificate.hours == held.course.duration_hours
    companies = Session.objects.get(course__title="Déposer une offre électronique")
    states = sorted(companies.registrations.values_list("state", flat=True))
    assert companies.state == "complete" and states == ["en_attente", "inscrite", "inscrite"]
    hennebont = Registration.objects.get(trainee__email=demo_email("stagiaire.hennebont"))
    assert hennebont.state == "a_valider"
    load_demo_region()
    assert Course.objects.count() == 4
