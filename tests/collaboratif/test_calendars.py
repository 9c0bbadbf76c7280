"""Calendars: events with attendees and recurrence, invitations by e-mail whose iCalendar
attachment is parsed back (METHOD:REQUEST, a stable UID, SEQUENCE incremented, METHOD:CANCEL),
and subscription links that calendar applications read, revocable at once."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from icalendar import Calendar

from emegalis.collaboratif.calendars import services as calendars
from emegalis.collaboratif.models import Event
from emegalis.core import clock

from .helpers import join, side, workspace_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    owner = side()
    workspace = workspace_of(owner)
    guest = side()
    join(workspace, owner.agent, guest)
    return owner, workspace, guest


def _values(**changes):
    start = clock.now().replace(microsecond=0) + timedelta(days=3)
    return {
        "title": "Réunion du réseau",
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "place": "Maison de l'agglomération",
        "video_url": "https://visio.example.test/reseau",
        "description": "Ordre du jour : groupements 2027.",
        "recurrence": "WEEKLY",
        "occurrences": 4,
        **changes,
    }


def _invitation(message) -> Calendar:
    (name, content, mimetype) = message.attachments[0]
    assert name == "invitation.ics" and mimetype.startswith("text/calendar")
    return Calendar.from_ical(content)


def test_invitations_carry_a_stable_uid_an_incremented_sequence_and_a_cancel(
    team, django_capture_on_commit_callbacks
):
    owner, workspace, guest = team
    with pytest.raises(ValidationError, match="après son début"):
        values = _values()
        calendars.create_event(
            actor=owner.agent, workspace=workspace, **{**values, "ends_at": values["starts_at"]}
        )
    with pytest.raises(ValidationError, match="parmi les membres"):
        calendars.create_event(
            actor=owner.agent, workspace=workspace, attendees=[side().agent], **_values()
        )
    assert not Event.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        event = calendars.create_event(
            actor=owner.agent, workspace=workspace, attendees=[guest.agent], **_values()
        )
    (message,) = mail.outbox
    assert message.to == [guest.agent.email]
    calendar = _invitation(message)
    (vevent,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "REQUEST" and str(vevent["UID"]) == event.uid
    assert int(vevent["SEQUENCE"]) == 0 and vevent["RRULE"]["FREQ"] == ["WEEKLY"]
    assert vevent["RRULE"]["COUNT"] == [4]
    assert vevent.decoded("DTSTART") == event.starts_at
    assert "visio.example.test" in str(vevent["DESCRIPTION"])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        calendars.update_event(
            actor=owner.agent,
            event=event,
            attendees=[guest.agent],
            **_values(title="Réunion du réseau (salle changée)"),
        )
    (vevent,) = _invitation(mail.outbox[0]).walk("VEVENT")
    assert str(vevent["UID"]) == event.uid and int(vevent["SEQUENCE"]) == 1
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        calendars.cancel_event(actor=owner.agent, event=event)
    calendar = _invitation(mail.outbox[0])
    (vevent,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "CANCEL" and int(vevent["SEQUENCE"]) == 2
    assert str(vevent["STATUS"]) == "CANCELLED"


def test_subscription_links_show_the_users_events_and_stop_when_revoked(client, login, team):
    owner, workspace, guest = team
    other = workspace_of(owner, name="Groupe de travail voirie")
    calendars.create_event(actor=owner.agent, workspace=workspace, **_values())
    calendars.create_event(actor=owner.agent, workspace=other, **_values(title="Voirie"))
    _, everything = calendars.create_feed(actor=owner.agent)
    _, one = calendars.create_feed(actor=guest.agent, workspace=workspace)

    def titles(secret):
        response = client.get(f"/collaboratif/agenda/{secret}.ics")
        if response.status_code != 200:
            return response.status_code
        assert response["Content-Type"].startswith("text/calendar")
        return sorted(
            str(e["SUMMARY"]) for e in Calendar.from_ical(response.content).walk("VEVENT")
        )

    assert titles(everything) == ["Réunion du réseau", "Voirie"]
    assert titles(one) == ["Réunion du réseau"]
    assert titles("inconnu") == 404
    # Leaving the workspace empties the feed; revoking it ends it.
    from emegalis.collaboratif import services

    services.remove_member(actor=guest.agent, member=workspace.members.get(user=guest.agent))
    assert titles(one) == []
    feed = owner.agent.calendar_feeds.get()
    calendars.revoke_feed(actor=owner.agent, feed=feed)
    assert titles(everything) == 404
    # Through the page: a link for a workspace one is not a member of is refused.
    outsider = side()
    login(outsider.agent)
    response = client.post("/collaboratif/agenda/abonnements/", {"workspace": workspace.pk})
    assert response.status_code == 404
