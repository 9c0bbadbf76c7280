from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from emegalis.core import service_access
from emegalis.core.forms import StyledFormMixin, add_service_errors, error_messages
from emegalis.core.services_catalog import service_cards

from . import navigation, selectors, services, throttling
from .forms import (
    ApiKeyForm,
    AppPasswordForm,
    ClientCertificateForm,
    MemberAddForm,
    MemberRolesForm,
    OrganisationForm,
    SwitchOrganisationForm,
)
from .middleware import ACTIVE_ORGANISATION_SESSION_KEY
from .navigation import SERVICE_ROLES, is_company, may_open
from .roles import PLATFORM_STAFF_ROLES, TWO_FACTOR_ROLES, Role


@login_required
@require_POST
def switch_organisation(request):
    form = SwitchOrganisationForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Choix d'organisation invalide.")
    wanted = form.cleaned_data["organisation"]
    membership = next((m for m in request.memberships if m.organisation_id == wanted), None)
    if membership is None:
        messages.error(request, "Vous n'êtes pas rattaché à cette organisation.")
    else:
        request.session[ACTIVE_ORGANISATION_SESSION_KEY] = wanted
        messages.success(request, f"Vous agissez désormais pour {membership.organisation.name}.")
    target = form.cleaned_data.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "dashboard"
    return redirect(target)


@login_required
def organisation_detail(request, pk: int):
    organisation = selectors.get_organisation(request.user, pk)
    return render(
        request,
        "organisations/detail.html",
        {
            "organisation": organisation,
            "services": service_cards(service_access.enabled_services(organisation)),
            "may_manage": selectors.may_manage_members(request.user, organisation),
        },
    )


@login_required
def organisation_members(request, pk: int):
    organisation = selectors.manageable_organisation(request.user, pk)
    return render(
        request,
        "organisations/members.html",
        {"organisation": organisation, "memberships": selectors.members_of(request.user, pk)},
    )


@login_required
def member_add(request, pk: int):
    """A référent attaches an agent (created and invited by e-mail if new) to the organisation."""
    organisation = selectors.manageable_organisation(request.user, pk)
    form = MemberAddForm(request.POST or None, organisation=organisation)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.add_member(
                actor=request.user,
                organisation=organisation,
                email=form.cleaned_data["email"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                roles=form.cleaned_data["roles"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            user = membership.user
            if user.has_usable_password():
                text = f"{user} est rattaché à {organisation.name}."
            else:
                text = (
                    f"{user} est rattaché à {organisation.name}. Un courriel lui a été envoyé à "
                    f"{user.email} pour choisir son mot de passe."
                )
            messages.success(request, text)
            return redirect("organisation_members", pk=organisation.pk)
    return render(
        request, "organisations/member_add.html", {"organisation": organisation, "form": form}
    )


@login_required
def member_edit(request, pk: int, membership_pk: int):
    """Change an agent's roles; platform roles are not shown and stay as they are."""
    membership = selectors.get_membership(request.user, pk, membership_pk)
    organisation = membership.organisation
    current = {r.role for r in membership.roles.all()}
    kept_platform_roles = current & PLATFORM_STAFF_ROLES
    form = MemberRolesForm(
        request.POST or None,
        organisation=organisation,
        initial={"roles": sorted(current - PLATFORM_STAFF_ROLES)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.set_roles(
                actor=request.user,
                membership=membership,
                roles=[*form.cleaned_data["roles"], *kept_platform_roles],
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Les rôles de {membership.user} ont été enregistrés.")
            return redirect("organisation_members", pk=organisation.pk)
    return render(
        request,
        "organisations/member_edit.html",
        {
            "organisation": organisation,
            "membership": membership,
            "form": form,
            "platform_roles": sorted(kept_platform_roles),
            "is_self": membership.user_id == request.user.pk,
        },
    )


@login_required
@require_POST
def member_set_active(request, pk: int, membership_pk: int, active: bool):
    membership = selectors.get_membership(request.user, pk, membership_pk)
    service = services.reactivate_member if active else services.deactivate_member
    try:
        service(actor=request.user, membership=membership)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(error_messages(exc)))
        return redirect("member_edit", pk=pk, membership_pk=membership_pk)
    state = "réactivé" if active else "désactivé"
    messages.success(request, f"{membership.user} est {state} dans {membership.organisation.name}.")
    return redirect("organisation_members", pk=pk)


@login_required
def organisation_create(request):
    """The syndicat's staff register a new organisation."""
    if not request.user.is_platform_staff:
        raise PermissionDenied("Seul le syndicat peut enregistrer une organisation.")
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = services.create_organisation(actor=request.user, **form.service_fields())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"L'organisation {organisation.name} est enregistrée.")
            return redirect("organisation_detail", pk=organisation.pk)
    return render(request, "organisations/organisation_form.html", {"form": form})


@login_required
def account_security(request):
    """Where any user sees and manages their second factor (optional unless roles require it)."""
    return render(
        request,
        "registration/security.html",
        {
            "has_totp": selectors.has_confirmed_totp(request.user),
            "two_factor_required": bool(request.user.role_set() & TWO_FACTOR_ROLES),
            "proconnect_identities": selectors.proconnect_identities_of(request.user),
        },
    )


@login_required
@require_POST
def account_security_disable(request):
    try:
        services.disable_two_factor(user=request.user, organisation=request.organisation)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "La double authentification est désactivée pour votre compte.")
    return redirect("account_security")


@login_required
def api_keys(request):
    """The user's API keys for their active organisation: list, create (the secret is shown
    once, on this answer only), revoke."""
    organisation = request.organisation
    form = ApiKeyForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        if organisation is None:
            form.add_error(None, "Vous n'êtes rattaché à aucune organisation.")
        else:
            try:
                _, created = services.create_api_key(
                    user=request.user, organisation=organisation, name=form.cleaned_data["name"]
                )
            except (ValidationError, PermissionDenied) as exc:
                add_service_errors(form, exc)
            else:
                form = ApiKeyForm()
    keys = selectors.api_keys_of(request.user, organisation) if organisation else []
    return render(
        request,
        "registration/api_keys.html",
        {"form": form, "created": created, "keys": keys, "login": request.user.email},
    )


@login_required
@require_POST
def api_key_revoke(request, pk: int):
    key = selectors.get_api_key(request.user, pk)
    services.revoke_api_key(user=request.user, key=key)
    messages.success(request, f"La clé « {key.name} » est révoquée.")
    return redirect("api_keys")


@login_required
def client_certificates(request):
    """The TLS client certificates bound to the account (S²LOW-style API): register, revoke."""
    organisation = request.organisation
    form = ClientCertificateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        if organisation is None:
            form.add_error(None, "Vous n'êtes rattaché à aucune organisation.")
        else:
            try:
                cert = services.register_client_certificate(
                    user=request.user,
                    organisation=organisation,
                    name=form.cleaned_data["name"],
                    data=form.cleaned_data["certificate"],
                )
            except (ValidationError, PermissionDenied) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Le certificat « {cert.name} » est lié à votre compte.")
                form = ClientCertificateForm()
    return render(
        request,
        "registration/client_certificates.html",
        {"form": form, "certificates": selectors.client_certificates_of(request.user)},
    )


@login_required
@require_POST
def client_certificate_revoke(request, pk: int):
    cert = selectors.get_client_certificate(request.user, pk)
    services.revoke_client_certificate(user=request.user, cert=cert)
    messages.success(request, f"Le certificat « {cert.name} » n'est plus lié à votre compte.")
    return redirect("client_certificates")


@login_required
def app_passwords(request):
    """The user's app passwords for desktop clients: list, create (shown once), revoke."""
    form = AppPasswordForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            _, created = services.create_app_password(
                user=request.user, name=form.cleaned_data["name"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            form = AppPasswordForm()
    return render(
        request,
        "registration/app_passwords.html",
        {
            "form": form,
            "created": created,
            "passwords": selectors.app_passwords_of(request.user),
            "login": request.user.email,
            "dav_url": request.build_absolute_uri("/dav/"),
        },
    )


@login_required
@require_POST
def app_password_revoke(request, pk: int):
    password = selectors.get_app_password(request.user, pk)
    services.revoke_app_password(user=request.user, password=password)
    messages.success(request, f"Le mot de passe « {password.name} » est révoqué.")
    return redirect("app_passwords")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request, throttled (organisations/throttling.py).

    A slowed address gets a 429 page that says so, whatever address was typed; an account
    that already had its e-mails in the hour gets the usual « check your mailbox » page and
    no e-mail: nobody learns from the answer whether an account exists."""

    def form_valid(self, form):
        if not throttling.allow_password_reset_request(self.request):
            return render(
                self.request,
                "registration/password_reset_throttled.html",
                {
                    "message": throttling.PASSWORD_RESET_SLOWED_MESSAGE,
                    "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
                },
                status=429,
            )
        if not throttling.allow_password_reset_mail(form.cleaned_data["email"]):
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


@login_required
def dashboard(request):
    """The person's home: the services their organisation's convention opens, each linked only
    if their roles let them in; a company sees its own space instead of conventions."""
    organisation = request.organisation
    if is_company(organisation):
        return render(request, "core/dashboard_company.html")
    enabled = navigation.enabled_services(request)
    roles = request.roles
    cards = service_cards(enabled)
    for card in cards:
        card["may_open"] = may_open(card["code"], enabled, roles)
        card["roles_needed"] = sorted(Role(r).label for r in SERVICE_ROLES.get(card["code"], ()))
    return render(
        request,
        "core/dashboard.html",
        {"services": cards, "enabled_count": len(enabled)},
    )


class ResendConfirmationForm(StyledFormMixin, forms.Form):
    email = forms.EmailField(label="Adresse électronique utilisée à l'inscription")


def signup_confirm(request, token: str):
    """The link of the sign-up e-mail: the account works from now on."""
    try:
        user = services.confirm_signup(token=token)
    except ValidationError as exc:
        return render(
            request,
            "registration/signup_confirm.html",
            {"error": exc.messages[0], "form": ResendConfirmationForm()},
            status=400,
        )
    return render(request, "registration/signup_confirm.html", {"confirmed_user": user})


def signup_resend(request):
    form = ResendConfirmationForm(request.POST or None)
    sent = False
    if request.method == "POST" and form.is_valid():
        services.resend_signup_confirmation(email=form.cleaned_data["email"])
        sent = True
    return render(request, "registration/signup_resend.html", {"form": form, "sent": sent})
