"""The counterpart's endpoint (archives from the platform) and its agent's pages."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from emegalis.core.downloads import attachment
from emegalis.core.forms import StyledFormMixin, add_service_errors, error_messages

from . import selectors, services


def _enabled() -> None:
    if not getattr(settings, "PREFECTURE_COUNTERPART_ENABLED", False):
        raise Http404("Contrepartie préfecture désactivée.")


@csrf_exempt
def depot(request):
    """POST of one archive (multipart, any field name), as the ministry receives them."""
    _enabled()
    if request.method != "POST":
        return HttpResponse("KO\nMéthode non autorisée.", status=405, content_type="text/plain")
    cap = services.archive_limits().max_archive_bytes
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > cap + 64 * 1024:
        return HttpResponse("KO\nArchive trop volumineuse.", status=413, content_type="text/plain")
    uploads = list(request.FILES.values())
    if len(uploads) != 1:
        return HttpResponse("KO\nUne archive attendue.", status=400, content_type="text/plain")
    upload = uploads[0]
    try:
        record = services.receive_archive(source=upload, name=upload.name or "")
    except ValidationError as exc:
        return HttpResponse(
            "KO\n" + " ".join(exc.messages), status=400, content_type="text/plain; charset=utf-8"
        )
    return HttpResponse(f"OK\n{record.outcome}", content_type="text/plain; charset=utf-8")


def _prefecture(request):
    _enabled()
    return services.agent_prefecture(request.user, request.organisation)


class LetterForm(StyledFormMixin, forms.Form):
    code = forms.ChoiceField(label="Type de courrier", choices=list(services.LETTER_CODES.items()))
    details = forms.CharField(
        label="Pièces demandées, motif ou nature de l'illégalité",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    document = forms.FileField(label="Courrier (PDF)")


@login_required
def home(request):
    prefecture = _prefecture(request)
    return render(
        request,
        "prefecture/home.html",
        {
            "prefecture": prefecture,
            "acts": selectors.received_acts(prefecture),
            "pending_replies": selectors.pending_replies(prefecture),
            "pending_cancellations": selectors.pending_cancellations(prefecture),
        },
    )


@login_required
def act_detail(request, pk: int):
    prefecture = _prefecture(request)
    act = selectors.get_act(prefecture, pk)
    form = LetterForm()
    if request.method == "POST":
        form = LetterForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.send_letter(
                    actor=request.user,
                    prefecture=prefecture,
                    act=act,
                    code=form.cleaned_data["code"],
                    details=form.cleaned_data["details"],
                    document=form.cleaned_data["document"],
                    document_name=form.cleaned_data["document"].name,
                )
            except (ValidationError, PermissionDenied) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Courrier envoyé à la collectivité.")
                return redirect("prefecture_act", pk=act.pk)
    return render(
        request,
        "prefecture/act.html",
        {
            "prefecture": prefecture,
            "act": act,
            "form": form,
            "letters": act.letters.prefetch_related("replies__files"),
            "cancellations": act.cancellations.all(),
            "files": act.files.all(),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def acknowledge_reply(request, pk: int):
    prefecture = _prefecture(request)
    reply = selectors.get_reply(prefecture, pk)
    try:
        services.acknowledge_reply(actor=request.user, prefecture=prefecture, reply=reply)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(error_messages(exc)))
    else:
        messages.success(request, "Accusé de réception envoyé.")
    return redirect("prefecture_act", pk=reply.letter.act_id)


@login_required
@require_POST
def acknowledge_cancellation(request, pk: int):
    prefecture = _prefecture(request)
    cancellation = selectors.get_cancellation(prefecture, pk)
    try:
        services.acknowledge_cancellation(
            actor=request.user, prefecture=prefecture, cancellation=cancellation
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(error_messages(exc)))
    else:
        messages.success(request, "Annulation acquittée.")
    return redirect("prefecture_act", pk=cancellation.act_id)


@login_required
def received_file(request, pk: int, file_pk: int):
    prefecture = _prefecture(request)
    act = selectors.get_act(prefecture, pk)
    f = selectors.get_received_file(act, file_pk)
    return attachment(f.file, f.name)
