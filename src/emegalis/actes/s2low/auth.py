"""Who calls the S²LOW-style API, in the ways S²LOW's clients authenticate:

- HTTP Basic (or ``login``/``password`` parameters): the user's e-mail and one of their API
  keys (the key plays S²LOW's password);
- a nounce (``/api/get-nounce.php``, then ``?nounce=…&login=…&hash=sha256("key:nounce")``);
- a TLS client certificate alone, verified by the proxy (``organisations.certificates``), when
  exactly one account registered it; when several did, the login and key pick the account.

An account that registered a certificate may only call with one of its certificates, whichever
way it authenticates (S²LOW requires the certificate on every call)."""

import base64
import binascii
from dataclasses import dataclass
from functools import wraps
from urllib.parse import quote

from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt

from emegalis.actes import access
from emegalis.organisations import certificates, selectors, throttling
from emegalis.organisations.models import ApiKey, Organisation, User

from .answers import ko

REALM = 'Basic realm="API S2low", charset="UTF-8"'


class Refused(Exception):
    def __init__(self, message: str, status: int = 401):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Caller:
    user: User
    organisation: Organisation
    key: ApiKey | None  # None: the certificate alone identified the account
    secret: str = ""  # the key as sent by HTTP Basic on this request (get-nounce needs it)


def basic_credentials(request) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        login, _, password = decoded.partition(":")
        return login, password
    return "", ""


def _credentials(request) -> tuple[str, str]:
    login, password = basic_credentials(request)
    if login and password:
        return login, password
    data = request.POST if request.method == "POST" else request.GET
    return data.get("login", ""), data.get("password", "")


def identify(request) -> Caller:
    fingerprint = certificates.verified_fingerprint(request)
    nounce = request.GET.get("nounce", "")
    if nounce:
        key = throttling.verify_nounce(
            request,
            login=request.GET.get("login", ""),
            nounce=nounce,
            presented_hash=request.GET.get("hash", ""),
        )
        if key is None:
            raise Refused("Nounce invalide ou expiré : demandez-en un autre (get-nounce.php).")
        caller = Caller(key.user, key.organisation, key)
    else:
        login, password = _credentials(request)
        if login and password:
            key = throttling.find_api_key(request, password, login=login)
            if key is None:
                raise Refused("Identifiant ou clé d'API invalide.")
            caller = Caller(key.user, key.organisation, key, secret=password)
        elif fingerprint:
            bound = list(selectors.live_certificates(fingerprint)[:2])
            if not bound:
                raise Refused("Le certificat n'est pas valide : aucun compte trouvé.")
            if len(bound) > 1:
                raise Refused(
                    "Ce certificat est lié à plusieurs comptes : ajoutez l'identifiant et la clé "
                    "d'API (HTTP Basic) pour choisir le compte."
                )
            caller = Caller(bound[0].user, bound[0].organisation, None)
        else:
            raise Refused("Authentification requise (identifiant et clé d'API, ou certificat).")
    required = selectors.live_fingerprints(caller.user)
    if required and fingerprint not in required:
        raise Refused(
            "Ce compte exige l'un de ses certificats clients, qui n'a pas été présenté.",
            status=403,
        )
    return caller


def refusal(message: str, status: int):
    response = ko(message, status=status)
    if status == 401:
        response["WWW-Authenticate"] = REALM
    return response


def return_url(request, *, error: str) -> str:
    """``url_return`` with S²LOW's placeholders filled (``%%ERROR%%`` 0 or 1, ``%%MESSAGE%%``
    the error), or ``""`` when it is absent or not an http(s) URL."""
    target = request.GET.get("url_return", "")
    if not target.startswith(("http://", "https://")):
        return ""
    return target.replace("%%ERROR%%", "1" if error else "0").replace("%%MESSAGE%%", quote(error))


def api_view(view=None, *, browser: bool = False):
    """CSRF-exempt, authenticated as above, scoped to the caller's organisation, where the
    caller must be an agent actes with the service open. ``browser``: the agent's browser was
    sent here with a ``url_return`` (the confirmation pages); a refusal goes back there, with
    the error, as S²LOW does."""
    if view is None:
        return lambda v: api_view(v, browser=browser)

    def refused(request, message: str, status: int):
        target = return_url(request, error=message) if browser else ""
        return HttpResponseRedirect(target) if target else refusal(message, status)

    @csrf_exempt
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        # Clients send ISO-8859-1 (Pastell's subject) or UTF-8: fields are read as ISO-8859-1,
        # which loses nothing, and views.repair() decodes UTF-8 where the bytes are UTF-8.
        request.encoding = "iso-8859-1"
        try:
            caller = identify(request)
        except throttling.ApiKeyThrottled as exc:
            return refused(request, str(exc), 429)
        except Refused as exc:
            return refused(request, str(exc), exc.status)
        request.user, request.organisation, request.caller = (
            caller.user,
            caller.organisation,
            caller,
        )
        try:
            access.require_agent(request.user, request.organisation)
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return refused(request, str(exc) or "Accès refusé.", 403)

    return wrapped
