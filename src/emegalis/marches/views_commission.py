"""Pages of the opening commission's members: their seats, their member key (made in their
browser, static/marches/commission-key.js) and the hand-over of their share, which only
their browser can open (ADR 0004)."""

import base64
import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from emegalis.core.forms import error_messages

from . import selectors, services


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
