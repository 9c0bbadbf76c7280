"""The HTTP return endpoint: the ministry (or our prefecture counterpart) posts a return
archive."""

import hmac

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from emegalis.actes import conf
from emegalis.actes.returns import services


@csrf_exempt
def return_endpoint(request):
    """Return archives pushed by the prefecture counterpart (raw gzip body or multipart),
    authenticated by a shared bearer token (ACTES_RETURN_TOKEN)."""
    if request.method != "POST":
        return HttpResponse("KO\nMéthode non autorisée.", status=405, content_type="text/plain")
    expected = conf.return_token()
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return HttpResponse("KO\nAuthentification refusée.", status=401, content_type="text/plain")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > conf.archive_max_bytes() + 64 * 1024:
        return HttpResponse("KO\nArchive trop volumineuse.", status=413, content_type="text/plain")
    name = request.headers.get("X-Archive-Name", "")[:255]
    if request.content_type == "multipart/form-data":
        uploads = list(request.FILES.values())
        if len(uploads) != 1:
            return HttpResponse("KO\nUne archive attendue.", status=400, content_type="text/plain")
        source, name = uploads[0], uploads[0].name or name
    else:
        source = request
    try:
        record = services.receive_return_archive(source=source, channel="http", name=name)
    except ValidationError as exc:
        return HttpResponse(
            "KO\n" + " ".join(exc.messages), status=400, content_type="text/plain; charset=utf-8"
        )
    return HttpResponse(f"OK\n{record.pk}", content_type="text/plain")
