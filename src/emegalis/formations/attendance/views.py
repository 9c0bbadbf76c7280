"""Pages of the attendance: the trainer's sheet of a half-day, the trainee's check-in."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from emegalis.core import clock
from emegalis.core.downloads import name_download
from emegalis.core.forms import error_messages

from .. import selectors
from ..models import Attendance, Presence
from . import services


def _flash(request, exc) -> None:
    for message in error_messages(exc):
        messages.error(request, message)


@login_required
def sheet(request, pk):
    slot = selectors.get_trainer_slot(request.user, pk)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "ouvrir":
                services.open_sheet(actor=request.user, slot=slot)
            elif action == "presence":
                registration = services.seated(slot).filter(pk=request.POST.get("registration"))
                if not registration.exists():
                    raise ValidationError("Cette personne n'est pas inscrite à la session.")
                services.mark(
                    actor=request.user,
                    slot=slot,
                    registration=registration.get(),
                    status=request.POST.get("status", ""),
                )
            elif action == "tablette":
                registration = services.seated(slot).filter(pk=request.POST.get("registration"))
                if not registration.exists():
                    raise ValidationError("Choisissez la personne qui signe.")
                services.sign_on_tablet(
                    actor=request.user,
                    slot=slot,
                    registration=registration.get(),
                    drawing=request.POST.get("drawing", ""),
                )
                messages.success(request, "Signature enregistrée.")
            elif action == "contresigner":
                services.countersign(actor=request.user, slot=slot)
                messages.success(request, "Feuille contresignée et enregistrée.")
            else:
                raise ValidationError("Action inconnue.")
        except (ValidationError, PermissionDenied) as exc:
            _flash(request, exc)
        return redirect("formations_sheet", pk=slot.pk)
    found = getattr(slot, "sheet", None)
    statuses = {a.registration_id: a for a in Attendance.objects.filter(slot=slot)}
    return render(
        request,
        "formations/sheet.html",
        {
            "slot": slot,
            "sheet": found,
            "today": slot.date == clock.today(),
            "rows": [(r, statuses.get(r.pk)) for r in services.seated(slot)],
            "presences": Presence.choices,
        },
    )


@login_required
def sheet_pdf(request, pk):
    slot = selectors.get_trainer_slot(request.user, pk)
    found = getattr(slot, "sheet", None)
    if found is None or found.pdf is None:
        raise Http404("Cette feuille n'est pas encore contresignée.")
    response = HttpResponse(bytes(found.pdf), content_type="application/pdf")
    return name_download(response, f"emargement-{slot.date:%Y-%m-%d}-{slot.half}.pdf")


@login_required
def check_in(request):
    slots = selectors.todays_slots(request.user, clock.today())
    if request.method == "POST":
        chosen = next((s for s in slots if str(s.pk) == request.POST.get("slot")), None)
        try:
            if chosen is None:
                raise ValidationError("Vous n'avez pas de demi-journée de formation aujourd'hui.")
            services.check_in(actor=request.user, slot=chosen, code=request.POST.get("code", ""))
        except (ValidationError, PermissionDenied) as exc:
            _flash(request, exc)
        else:
            messages.success(request, "Émargement enregistré : vous êtes présent.")
        return redirect("formations_check_in")
    return render(request, "formations/check_in.html", {"slots": slots})
