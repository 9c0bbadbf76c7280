"""Pages around the deposit of plis that are not the upload protocol itself (views.py):
abandoning a deposit in progress. Thin: services.py writes."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from emegalis.core import sealing
from emegalis.core.downloads import pdf_attachment
from emegalis.core.forms import error_messages
from emegalis.marches import access, conf
from emegalis.marches.consultations import selectors as consultations_selectors
from emegalis.marches.deposit import selectors, services, upload
from emegalis.marches.deposit.models import CandidatureDocument


@login_required
@require_POST
def pli_abandon(request, pli_pk: int):
    try:
        abandoned = services.abandon_deposit(actor=request.user, pli_pk=pli_pk)
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


def _json_error(exc, status: int = 400) -> JsonResponse:
    return JsonResponse({"detail": " ".join(error_messages(exc))}, status=status)


@login_required
def deposit(request, pk: int):
    consultation = consultations_selectors.get_public_consultation(pk)
    company = access.company_of(request.user)
    if request.method == "POST":
        try:
            payload = json.loads(request.body or b"{}")
            declared = [
                services.DeclaredFile(
                    kind=str(f["kind"]),
                    name=str(f["name"]),
                    size=int(f["size"]),
                    lot=int(f["lot"]) if f.get("lot") not in (None, "") else None,
                    document=str(f.get("document") or ""),
                )
                for f in payload.get("files", [])
            ]
        except (ValueError, KeyError, TypeError, AttributeError):
            return JsonResponse({"detail": "Requête de dépôt illisible."}, status=400)
        try:
            pli = services.start_deposit(
                actor=request.user, consultation=consultation, files=declared
            )
        except PermissionDenied as exc:
            return _json_error(exc, 403)
        except ValidationError as exc:
            return _json_error(exc)
        return JsonResponse(
            {
                "pli": pli.pk,
                "chunk_size": sealing.CHUNK_SIZE,
                "confirm_url": reverse("marches_pli_confirm", args=[pli.pk]),
                "files": [
                    {
                        "id": f.pk,
                        "name": f.name,
                        "size": f.size,
                        "offset": f.received,
                        "url": reverse("marches_pli_file", args=[pli.pk, f.pk]),
                    }
                    for f in pli.files.order_by("pk")
                ],
            },
            status=201,
        )
    in_progress = selectors.in_progress_deposits(request.user, consultation)
    return render(
        request,
        "marches/deposit.html",
        {
            "consultation": consultation,
            "company": company,
            "lots": consultation.lots.all(),
            "candidature_documents": CandidatureDocument.choices,
            "refusal": services.deposit_refusal(consultation),
            "my_plis": selectors.finished_deposits(request.user, consultation),
            "in_progress": in_progress,
            "resume_data": selectors.resume_data(in_progress),
            "max_size": conf.human_size(conf.pli_max_bytes()),
        },
    )


@csrf_protect
@login_required
def pli_file(request, pli_pk: int, file_pk: int):
    """The upload protocol (deposit/upload.py), for the page's script."""
    return upload.answer(request, pli_pk=pli_pk, file_pk=file_pk)


@login_required
@require_POST
def pli_confirm(request, pli_pk: int):
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        payload = {}
    try:
        pli = services.complete_deposit(
            actor=request.user,
            pli_pk=pli_pk,
            backup_copy_declared=bool(payload.get("backup_copy")),
        )
    except PermissionDenied as exc:
        return _json_error(exc, 404)
    except ValidationError as exc:
        return _json_error(exc, 409)
    return JsonResponse(
        {
            "pli": pli.pk,
            "status": pli.status,
            "status_label": pli.get_status_display(),
            "completed_at": timezone.localtime(pli.completed_at).isoformat(),
            # None while the receipt waits for the timestamping service (sent by e-mail).
            "receipt_url": reverse("marches_pli_receipt", args=[pli.pk]) if pli.receipt else None,
        }
    )


@login_required
def pli_receipt(request, pli_pk: int):
    pli = selectors.get_company_pli(request.user, pli_pk)
    return pdf_attachment(
        pli.receipt,
        f"accuse-reception-{pli.pk}.pdf",
        missing=(
            "Pas encore d'accusé de réception : le dépôt n'est pas terminé, ou son accusé "
            "signé attend le service d'horodatage (il vous sera envoyé par courriel)."
        ),
    )


@login_required
def registre_depots(request, pk: int):
    consultation, deposits = selectors.registre_depots(request.user, pk)
    return render(
        request,
        "marches/registre_depots.html",
        {"consultation": consultation, "plis": deposits},
    )
