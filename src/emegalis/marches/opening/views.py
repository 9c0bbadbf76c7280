"""Pages of the opening commission's members: their seats, their member key (made in their
browser, static/marches/commission-key.js) and the hand-over of their share, which only
their browser can open (ADR 0004)."""

import base64
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from emegalis.core import clock
from emegalis.core.downloads import attachment, pdf_attachment
from emegalis.core.forms import error_messages
from emegalis.marches.opening import selectors, services


def _json_error(exc, status: int = 400) -> JsonResponse:
    return JsonResponse({"detail": " ".join(error_messages(exc))}, status=status)


def _json_body(request) -> dict:
    try:
        payload = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("Requête illisible (JSON attendu).") from exc
    if not isinstance(payload, dict):
        raise ValidationError("Requête illisible (objet JSON attendu).")
    return payload


@login_required
def commission_home(request):
    """A commission member's seats and their member key."""
    return render(
        request,
        "marches/commission_home.html",
        {
            "seats": selectors.commission_seats(request.user),
            "member_key": services.active_member_key(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def commission_key(request):
    """GET: the page that makes a member key in the browser. POST (JSON {public_key: hex}):
    record its public key."""
    if not selectors.holds_commission_role(request.user):
        raise PermissionDenied("Réservé aux membres de commission d'ouverture.")
    if request.method == "GET":
        return render(
            request,
            "marches/commission_key.html",
            {"member_key": services.active_member_key(request.user)},
        )
    try:
        raw = str(_json_body(request).get("public_key", ""))
        try:
            public_key = bytes.fromhex(raw)
        except ValueError as exc:
            raise ValidationError("Clé publique illisible (hexadécimal attendu).") from exc
        key = services.register_member_key(actor=request.user, public_key=public_key)
    except ValidationError as exc:
        return _json_error(exc)
    return JsonResponse({"fingerprint": key.fingerprint}, status=201)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@login_required
@require_http_methods(["GET", "POST"])
def commission_share(request, pk: int):
    """GET: the page where the member's browser opens their share (encrypted to their key).
    POST (JSON {commitment}): the browser opened it; the platform erases its copy."""
    seat = selectors.get_commission_seat(request.user, pk)
    if request.method == "POST":
        try:
            payload = _json_body(request)
            seat = services.confirm_share_collected(
                actor=request.user,
                consultation_pk=pk,
                commitment=str(payload.get("commitment", "")),
            )
        except PermissionDenied as exc:
            return _json_error(exc, 403)
        except ValidationError as exc:
            return _json_error(exc, 409 if exc.code == "not_available" else 400)
        return JsonResponse(
            {
                "collected_at": seat.collected_at.isoformat(),
                "all_collected": seat.commission.is_complete,
            }
        )
    context = {
        "seat": seat,
        "commission": seat.commission,
        "consultation": seat.commission.consultation,
        "refusal": services.share_collection_refusal(seat),
    }
    if not context["refusal"]:
        encrypted = services.encrypted_share_of(actor=request.user, consultation_pk=pk)
        context["share"] = {
            "blob": _b64(encrypted.blob),
            "context": _b64(encrypted.context),
            "opening_public_key": encrypted.opening_public_key.hex(),
            "member_public_key": encrypted.member_public_key.hex(),
            "member_key_fingerprint": seat.member_key.fingerprint,
        }
    response = render(request, "marches/commission_share.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def commission_opening(request, pk: int):
    """The opening session, run by a commission member with k members' shares typed in."""
    seat = selectors.get_commission_seat(request.user, pk)
    commission = seat.commission
    consultation = commission.consultation
    status = 200
    if request.method == "POST":
        shares = _posted_shares(request, commission)
        try:
            services.open_plis(actor=request.user, consultation_pk=pk, shares=shares)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(error_messages(exc)))
            status = 400
        else:
            messages.success(request, "Plis ouverts : le procès-verbal d'ouverture est signé.")
            return redirect("marches_commission_opening", pk=pk)
    session = getattr(consultation, "opening_session", None)
    response = render(
        request,
        "marches/commission_opening.html",
        {
            "seat": seat,
            "commission": commission,
            "consultation": consultation,
            "members": commission.members.all(),
            "session": session,
            "opened_files": session.files.select_related("pli_file__pli") if session else [],
            "late_plis": selectors.late_plis(consultation) if session else [],
            "deadline_passed": clock.now() > consultation.bids_deadline,
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


def _posted_shares(request, commission) -> dict[int, str]:
    """The shares typed on an opening form, by member position."""
    return {
        member.position: request.POST.get(f"share_{member.position}", "")
        for member in commission.members.all()
    }


@login_required
@require_POST
def open_late_pli(request, pk: int, pli_pk: int):
    """A commission member opens one late pli with k shares and the buyer's motivation."""
    seat = selectors.get_commission_seat(request.user, pk)
    shares = _posted_shares(request, seat.commission)
    try:
        services.open_late_pli(
            actor=request.user,
            consultation_pk=pk,
            pli_pk=pli_pk,
            shares=shares,
            reason=request.POST.get("reason", ""),
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(error_messages(exc)))
    else:
        messages.success(
            request, "Pli hors délai ouvert : le procès-verbal complémentaire est signé."
        )
    return redirect("marches_commission_opening", pk=pk)


@login_required
def late_pv(request, pk: int, pli_pk: int):
    late = selectors.get_late_opening(request.user, pk, pli_pk)
    return pdf_attachment(
        late.pv,
        f"pv-hors-delai-{late.pli.consultation.reference}-{late.pli_id}.pdf",
        missing="Procès-verbal introuvable.",
    )


@login_required
def opening_pv(request, pk: int):
    session = selectors.get_opening_session(request.user, pk)
    return pdf_attachment(
        session.pv,
        f"pv-ouverture-{session.consultation.reference}.pdf",
        missing="Procès-verbal introuvable.",
    )


@login_required
def opened_file(request, pk: int, opened_pk: int):
    """An opened, intact file, for the buyer (analysis) or the commission."""
    session = selectors.get_opening_session(request.user, pk)
    item = session.files.select_related("pli_file").filter(pk=opened_pk, intact=True).first()
    if item is None:
        raise Http404("Fichier introuvable.")
    return attachment(item.content, item.pli_file.name)
