"""Builders for the formations tests."""

from datetime import timedelta

from emegalis.core import clock
from emegalis.core.services_catalog import Service
from emegalis.formations import services
from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, make_convention, make_member

COURSE = {
    "objectives": "Savoir publier une consultation.",
    "prerequisites": "",
    "duration_hours": 7,
    "methods": "Démonstration et exercices sur la plateforme.",
    "assessment": "Quiz en fin de session.",
    "access_conditions": "Inscription jusqu'à 7 jours avant.",
    "accessibility": "Salle accessible ; nous contacter pour un aménagement.",
    "price": "Gratuit pour les membres",
    "contact": "formation@e-megalis.test",
}


def staff():
    syndicat = OrganisationFactory(name="Syndicat")
    return make_member(syndicat, Role.OPERATEUR)


def course(actor, audience="agents", title="Publier une consultation"):
    return services.create_course(actor=actor, title=title, audience=audience, **COURSE)


def session(actor, the_course, *, capacity=2, days_ahead=20, **changes):
    first = clock.today() + timedelta(days=days_ahead)
    while first.weekday() >= 5:  # sessions run on working days
        first += timedelta(days=1)
    values = {
        "first_day": first,
        "last_day": first,
        "capacity": capacity,
        "registration_deadline": first - timedelta(days=5),
        "venue": "Maison de l'agglomération",
        **changes,
    }
    return services.create_session(actor=actor, course=the_course, **values)


def commune(*services_open):
    organisation = OrganisationFactory()
    make_convention(organisation, list(services_open) or [Service.FORMATIONS])
    return organisation, make_member(organisation, Role.REFERENT)


def agent(organisation):
    return make_member(organisation, Role.STAGIAIRE)
