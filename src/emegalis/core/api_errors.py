"""One error body for the whole REST API, declared in its OpenAPI document.

Every error answer of /api/v1/ is ``{"detail": "<message en français>", "errors": [...]}``:
``detail`` says what went wrong, ``errors`` lists the details (one line per invalid field,
empty when there is nothing more to say). ``install_handlers`` makes django-ninja's own errors
(validation 422, 401 without a key, unreadable body…) and Django's (404, PermissionDenied,
ValidationError, a multipart body without boundary) answer that shape; ``errors`` builds the
``response`` entries that declare it on an operation.
"""

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    ValidationError,
)
from django.http import Http404, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from ninja import Schema
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError


class ErrorOut(Schema):
    """The body of every error answer."""

    detail: str
    errors: list[str]


# Operation-level declarations: `response={200: X, **errors(401, 403, 404)}`.
def errors(*codes: int) -> dict[int, type[ErrorOut]]:
    return dict.fromkeys(codes, ErrorOut)


AUTH = (401, 403)  # authenticated operations
READ = (*AUTH, 404, 422)  # an authenticated operation on an object named by its id
BODY = (400, 413)  # an operation that reads a request body (unreadable, too big)


def body(detail: str, details: list[str] | tuple[str, ...] = ()) -> dict:
    return {"detail": detail, "errors": list(details)}


def error_response(detail: str, status: int, details=(), **extra) -> JsonResponse:
    """A JSON error outside django-ninja's response machinery (raw views, middleware)."""
    return JsonResponse({**body(detail, details), **extra}, status=status)


# django-ninja's own English messages, said in French.
NINJA_MESSAGES = {
    "Unauthorized": "Authentification requise : clé d'API (en-tête « Authorization: Bearer "
    "… ») absente, inconnue ou révoquée, ou session expirée.",
    "Forbidden": "Accès refusé.",
    "CSRF check Failed": "Vérification CSRF échouée : rechargez la page ou utilisez une clé d'API.",
    "Too many requests.": "Trop de requêtes : réessayez dans un moment.",
}
UNREADABLE_BODY = "Corps de la requête illisible : un document JSON est attendu."

LOCATIONS = {
    "path": "chemin",
    "query": "paramètre",
    "body": "corps",
    "form": "formulaire",
    "file": "fichier",
    "header": "en-tête",
    "cookie": "cookie",
}

# pydantic error types → French (the rest: « valeur invalide »).
MESSAGES = {
    "missing": "obligatoire",
    "int_parsing": "nombre entier attendu",
    "int_type": "nombre entier attendu",
    "int_from_float": "nombre entier attendu",
    "float_parsing": "nombre attendu",
    "float_type": "nombre attendu",
    "decimal_parsing": "nombre décimal attendu",
    "decimal_type": "nombre décimal attendu",
    "decimal_max_digits": "nombre trop long",
    "decimal_max_places": "trop de décimales",
    "decimal_whole_digits": "nombre trop long",
    "finite_number": "nombre fini attendu",
    "bool_parsing": "booléen attendu (true ou false)",
    "bool_type": "booléen attendu (true ou false)",
    "string_type": "texte attendu",
    "string_unicode": "texte UTF-8 attendu",
    "list_type": "liste attendue",
    "dict_type": "objet JSON attendu",
    "model_type": "objet JSON attendu",
    "model_attributes_type": "objet JSON attendu",
    "date_parsing": "date attendue (AAAA-MM-JJ)",
    "date_type": "date attendue (AAAA-MM-JJ)",
    "date_from_datetime_parsing": "date attendue (AAAA-MM-JJ)",
    "date_from_datetime_inexact": "date sans heure attendue (AAAA-MM-JJ)",
    "datetime_parsing": "date et heure attendues (AAAA-MM-JJTHH:MM)",
    "datetime_type": "date et heure attendues (AAAA-MM-JJTHH:MM)",
    "datetime_from_date_parsing": "date et heure attendues (AAAA-MM-JJTHH:MM)",
    "json_invalid": "JSON illisible",
    "json_type": "JSON attendu",
    "extra_forbidden": "champ inconnu",
    "string_too_long": "texte trop long",
    "string_too_short": "texte trop court",
    "too_long": "trop d'éléments",
    "too_short": "pas assez d'éléments",
    "greater_than": "valeur trop petite",
    "greater_than_equal": "valeur trop petite",
    "less_than": "valeur trop grande",
    "less_than_equal": "valeur trop grande",
}


def _where(loc) -> str:
    """`("body", "payload", "lots", 0, "number")` → « corps : lots.0.number »."""
    parts = [str(p) for p in loc]
    if not parts:
        return "requête"
    kind, rest = parts[0], parts[1:]
    if kind == "body" and rest:
        rest = rest[1:]  # the view's parameter name, not a field of the document
    label = LOCATIONS.get(kind, kind)
    return f"{label} « {'.'.join(rest)} »" if rest else label


def validation_messages(errors: list[dict]) -> list[str]:
    messages = []
    for error in errors:
        kind = error.get("type", "")
        text = MESSAGES.get(kind, "valeur invalide")
        if kind == "literal_error" or kind == "enum":
            expected = (error.get("ctx") or {}).get("expected", "")
            text = f"valeur non admise (valeurs possibles : {expected.replace(' or ', ', ')})"
        elif kind == "value_error":
            text = str((error.get("ctx") or {}).get("error", "")) or text
        messages.append(f"{_where(error.get('loc', ()))} : {text}")
    return messages


def install_handlers(api) -> None:
    """Answer every error of ``api`` with the one body."""

    def respond(request, status: int, detail: str, details=()):
        return api.create_response(request, body(detail, details), status=status)

    @api.exception_handler(NinjaValidationError)
    def invalid_request(request, exc):
        return respond(
            request, 422, "Requête invalide : voir « errors ».", validation_messages(exc.errors)
        )

    @api.exception_handler(HttpError)
    def http_error(request, exc):
        message = str(exc)
        if message.startswith("Cannot parse request body"):
            message = UNREADABLE_BODY
        return respond(request, exc.status_code, NINJA_MESSAGES.get(message, message))

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return respond(request, 404, "Ressource introuvable.")

    @api.exception_handler(OverflowError)
    def id_out_of_range(request, exc):
        # An id past the database's integer range (SQLite's driver refuses to bind it) names
        # no object: the same 404 as any unknown id (found by schemathesis).
        return respond(request, 404, "Ressource introuvable.")

    @api.exception_handler(PermissionDenied)
    def forbidden(request, exc):
        return respond(request, 403, str(exc) or "Accès refusé.")

    @api.exception_handler(ValidationError)
    def invalid(request, exc):
        return respond(request, 422, "Données invalides.", exc.messages)

    @api.exception_handler(MultiPartParserError)
    def bad_multipart(request, exc):
        return respond(
            request,
            400,
            "Corps multipart illisible : l'en-tête Content-Type doit porter le « boundary » "
            "qui sépare les parties (multipart/form-data; boundary=…), et le corps le suivre.",
        )

    @api.exception_handler(TooManyFieldsSent)
    def too_many_fields(request, exc):
        return respond(request, 400, "Trop de champs dans la requête.")

    @api.exception_handler(RequestDataTooBig)
    def too_big(request, exc):
        return respond(request, 413, "Corps de la requête trop volumineux.")

    @api.exception_handler(UnreadablePostError)
    def unreadable(request, exc):
        return respond(request, 400, "Corps de la requête interrompu ou illisible.")
