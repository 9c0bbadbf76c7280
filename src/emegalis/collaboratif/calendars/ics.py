"""iCalendar (RFC 5545) of the workspaces' events, built with the `icalendar` library: an
invitation (METHOD:REQUEST or CANCEL, the event's stable UID and its SEQUENCE) and the feeds
that calendar applications subscribe to."""

from datetime import UTC

from icalendar import Calendar, vCalAddress, vText
from icalendar import Event as IcsEvent

from emegalis.core import clock

from ..models import Event

PRODID = "-//e-mégalis//Outils collaboratifs//FR"


def _address(email: str, name: str = "") -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["cn"] = vText(name)
    return address


def component(event: Event, *, cancelled: bool = False) -> IcsEvent:
    item = IcsEvent()
    item.add("uid", event.uid)
    item.add("sequence", event.sequence)
    item.add("dtstamp", clock.now().astimezone(UTC))
    item.add("dtstart", event.starts_at.astimezone(UTC))
    item.add("dtend", event.ends_at.astimezone(UTC))
    item.add("summary", event.title)
    if event.place:
        item.add("location", event.place)
    description = event.description
    if event.video_url:
        description = f"{description}\n\nVisioconférence : {event.video_url}".strip()
        item.add("url", event.video_url)
    if description:
        item.add("description", description)
    if event.recurrence:
        rule = {"freq": event.recurrence}
        if event.occurrences:
            rule["count"] = event.occurrences
        item.add("rrule", rule)
    if event.organiser is not None:
        item.add("organizer", _address(event.organiser.email, event.organiser.get_full_name()))
    for attendee in event.attendees.all():
        address = _address(attendee.email, attendee.get_full_name())
        address.params["role"] = vText("REQ-PARTICIPANT")
        address.params["rsvp"] = vText("TRUE")
        item.add("attendee", address, encode=0)
    item.add("status", "CANCELLED" if cancelled or event.cancelled_at else "CONFIRMED")
    return item


def _calendar(method: str = "") -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    return calendar


def invitation(event: Event) -> bytes:
    """The e-mail attachment: REQUEST while the event stands, CANCEL once it is cancelled."""
    cancelled = event.cancelled_at is not None
    calendar = _calendar("CANCEL" if cancelled else "REQUEST")
    calendar.add_component(component(event, cancelled=cancelled))
    return calendar.to_ical()


def feed(events, *, name: str) -> bytes:
    calendar = _calendar()
    calendar.add("x-wr-calname", name)
    calendar.add("x-published-ttl", "PT1H")
    calendar.add("name", name)
    for event in events:
        calendar.add_component(component(event))
    return calendar.to_ical()
