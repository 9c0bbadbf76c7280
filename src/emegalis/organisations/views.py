from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from emegalis.adhesions.access import enabled_services, require_service
from emegalis.core.services_catalog import MAIN_SERVICES, SERVICE_DESCRIPTIONS, Service

from . import selectors
from .forms import SwitchOrganisationForm
from .middleware import ACTIVE_ORGANISATION_SESSION_KEY


def _service_cards(enabled: frozenset[str] | None = None, codes=tuple(Service)):
    return [
        {
            "code": code,
            "label": Service(code).label,
            "description": SERVICE_DESCRIPTIONS[code],
            "enabled": enabled is None or code in enabled,
        }
        for code in codes
    ]


def home(request):
    return render(request, "home.html", {"services": _service_cards(codes=MAIN_SERVICES)})


@login_required
def dashboard(request):
    enabled = enabled_services(request.organisation)
    return render(
        request,
        "organisations/dashboard.html",
        {"services": _service_cards(enabled), "enabled_count": len(enabled)},
    )


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
            "services": _service_cards(enabled_services(organisation)),
            "may_manage": selectors.may_manage_members(request.user, organisation),
        },
    )


@login_required
def organisation_members(request, pk: int):
    memberships = selectors.members_of(request.user, pk)
    organisation = selectors.get_organisation(request.user, pk)
    return render(
        request,
        "organisations/members.html",
        {"organisation": organisation, "memberships": memberships},
    )


@login_required
def service_home(request, service: str):
    """Entry page of a service; refused (403) unless the active organisation may use it."""
    if service not in Service.values:
        raise Http404("Service inconnu.")
    require_service(request.organisation, service)
    return render(
        request,
        "organisations/service_home.html",
        {"service": _service_cards(codes=(service,))[0]},
    )
