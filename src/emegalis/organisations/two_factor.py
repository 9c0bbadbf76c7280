"""TOTP enrolment and verification (django-otp), mandatory for staff and commission members."""

import base64

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from emegalis.core import journal

from .forms import TokenForm


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return "dashboard"


@login_required
def setup(request):
    """Show a QR code for a new TOTP device and confirm it with a first code."""
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return redirect("two_factor_verify")
    device, _ = TOTPDevice.objects.get_or_create(
        user=request.user, confirmed=False, defaults={"name": "Application d'authentification"}
    )
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            with transaction.atomic():
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                journal.record(
                    action="account.two_factor_enrolled",
                    actor=request.user,
                    organisation=request.organisation,
                    object_type="user",
                    object_id=request.user.pk,
                )
            otp_login(request, device)
            messages.success(request, "Double authentification activée.")
            return redirect(_next_url(request))
        form.add_error("token", "Code incorrect ou expiré : saisissez le code affiché maintenant.")
    secret = base64.b32encode(device.bin_key).decode()
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=5, title="QR code TOTP")
    return render(
        request,
        "registration/two_factor_setup.html",
        {"form": form, "secret": secret, "qr_svg": qr_svg, "next": _next_url(request)},
    )


@login_required
def verify(request):
    devices = list(TOTPDevice.objects.filter(user=request.user, confirmed=True))
    if not devices:
        return redirect("two_factor_setup")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = next((d for d in devices if d.verify_token(form.cleaned_data["token"])), None)
        if device is not None:
            otp_login(request, device)
            return redirect(_next_url(request))
        form.add_error("token", "Code incorrect ou expiré.")
    return render(
        request, "registration/two_factor_verify.html", {"form": form, "next": _next_url(request)}
    )
