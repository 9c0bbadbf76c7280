"""Registrations: the référent's approval, seats and the waiting list (a freed seat offered to
the first person waiting, who confirms in time or loses it to the next), the quota per
organisation, cancellation until the cut-off, and every refusal of the issue."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from emegalis.core import clock
from emegalis.core.services_catalog import Service
from emegalis.formations import services
from emegalis.formations.lifecycle import REGISTRATION_STATES, SESSION_STATES
from emegalis.formations.models import Registration
from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, make_member

from .helpers import agent, commune, course, session, staff

pytestmark = pytest.mark.django_db


def _ask_and_approve(referent, organisation, the_session, who):
    registration = services.request_registration(
        actor=who, organisation=organisation, session=the_session
    )
    return services.decide(actor=referent, registration=registration, approve=True)


def test_the_state_machines_refuse_what_the_rules_do_not_allow():
    with pytest.raises(ValidationError, match="ne peut pas devenir"):
        REGISTRATION_STATES.check("inscrite", "proposee")
    with pytest.raises(ValidationError, match="ne peut pas passer"):
        SESSION_STATES.check("tenue", "ouverte")
    assert SESSION_STATES.may("complete", "ouverte") and REGISTRATION_STATES.may(
        "proposee", "inscrite"
    )


def test_approval_seats_waiting_list_offer_and_expiry():
    team = staff()
    the_session = session(team, course(team), capacity=2)
    organisation, referent = commune()
    first, second, third, fourth = (agent(organisation) for _ in range(4))
    pending = services.request_registration(
        actor=first, organisation=organisation, session=the_session
    )
    assert pending.state == "a_valider"
    with pytest.raises(PermissionDenied, match="Seul un référent"):
        services.decide(actor=second, registration=pending, approve=True)
    with pytest.raises(ValidationError, match="motif"):
        services.decide(actor=referent, registration=pending, approve=False)
    assert services.decide(actor=referent, registration=pending, approve=True).state == "inscrite"
    assert _ask_and_approve(referent, organisation, the_session, second).state == "inscrite"
    the_session.refresh_from_db()
    assert the_session.state == "complete"
    waiting = [_ask_and_approve(referent, organisation, the_session, w) for w in (third, fourth)]
    assert [w.state for w in waiting] == ["en_attente", "en_attente"]
    # A seat frees up: the first person waiting is offered it.
    services.cancel(actor=first, registration=pending)
    waiting[0].refresh_from_db()
    assert waiting[0].state == "proposee" and waiting[0].offer_expires_at > clock.now()
    with pytest.raises(PermissionDenied):
        services.answer_offer(actor=fourth, registration=waiting[0], accept=True)
    # Not confirmed in time: it passes to the next.
    Registration.objects.filter(pk=waiting[0].pk).update(
        offer_expires_at=clock.now() - timedelta(minutes=1)
    )
    with pytest.raises(ValidationError, match="délai"):
        services.answer_offer(actor=third, registration=waiting[0], accept=True)
    assert services.expire_offers() == 1
    waiting[0].refresh_from_db()
    waiting[1].refresh_from_db()
    assert waiting[0].state == "annulee" and waiting[1].state == "proposee"
    assert services.answer_offer(actor=fourth, registration=waiting[1], accept=True).state == (
        "inscrite"
    )
    assert services.seats_taken(the_session) == 2


def test_quota_per_organisation_and_the_capacity():
    team = staff()
    the_session = session(team, course(team), capacity=3, quota_per_organisation=1)
    a, referent_a = commune()
    b, referent_b = commune()
    assert _ask_and_approve(referent_a, a, the_session, agent(a)).state == "inscrite"
    assert _ask_and_approve(referent_a, a, the_session, agent(a)).state == "en_attente"
    assert _ask_and_approve(referent_b, b, the_session, agent(b)).state == "inscrite"
    with pytest.raises(ValidationError, match="ne peut pas descendre"):
        services.set_capacity(actor=team, session=the_session, capacity=1)
    with pytest.raises(PermissionDenied):
        services.set_capacity(actor=referent_a, session=the_session, capacity=5)


def test_every_refusal_of_the_issue():
    team = staff()
    the_course = course(team)
    organisation, referent = commune()
    who = agent(organisation)
    with pytest.raises(ValidationError, match="finit avant de commencer"):
        session(team, the_course, last_day=clock.today() - timedelta(days=30))
    late = session(team, the_course, registration_deadline=clock.today() - timedelta(days=1))
    with pytest.raises(ValidationError, match="date limite d'inscription"):
        services.request_registration(actor=who, organisation=organisation, session=late)
    cancelled = session(team, the_course)
    services.cancel_session(actor=team, session=cancelled, reason="Formateur malade")
    with pytest.raises(ValidationError, match="annulée"):
        services.request_registration(actor=who, organisation=organisation, session=cancelled)
    open_one = session(team, the_course)
    services.request_registration(actor=who, organisation=organisation, session=open_one)
    with pytest.raises(ValidationError, match="déjà inscrit"):
        services.request_registration(actor=who, organisation=organisation, session=open_one)
    closed_org, _ = commune(Service.MARCHES)
    with pytest.raises(PermissionDenied, match="Formations"):
        services.request_registration(
            actor=agent(closed_org), organisation=closed_org, session=open_one
        )
    # Cancelling: until two days before, by the trainee; staff at any time.
    soon = session(team, the_course, days_ahead=5)
    registration = _ask_and_approve(referent, organisation, soon, agent(organisation))
    start = services.first_day(soon)
    with clock.shifted(timedelta(days=(start - clock.today()).days - 1)):  # the day before
        with pytest.raises(PermissionDenied, match="au plus tard"):
            services.cancel(actor=registration.trainee, registration=registration)
        assert services.cancel(actor=team, registration=registration).state == "annulee"


def test_a_company_registers_its_people_on_courses_for_companies():
    team = staff()
    for_companies = session(team, course(team, audience="entreprises", title="Déposer une offre"))
    company = OrganisationFactory(kind="entreprise")
    representative = make_member(company, Role.ENTREPRISE)
    employee = make_member(company)
    registration = services.register_employee(
        actor=representative, company=company, session=for_companies, trainee=employee
    )
    assert registration.state == "inscrite"
    with pytest.raises(ValidationError, match="pas rattachée"):
        services.register_employee(
            actor=representative,
            company=company,
            session=for_companies,
            trainee=make_member(OrganisationFactory()),
        )
    with pytest.raises(PermissionDenied):
        services.register_employee(
            actor=employee, company=company, session=for_companies, trainee=employee
        )


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_never_give_a_seat_twice():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is exercised on PostgreSQL (SQLite serialises writers)")
    team = staff()
    the_session = session(team, course(team, audience="entreprises", title="Déposer"), capacity=3)
    company = OrganisationFactory(kind="entreprise")
    representative = make_member(company, Role.ENTREPRISE)
    people = [make_member(company) for _ in range(8)]
    barrier = threading.Barrier(len(people))
    errors = []

    def worker(person):
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            services.register_employee(
                actor=representative, company=company, session=the_session, trainee=person
            )
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=worker, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    states = sorted(the_session.registrations.values_list("state", flat=True))
    assert states.count("inscrite") == 3 and states.count("en_attente") == 5
