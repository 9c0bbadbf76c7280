"""Convocations: the PDF and the iCalendar invitation when a seat is given (one event per
half-day, a stable UID, the session's SEQUENCE), METHOD:CANCEL when it is cancelled, and the
reminder two days before, sent once."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from icalendar import Calendar

from emegalis.core import clock
from emegalis.core.pdf import extract_text
from emegalis.formations import convocations, services

from .helpers import agent, commune, course, session, staff

pytestmark = pytest.mark.django_db


def _attachment(message, name):
    return next(content for n, content, _ in message.attachments if n == name)


def test_a_seat_brings_the_convocation_and_its_invitation_and_a_cancel_follows(
    django_capture_on_commit_callbacks,
):
    team = staff()
    first = clock.today() + timedelta(days=20)
    while first.weekday() >= 5:
        first += timedelta(days=1)
    last = first + timedelta(days=1)
    while last.weekday() >= 5:
        last += timedelta(days=1)
    the_session = session(team, course(team), first_day=first, last_day=last)
    organisation, referent = commune()
    trainee = agent(organisation)
    asked = services.request_registration(
        actor=trainee, organisation=organisation, session=the_session
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        registration = services.decide(actor=referent, registration=asked, approve=True)
    (convocation,) = [m for m in mail.outbox if m.subject.startswith("Convocation")]
    assert convocation.to == [trainee.email]
    assert "Convocation à une formation" in extract_text(
        _attachment(convocation, "convocation.pdf")
    )
    ics = Calendar.from_ical(_attachment(convocation, "invitation.ics"))
    events = ics.walk("VEVENT")
    assert str(ics["METHOD"]) == "REQUEST" and len(events) == 4  # two days, two halves each
    uids = {str(e["UID"]) for e in events}
    assert len(uids) == 4 and all(int(e["SEQUENCE"]) == 0 for e in events)
    assert events[0].decoded("DTSTART").hour in (8, 9)  # 9:00 Paris
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel(actor=trainee, registration=registration)
    (notice,) = mail.outbox
    cancel = Calendar.from_ical(_attachment(notice, "annulation.ics"))
    assert str(cancel["METHOD"]) == "CANCEL"
    assert {str(e["UID"]) for e in cancel.walk("VEVENT")} == uids
    assert all(int(e["SEQUENCE"]) == 1 for e in cancel.walk("VEVENT"))


def test_the_reminder_two_days_before_goes_once(django_capture_on_commit_callbacks):
    team = staff()
    the_session = session(team, course(team), days_ahead=6)
    organisation, referent = commune()
    asked = services.request_registration(
        actor=agent(organisation), organisation=organisation, session=the_session
    )
    services.decide(actor=referent, registration=asked, approve=True)
    start = services.first_day(the_session)
    assert convocations.send_reminders() == 0  # not yet
    with clock.shifted(timedelta(days=(start - clock.today()).days - 2)):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert convocations.send_reminders() == 1
            assert convocations.send_reminders() == 0
    assert [m.subject for m in mail.outbox] == ["Rappel — Publier une consultation"]


def test_moving_the_session_updates_the_same_events_with_a_higher_sequence(
    django_capture_on_commit_callbacks,
):
    team = staff()
    the_session = session(team, course(team), days_ahead=20, halves="matin")
    organisation, referent = commune()
    trainee = agent(organisation)
    asked = services.request_registration(
        actor=trainee, organisation=organisation, session=the_session
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.decide(actor=referent, registration=asked, approve=True)
    (before,) = Calendar.from_ical(
        _attachment(
            next(m for m in mail.outbox if m.subject.startswith("Convocation")), "invitation.ics"
        )
    ).walk("VEVENT")
    first = services.first_day(the_session) + timedelta(days=7)
    with pytest.raises(ValidationError, match="finit avant de commencer"):
        services.update_session(
            actor=team,
            session=the_session,
            first_day=first,
            last_day=first - timedelta(days=1),
            halves="matin",
            registration_deadline=first - timedelta(days=3),
            venue="Vannes",
        )
    with pytest.raises(PermissionDenied):
        services.update_session(
            actor=referent,
            session=the_session,
            first_day=first,
            last_day=first,
            halves="matin",
            registration_deadline=first - timedelta(days=3),
            venue="Vannes",
        )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.update_session(
            actor=team,
            session=the_session,
            first_day=first,
            last_day=first,
            halves="matin",
            registration_deadline=first - timedelta(days=3),
            venue="Vannes",
        )
    (update,) = mail.outbox
    assert update.subject.startswith("Modification") and update.to == [trainee.email]
    (after,) = Calendar.from_ical(_attachment(update, "invitation.ics")).walk("VEVENT")
    assert str(after["UID"]) == str(before["UID"]) and int(after["SEQUENCE"]) == 1
    assert after.decoded("DTSTART").date() - before.decoded("DTSTART").date() == timedelta(days=7)
    assert str(after["LOCATION"]) == "Vannes"
