"""Writes of the calendars: events (with their invitations by e-mail) and subscription links."""

import hashlib
import secrets
import uuid
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from emegalis.core import clock
from emegalis.organisations.models import User

from .. import access
from ..models import CalendarFeed, Event, Recurrence, Workspace
from ..services import journal_entry
from . import ics

EVENT_FIELDS = (
    "title",
    "starts_at",
    "ends_at",
    "place",
    "video_url",
    "description",
    "recurrence",
    "occurrences",
)


def _clean(workspace: Workspace, values: dict, attendees) -> tuple[dict, list[User]]:
    errors: dict[str, str] = {}
    title = " ".join(str(values.get("title") or "").split())
    if not title or len(title) > 200:
        errors["title"] = "L'intitulé a de 1 à 200 caractères."
    starts, ends = values.get("starts_at"), values.get("ends_at")
    if not isinstance(starts, datetime) or not isinstance(ends, datetime):
        errors["starts_at"] = "Indiquez le début et la fin (date et heure)."
    elif ends <= starts:
        errors["ends_at"] = "La fin de l'événement doit venir après son début."
    video = str(values.get("video_url") or "").strip()
    if video and not video.startswith(("https://", "http://")):
        errors["video_url"] = "Le lien de visioconférence commence par https://."
    recurrence = values.get("recurrence") or ""
    occurrences = values.get("occurrences")
    if recurrence not in Recurrence.values:
        errors["recurrence"] = "Répétition inconnue."
    elif recurrence and not (isinstance(occurrences, int) and 2 <= occurrences <= 366):
        errors["occurrences"] = "Une répétition compte de 2 à 366 occurrences."
    members = set(workspace.members.values_list("user_id", flat=True))
    chosen = list(attendees or [])
    if any(user.pk not in members for user in chosen):
        errors["attendees"] = "Les participants sont choisis parmi les membres de l'espace."
    if errors:
        raise ValidationError(errors)
    return {
        "title": title,
        "starts_at": starts,
        "ends_at": ends,
        "place": " ".join(str(values.get("place") or "").split())[:200],
        "video_url": video,
        "description": str(values.get("description") or "").strip()[:5000],
        "recurrence": recurrence,
        "occurrences": occurrences if recurrence else None,
    }, chosen


def _send(event: Event) -> None:
    """The invitation (or its cancellation) to each attendee, after the commit."""
    attachment = ics.invitation(event)
    method = "CANCEL" if event.cancelled_at else "REQUEST"
    recipients = sorted({u.email for u in event.attendees.all() if u.is_active})
    when = timezone.localtime(event.starts_at)
    subject = f"Annulé : {event.title}" if event.cancelled_at else f"Invitation : {event.title}"
    body = (
        f"« {event.title} », espace « {event.workspace.name} », le "
        f"{when:%d/%m/%Y à %H:%M}.\n"
        + (
            "Cet événement est annulé.\n"
            if event.cancelled_at
            else "L'invitation jointe s'ajoute à votre agenda.\n"
        )
    )

    def send():
        for address in recipients:
            message = EmailMessage(subject, body, None, [address])
            message.attach("invitation.ics", attachment, f"text/calendar; method={method}")
            message.send()

    transaction.on_commit(send)


@transaction.atomic
def create_event(*, actor: User, workspace: Workspace, attendees=(), **values) -> Event:
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    access.require_writer(actor, workspace)
    cleaned, chosen = _clean(workspace, values, attendees)
    now = clock.now()
    event = Event.objects.create(
        workspace=workspace,
        uid=f"{uuid.uuid4()}@e-megalis",
        organiser=actor,
        created_at=now,
        updated_at=now,
        **cleaned,
    )
    event.attendees.set(chosen)
    _send(event)
    journal_entry(
        "event_created", actor=actor, workspace=workspace, target=event, title=event.title
    )
    return event


@transaction.atomic
def update_event(*, actor: User, event: Event, attendees=(), **values) -> Event:
    event = Event.objects.select_for_update().get(pk=event.pk)
    access.require_writer(actor, event.workspace)
    if event.cancelled_at:
        raise ValidationError("Cet événement est annulé.")
    cleaned, chosen = _clean(event.workspace, values, attendees)
    for name, value in cleaned.items():
        setattr(event, name, value)
    event.sequence += 1
    event.updated_at = clock.now()
    event.save()
    event.attendees.set(chosen)
    _send(event)
    journal_entry(
        "event_updated",
        actor=actor,
        workspace=event.workspace,
        target=event,
        sequence=event.sequence,
    )
    return event


@transaction.atomic
def cancel_event(*, actor: User, event: Event) -> Event:
    event = Event.objects.select_for_update().get(pk=event.pk)
    access.require_writer(actor, event.workspace)
    if event.cancelled_at is None:
        event.cancelled_at = clock.now()
        event.sequence += 1
        event.updated_at = event.cancelled_at
        event.save()
        _send(event)
        journal_entry(
            "event_cancelled",
            actor=actor,
            workspace=event.workspace,
            target=event,
            sequence=event.sequence,
        )
    return event


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_feed(*, actor: User, workspace: Workspace | None = None) -> tuple[CalendarFeed, str]:
    """A subscription link of the user: one workspace, or all of theirs (workspace None)."""
    if workspace is not None:
        access.require_member(actor, workspace)
    secret = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(
        user=actor, workspace=workspace, token_hash=_hash(secret), created_at=clock.now()
    )
    return feed, secret


@transaction.atomic
def revoke_feed(*, actor: User, feed: CalendarFeed) -> None:
    if feed.user_id != actor.pk:
        raise PermissionDenied("Ce lien d'abonnement ne vous appartient pas.")
    if feed.revoked_at is None:
        feed.revoked_at = clock.now()
        feed.save(update_fields=["revoked_at"])


def use_feed(secret: str) -> CalendarFeed | None:
    """The live feed of this secret, its use recorded; None when unknown or revoked."""
    if not secret or len(secret) > 100:
        return None
    feed = (
        CalendarFeed.objects.select_related("user", "workspace")
        .filter(token_hash=_hash(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if feed is not None:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=clock.now())
    return feed
