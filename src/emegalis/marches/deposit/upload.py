"""The upload protocol of a pli file, one implementation for the deposit page and the API.

HEAD/GET answer the server's offset; PUT (PATCH for the page's older clients) sends raw bytes
from ``Upload-Offset``. Every answer carries the offset and the file's size in its body and in
the ``Upload-Offset``/``Upload-Length`` headers; an error carries ``detail`` (and ``errors``,
the API's ErrorOut shape). The page and the API only add their authentication and routing.
"""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import JsonResponse

from emegalis.core.forms import error_messages
from emegalis.marches.deposit import services
from emegalis.marches.deposit.models import PliFile

NOT_FOUND = "Fichier de pli introuvable."


def _answer(pli_file: PliFile | None, status: int = 200, *, offset=None, **body) -> JsonResponse:
    if pli_file is not None:
        body = {"offset": offset, "size": pli_file.size, **body}
    response = JsonResponse(body, status=status)
    if pli_file is not None:
        response["Upload-Offset"] = str(offset)
        response["Upload-Length"] = str(pli_file.size)
    response["Cache-Control"] = "no-store"
    return response


def _refusal(detail: str, status: int, pli_file: PliFile | None = None, **extra) -> JsonResponse:
    return _answer(pli_file, status, detail=detail, errors=[], **extra)


def answer(request, *, pli_pk: int, file_pk: int) -> JsonResponse:
    """The whole protocol for one request on a pli file of the requesting company."""
    try:
        pli_file = services.get_own_file(request.user, pli_pk, file_pk)
    except PermissionDenied:
        return _refusal(NOT_FOUND, 404)
    if request.method in ("HEAD", "GET"):
        return _answer(pli_file, offset=pli_file.received)
    if request.method not in ("PUT", "PATCH"):
        return _refusal("Méthode non permise.", 405)
    try:
        offset = int(request.headers.get("Upload-Offset", ""))
        length = int(request.headers.get("Content-Length", ""))
    except ValueError:
        return _refusal("En-têtes Upload-Offset et Content-Length requis (entiers).", 400)
    if offset < 0 or length < 0:
        return _refusal("Upload-Offset et Content-Length ne peuvent pas être négatifs.", 400)
    if offset + length > pli_file.size:
        return _refusal(
            f"Le corps dépasse la taille annoncée du fichier ({pli_file.size} octets).", 413
        )
    try:
        received = services.receive(
            actor=request.user,
            pli_pk=pli_pk,
            file_pk=file_pk,
            offset=offset,
            stream=request,
            length=length,
        )
    except services.OffsetMismatch as exc:
        return _refusal(str(exc), 409, pli_file, offset=exc.offset)
    except (PermissionDenied, ObjectDoesNotExist):  # abandoned while waiting for the lock
        return _refusal(NOT_FOUND, 404)
    except ValidationError as exc:
        return _refusal(" ".join(error_messages(exc)), 409)
    return _answer(pli_file, offset=received)
