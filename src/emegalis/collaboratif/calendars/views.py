"""Pages of a workspace's calendar, the invitations and the subscription feeds."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from emegalis.core.downloads import name_download
from emegalis.core.forms import add_service_errors

from .. import access, selectors
from ..forms import EventForm
from ..views import _flash, _view
from . import ics
from . import selectors as calendar_selectors
from . import services as calendar_services


def _workspaces(request):
    return selectors.workspaces_for(request.user, request.organisation)


@_view
def agenda(request, pk):
    workspace = selectors.get_workspace(request.user, request.organisation, pk)
    member = access.require_member(request.user, workspace)
    form = EventForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        try:
            event = calendar_services.create_event(
                actor=request.user,
                workspace=workspace,
                attendees=form.chosen_users("attendees"),
                **form.values(),
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Événement « {event.title} » créé, invitations envoyées.")
            return redirect("collaboratif_event", pk=event.pk)
    return render(
        request,
        "collaboratif/agenda.html",
        {
            "workspace": workspace,
            "member": member,
            "events": calendar_selectors.events_of(workspace),
            "form": form,
            "writable": workspace.archived_at is None and member.role in access.WRITERS,
        },
    )


@_view
def event(request, pk):
    found = calendar_selectors.get_event(request.user, _workspaces(request), pk)
    workspace = found.workspace
    member = access.require_member(request.user, workspace)
    initial = {
        "title": found.title,
        "starts_at": found.starts_at,
        "ends_at": found.ends_at,
        "place": found.place,
        "video_url": found.video_url,
        "description": found.description,
        "recurrence": found.recurrence,
        "occurrences": found.occurrences,
        "attendees": [str(u.pk) for u in found.attendees.all()],
    }
    form = EventForm(request.POST or None, workspace=workspace, initial=initial)
    if request.method == "POST":
        try:
            if request.POST.get("cancel") == "1":
                calendar_services.cancel_event(actor=request.user, event=found)
                messages.success(request, "Événement annulé : les participants sont prévenus.")
                return redirect("collaboratif_event", pk=found.pk)
            if form.is_valid():
                calendar_services.update_event(
                    actor=request.user,
                    event=found,
                    attendees=form.chosen_users("attendees"),
                    **form.values(),
                )
                messages.success(request, "Événement modifié : les participants sont prévenus.")
                return redirect("collaboratif_event", pk=found.pk)
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
    return render(
        request,
        "collaboratif/event.html",
        {
            "workspace": workspace,
            "event": found,
            "form": form,
            "writable": workspace.archived_at is None and member.role in access.WRITERS,
        },
    )


@_view
def event_ics(request, pk):
    found = calendar_selectors.get_event(request.user, _workspaces(request), pk)
    access.require_member(request.user, found.workspace)
    response = HttpResponse(ics.invitation(found), content_type="text/calendar; charset=utf-8")
    return name_download(response, "invitation.ics")


@_view
def feeds(request):
    workspaces = _workspaces(request)
    created = None
    if request.method == "POST":
        try:
            if "revoke" in request.POST:
                feed = calendar_selectors.get_feed(request.user, request.POST["revoke"])
                calendar_services.revoke_feed(actor=request.user, feed=feed)
                messages.success(request, "Lien révoqué : il ne donne plus rien.")
                return redirect("collaboratif_feeds")
            scope = request.POST.get("workspace") or ""
            workspace = (
                selectors.get_workspace(request.user, request.organisation, scope)
                if (scope)
                else None
            )
            _, secret = calendar_services.create_feed(actor=request.user, workspace=workspace)
            created = request.build_absolute_uri(
                reverse("collaboratif_feed", args=[f"{secret}.ics"])
            )
        except (ValidationError, PermissionDenied) as exc:
            _flash(request, exc)
    return render(
        request,
        "collaboratif/feeds.html",
        {
            "feeds": calendar_selectors.feeds_of(request.user),
            "workspaces": workspaces,
            "created": created,
        },
    )


def feed(request, secret):
    """The subscription feed: no session, the secret in the URL is the key."""
    found = calendar_services.use_feed(secret.removesuffix(".ics"))
    if found is None:
        raise Http404("Ce lien d'abonnement n'existe pas ou a été révoqué.")
    name = found.workspace.name if found.workspace else "e-mégalis — mes espaces"
    body = ics.feed(calendar_selectors.feed_events(found), name=name)
    return HttpResponse(body, content_type="text/calendar; charset=utf-8")
