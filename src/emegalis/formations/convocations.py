"""Convocations: the e-mail with the PDF convocation and the iCalendar invitation (one event per
half-day, a stable UID per trainee and half-day, the session's SEQUENCE; METHOD:CANCEL when the
registration or the session is cancelled), and the reminder two days before."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.mail import EmailMessage
from django.db import transaction
from icalendar import Calendar, Event, vCalAddress, vText

from emegalis.core import clock
from emegalis.core.pdf import DocumentBuilder, format_date

from .models import Half, Registration, RegistrationState, Slot

PARIS = ZoneInfo("Europe/Paris")
HOURS = {Half.MATIN: (time(9, 0), time(12, 30)), Half.APRES_MIDI: (time(13, 30), time(17, 0))}
PRODID = "-//e-mégalis//Formations//FR"


def slot_times(slot: Slot) -> tuple[datetime, datetime]:
    start, end = HOURS[slot.half]
    return (
        datetime.combine(slot.date, start, tzinfo=PARIS),
        datetime.combine(slot.date, end, tzinfo=PARIS),
    )


def uid(registration: Registration, position: int) -> str:
    """Stable for the trainee's n-th half-day: a session moved to other dates updates the same
    events in the calendar (with a higher SEQUENCE)."""
    return f"formation-{registration.pk}-{position}@e-megalis"


def calendar(registration: Registration, *, cancel: bool = False) -> bytes:
    session = registration.session
    ics = Calendar()
    ics.add("prodid", PRODID)
    ics.add("version", "2.0")
    ics.add("method", "CANCEL" if cancel else "REQUEST")
    for position, slot in enumerate(session.slots.all(), start=1):
        start, end = slot_times(slot)
        event = Event()
        event.add("uid", uid(registration, position))
        event.add("sequence", session.sequence + (1 if cancel else 0))
        event.add("dtstamp", clock.now())
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("summary", f"Formation : {session.course.title}")
        event.add("location", session.venue or session.video_url)
        if session.video_url:
            event.add("url", session.video_url)
        attendee = vCalAddress(f"mailto:{registration.trainee.email}")
        attendee.params["cn"] = vText(registration.trainee.get_full_name())
        event.add("attendee", attendee, encode=0)
        event.add("status", "CANCELLED" if cancel else "CONFIRMED")
        ics.add_component(event)
    return ics.to_ical()


def convocation_pdf(registration: Registration) -> bytes:
    session = registration.session
    trainee = registration.trainee
    doc = DocumentBuilder(title=f"Convocation — {session.course.title}", subject=str(session))
    doc.title_line("Convocation à une formation")
    doc.paragraph(
        f"{trainee.get_full_name()} ({registration.organisation.name})", bold_label="Stagiaire :"
    )
    doc.paragraph(session.course.title, bold_label="Formation :")
    doc.table(
        [
            [
                format_date(slot.date),
                slot.get_half_display(),
                " – ".join(f"{t:%H:%M}" for t in slot_times(slot)),
            ]
            for slot in session.slots.all()
        ],
        header=["Date", "Demi-journée", "Horaires"],
        col_widths_mm=[70, 50, 50],
    )
    doc.paragraph(session.venue or "À distance", bold_label="Lieu :")
    if session.video_url:
        doc.paragraph(session.video_url, bold_label="Visioconférence :")
    doc.paragraph(session.course.accessibility, bold_label="Accessibilité :")
    doc.paragraph(
        "Merci d'émarger à chaque demi-journée. Un empêchement ? Annulez votre inscription sur "
        "la plateforme au plus tard deux jours avant la session."
    )
    return doc.build()


def _send(registration: Registration, subject: str, body: str, attachments) -> None:
    address = registration.trainee.email

    def send():
        message = EmailMessage(subject, body, None, [address])
        for name, content, mimetype in attachments:
            message.attach(name, content, mimetype)
        message.send()

    transaction.on_commit(send)


def convoke(registration: Registration, *, changed: bool = False) -> None:
    """Called when a registration gets its seat, and again when its session changes."""
    title = registration.session.course.title
    what = (
        f"La session de « {title} » change : voici la convocation et l'invitation mises à jour"
        if changed
        else f"Votre place est confirmée pour « {title} » ({registration.session}). La "
        "convocation et l'invitation d'agenda sont jointes"
    )
    _send(
        registration,
        f"{'Modification' if changed else 'Convocation'} — {title}",
        f"{what}.\n",
        [
            ("convocation.pdf", convocation_pdf(registration), "application/pdf"),
            ("invitation.ics", calendar(registration), "text/calendar; method=REQUEST"),
        ],
    )
    Registration.objects.filter(pk=registration.pk).update(convoked_at=clock.now())


def cancel_notice(registration: Registration, reason: str) -> None:
    title = registration.session.course.title
    _send(
        registration,
        f"Annulation — {title}",
        f"Votre participation à « {title} » ({registration.session}) est annulée. {reason}\n",
        [("annulation.ics", calendar(registration, cancel=True), "text/calendar; method=CANCEL")],
    )


def send_reminders() -> int:
    """The scheduler's job, each hour: two days before a session, a reminder to each person
    seated, once."""
    soon = clock.today() + timedelta(days=2)
    due = (
        Registration.objects.filter(
            state=RegistrationState.INSCRITE,
            reminded_at__isnull=True,
            session__slots__date=soon,
        )
        .select_related("session__course", "trainee")
        .distinct()
    )
    count = 0
    for registration in due:
        if registration.session.slots.order_by("date").first().date != soon:
            continue  # only before the first half-day
        with transaction.atomic():
            updated = Registration.objects.filter(
                pk=registration.pk, reminded_at__isnull=True
            ).update(reminded_at=clock.now())
            if updated:
                title = registration.session.course.title
                _send(
                    registration,
                    f"Rappel — {title}",
                    f"Rappel : la formation « {title} » commence le {format_date(soon)}.\n",
                    [("invitation.ics", calendar(registration), "text/calendar; method=REQUEST")],
                )
                count += 1
    return count
