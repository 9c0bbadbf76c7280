"""Reads of the calendars, scoped to the workspaces' members."""

from django.db.models import QuerySet
from django.http import Http404

from emegalis.organisations.models import User

from ..models import CalendarFeed, Event, Workspace


def events_of(workspace: Workspace) -> QuerySet[Event]:
    return workspace.events.select_related("organiser").prefetch_related("attendees")


def get_event(user: User, workspaces: QuerySet[Workspace], pk) -> Event:
    try:
        return Event.objects.select_related("workspace", "organiser").get(
            pk=pk, workspace__in=workspaces
        )
    except (Event.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("Événement introuvable.") from None


def feed_events(feed: CalendarFeed) -> QuerySet[Event]:
    """What a subscription shows today: the events of the workspaces the user is still a
    member of (a member who left sees nothing more of that workspace)."""
    events = Event.objects.filter(workspace__members__user=feed.user)
    if feed.workspace_id is not None:
        events = events.filter(workspace_id=feed.workspace_id)
    return events.select_related("organiser").prefetch_related("attendees").distinct()


def feeds_of(user: User) -> QuerySet[CalendarFeed]:
    return CalendarFeed.objects.filter(user=user).select_related("workspace")


def get_feed(user: User, pk) -> CalendarFeed:
    try:
        return feeds_of(user).get(pk=pk)
    except (CalendarFeed.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("Lien introuvable.") from None
