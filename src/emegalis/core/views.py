"""Views of the shared kernel."""

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import signing

MAX_REQUEST = 64 * 1024


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
