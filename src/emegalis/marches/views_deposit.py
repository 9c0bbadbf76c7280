"""Pages around the deposit of plis that are not the upload protocol itself (views.py):
abandoning a deposit in progress. Thin: deposit_abandon.py writes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from emegalis.core.forms import error_messages

from . import deposit_abandon, selectors


@login_required
@require_POST
def pli_abandon(request, pli_pk: int):
    try:
        abandoned = deposit_abandon.abandon_deposit(actor=request.user, pli_pk=pli_pk)
    except PermissionDenied:
        raise Http404("Dépôt introuvable.") from None
    except ValidationError as exc:
        pli = selectors.get_company_pli(request.user, pli_pk)
        messages.error(request, " ".join(error_messages(exc)))
        return redirect("marches_deposit", pk=pli.consultation_id)
    messages.success(
        request,
        f"Dépôt n° {abandoned['pli']} abandonné : ses fichiers partiellement reçus sont "
        "supprimés, il ne sera jamais compté.",
    )
    return redirect("marches_deposit", pk=abandoned["consultation"])
