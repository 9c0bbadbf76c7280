"""Pages of a workspace's discussions."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from emegalis.core.forms import add_service_errors

from .. import access, selectors
from ..forms import NotifyForm, PostForm, ThreadForm
from ..models import Notify
from ..views import _flash, _view
from . import selectors as discussion_selectors
from . import services as discussion_services


def _workspaces(request):
    return selectors.workspaces_for(request.user, request.organisation)


@_view
def threads(request, pk):
    workspace = selectors.get_workspace(request.user, request.organisation, pk)
    member = access.require_member(request.user, workspace)
    form = ThreadForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        try:
            thread = discussion_services.start_thread(
                actor=request.user,
                workspace=workspace,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                mentions=form.chosen_users("mentions"),
                documents=form.chosen_documents(),
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Discussion ouverte.")
            return redirect("collaboratif_thread", pk=thread.pk)
    return render(
        request,
        "collaboratif/threads.html",
        {
            "workspace": workspace,
            "member": member,
            "threads": discussion_selectors.threads_of(request.user, workspace),
            "form": form,
            "writable": workspace.archived_at is None and member.role in access.WRITERS,
            "notify_form": NotifyForm(initial={"notify": member.notify}),
            "notify_choices": Notify.choices,
        },
    )


@_view
def thread(request, pk):
    found = discussion_selectors.get_thread(_workspaces(request), pk)
    workspace = found.workspace
    member = access.require_member(request.user, workspace)
    form = PostForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        try:
            discussion_services.reply(
                actor=request.user,
                thread=found,
                body=form.cleaned_data["body"],
                mentions=form.chosen_users("mentions"),
                documents=form.chosen_documents(),
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Réponse publiée.")
            return redirect("collaboratif_thread", pk=found.pk)
    discussion_services.mark_read(actor=request.user, thread=found)
    return render(
        request,
        "collaboratif/thread.html",
        {
            "workspace": workspace,
            "thread": found,
            "posts": discussion_selectors.posts_of(found),
            "form": form,
            "writable": workspace.archived_at is None and member.role in access.WRITERS,
        },
    )


@_view
@require_POST
def notify_choice(request, pk):
    workspace = selectors.get_workspace(request.user, request.organisation, pk)
    form = NotifyForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("Choix inconnu.")
        discussion_services.set_notify(
            actor=request.user, workspace=workspace, notify=form.cleaned_data["notify"]
        )
    except (ValidationError, PermissionDenied) as exc:
        _flash(request, exc)
    else:
        messages.success(request, "Préférence enregistrée.")
    return redirect("collaboratif_threads", pk=workspace.pk)
