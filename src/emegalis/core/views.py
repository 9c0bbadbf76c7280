"""Views of the shared kernel: the home page, the dashboard, a service's entry page, and the
endpoints for operators (health, timestamping)."""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import service_access, signing
from .services_catalog import MAIN_SERVICES, SERVICE_ENTRY_URL_NAMES, Service, service_cards

MAX_REQUEST = 64 * 1024

log = logging.getLogger(__name__)


def home(request):
    return render(request, "core/home.html", {"services": service_cards(codes=MAIN_SERVICES)})


@login_required
def service_home(request, service: str):
    """Entry page of a service; refused (403) unless the active organisation may use it."""
    if service not in Service.values:
        raise Http404("Service inconnu.")
    service_access.require_service(request.organisation, service)
    if service in SERVICE_ENTRY_URL_NAMES:
        return redirect(SERVICE_ENTRY_URL_NAMES[service])
    return render(
        request,
        "core/service_home.html",
        {"service": service_cards(codes=(service,))[0]},
    )


@never_cache
@require_GET
def health(request):
    """For load balancers and supervisors: « ok » when this node reaches its database.

    Served over plain HTTP too (SECURE_REDIRECT_EXEMPT): a health check talks to each node
    directly, not through the TLS proxy."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        log.exception("Contrôle de santé : base de données injoignable")
        return HttpResponse(
            "base de données injoignable\n", status=503, content_type="text/plain; charset=utf-8"
        )
    return HttpResponse("ok\n", content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_POST
def timestamp_authority(request):
    """The local test TSA (RFC 3161 over HTTP): ``application/timestamp-query`` in,
    ``application/timestamp-reply`` out. Off when a real TSA is configured."""
    if not settings.SIGNING_LOCAL_TSA:
        raise Http404("Pas d'autorité d'horodatage locale sur cette plateforme.")
    if request.content_type != "application/timestamp-query":
        return HttpResponse("Content-Type application/timestamp-query attendu.", status=415)
    body = request.read(MAX_REQUEST + 1)
    if len(body) > MAX_REQUEST:
        return HttpResponse("Requête trop grande.", status=413)
    try:
        answer = signing.answer_timestamp_request(body)
    except (ValueError, TypeError, KeyError):
        return HttpResponse("Requête d'horodatage illisible.", status=400)
    return HttpResponse(answer, content_type="application/timestamp-reply")
