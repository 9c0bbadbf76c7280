"""TOTP enrolment and verification (django-otp).

Mandatory for the roles in roles.TWO_FACTOR_ROLES (the middleware sends them here), optional
for everyone else (enabled from « Sécurité du compte »). Once a user has a confirmed device,
every login asks for a code.
"""

import base64

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import services
from .forms import TokenForm

THROTTLED_MESSAGE = (
    "Trop de codes erronés à la suite : patientez quelques secondes avant de réessayer."
)


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return "dashboard"


def _check_token(form: TokenForm, devices: list[TOTPDevice], wrong_message: str):
    """The device that accepts the form's token, or None with an error on the form."""
    allowed = [d for d in devices if d.verify_is_allowed()[0]]
    if not allowed:
        form.add_error("token", THROTTLED_MESSAGE)
        return None
    token = form.cleaned_data["token"]
    device = next((d for d in allowed if d.verify_token(token)), None)
    if device is None:
        form.add_error("token", wrong_message)
    return device


@login_required
def setup(request):
    """Show a QR code for a new TOTP device and confirm it with a first code."""
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        if request.user.is_verified():
            messages.info(request, "La double authentification est déjà active pour votre compte.")
            return redirect(_next_url(request))
        # Enrolled already: this session must pass the existing device, not add another one.
        query = f"?{request.GET.urlencode()}" if request.GET else ""
        return redirect(reverse("two_factor_verify") + query)
    device = services.pending_totp_device(user=request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wrong = "Code incorrect ou expiré : saisissez le code affiché maintenant par l'application."
        if _check_token(form, [device], wrong) is not None:
            services.confirm_totp_device(
                user=request.user, device=device, organisation=request.organisation
            )
            otp_login(request, device)
            messages.success(request, "Double authentification activée pour votre compte.")
            return redirect(_next_url(request))
    secret = base64.b32encode(device.bin_key).decode()
    qr_svg = segno.make(device.config_url, error="m").svg_inline(
        scale=5, title="QR code à scanner avec l'application d'authentification"
    )
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "form": form,
            "secret": secret,
            "secret_groups": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "qr_svg": qr_svg,
            "next": _next_url(request),
        },
    )


@login_required
def verify(request):
    """Ask an enrolled user for the current code of their application."""
    devices = list(TOTPDevice.objects.filter(user=request.user, confirmed=True))
    if not devices:
        return redirect("two_factor_setup")
    if request.user.is_verified():
        return redirect(_next_url(request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = _check_token(form, devices, "Code incorrect ou expiré.")
        if device is not None:
            otp_login(request, device)
            return redirect(_next_url(request))
    return render(
        request, "registration/two_factor_verify.html", {"form": form, "next": _next_url(request)}
    )
