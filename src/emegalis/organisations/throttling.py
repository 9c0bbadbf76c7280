"""Who is asking, and how often: the client address, and the limits on account entry points.

- Login: django-axes locks a (login, address) pair after AXES_FAILURE_LIMIT failures, and an
  address after AXES_ADDRESS_FAILURE_LIMIT failures on any logins (`AddressAwareAxesHandler`).
- Password reset: at most PASSWORD_RESET_PER_ACCOUNT e-mails per account and
  PASSWORD_RESET_PER_ADDRESS requests per address in PASSWORD_RESET_WINDOW.
- API keys: after API_KEY_FAILURES_PER_ADDRESS wrong keys from one address in
  API_KEY_FAILURE_WINDOW, that address's key authentications are refused until the window ends.
"""

import ipaddress
import logging

from axes.conf import settings as axes_settings
from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum

from emegalis.core import throttle

from . import services

log = logging.getLogger(__name__)

UNKNOWN_ADDRESS = "0.0.0.0"  # noqa: S104 (a label, nothing listens on it)

PASSWORD_RESET_SLOWED_MESSAGE = (
    "Trop de demandes de changement de mot de passe depuis votre réseau. Réessayez dans une heure."
)
API_KEY_SLOWED_MESSAGE = (
    "Trop d'échecs d'authentification par clé d'API depuis votre adresse : réessayez dans "
    "{minutes} minutes."
)


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or, behind TRUSTED_PROXY_COUNT reverse proxies,
    the address the first of them saw (the entry it appended to X-Forwarded-For).

    Entries left of that one are written by the client and never trusted: reading them would
    let anyone choose the address their attempts are counted under.
    """
    remote = request.META.get("REMOTE_ADDR", "") or UNKNOWN_ADDRESS
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [
            item.strip()
            for item in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if item.strip()
        ]
        if forwarded:
            candidate = forwarded[-count] if len(forwarded) >= count else forwarded[0]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                log.warning("Adresse X-Forwarded-For illisible : %r", candidate[:100])
    return remote


# --- password reset --------------------------------------------------------------------------


def allow_password_reset_request(request) -> bool:
    """Count a reset request from the client's address; False once the address is slowed."""
    return throttle.hit(
        throttle.key_for("password-reset-address", client_ip(request)),
        limit=settings.PASSWORD_RESET_PER_ADDRESS,
        window=settings.PASSWORD_RESET_WINDOW,
    )


def allow_password_reset_mail(email: str) -> bool:
    """Count a reset e-mail to this address; False once this account had its share."""
    return throttle.hit(
        throttle.key_for("password-reset-account", email),
        limit=settings.PASSWORD_RESET_PER_ACCOUNT,
        window=settings.PASSWORD_RESET_WINDOW,
    )


# --- API keys ----------------------------------------------------------------------------------


class ApiKeyThrottled(Exception):
    """Too many wrong API keys from the client's address: refused until the window ends."""

    def __init__(self):
        minutes = int(settings.API_KEY_FAILURE_WINDOW.total_seconds() // 60)
        super().__init__(API_KEY_SLOWED_MESSAGE.format(minutes=minutes))


def _api_key_failures_key(request) -> str:
    return throttle.key_for("api-key-failures-address", client_ip(request))


def check_api_key_allowed(request) -> None:
    """Raise ApiKeyThrottled if the client's address made too many failures lately."""
    if throttle.reached(
        _api_key_failures_key(request),
        limit=settings.API_KEY_FAILURES_PER_ADDRESS,
        window=settings.API_KEY_FAILURE_WINDOW,
    ):
        raise ApiKeyThrottled()


def record_api_key_failure(request) -> None:
    throttle.record(_api_key_failures_key(request), window=settings.API_KEY_FAILURE_WINDOW)


# --- login (django-axes) ---------------------------------------------------------------------


class AddressAwareAxesHandler(AxesDatabaseHandler):
    """Axes' database handler with a separate, higher limit for the address alone.

    AXES_LOCKOUT_PARAMETERS is [["username", "ip_address"], "ip_address"]. Axes compares the
    largest count of these to one limit, AXES_FAILURE_LIMIT; here the address's count is
    scaled first, so that it reaches that limit exactly when it reaches
    AXES_ADDRESS_FAILURE_LIMIT (⌊n × F / A⌋ ≥ F ⇔ n ≥ A). `request.emegalis_lock_scope` says
    which one locked (« address » or « account »), for the lockout page.

    On success, axes would delete every attempt matching any parameter, the address's ones
    included: anyone could then wipe the failures against other accounts from their address by
    logging into their own. Only the (login, address) pair's own attempts are reset here.
    """

    def get_failures(self, request, credentials=None) -> int:
        pair, address = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        limit = axes_settings.AXES_FAILURE_LIMIT
        scaled = address * limit // settings.AXES_ADDRESS_FAILURE_LIMIT
        if pair >= limit:
            request.emegalis_lock_scope = "account"
        elif scaled >= limit:
            request.emegalis_lock_scope = "address"
        return max(pair, scaled)

    def reset_user_attempts(self, request, credentials=None) -> int:
        pair_attempts = self.filter_user_attempts(request, credentials)[0]
        count, _ = pair_attempts.delete()
        return count


def authenticate_api_key(request, secret: str, *, login: str | None = None):
    """services.authenticate_api_key, refused (ApiKeyThrottled) for an address that tried too
    many wrong keys lately; each wrong key is counted. A right key is never counted."""
    check_api_key_allowed(request)
    found = services.authenticate_api_key(secret, login=login)
    if found is None:
        record_api_key_failure(request)
    return found


def find_api_key(request, secret: str, *, login: str | None = None):
    """services.find_api_key under the same per-address limit."""
    check_api_key_allowed(request)
    key = services.find_api_key(secret, login=login)
    if key is None:
        record_api_key_failure(request)
    return key


def verify_nounce(request, *, login: str, nounce: str, presented_hash: str):
    """services.verify_nounce under the same per-address limit (a wrong hash counts)."""
    check_api_key_allowed(request)
    key = services.verify_nounce(login=login, nounce=nounce, presented_hash=presented_hash)
    if key is None:
        record_api_key_failure(request)
    return key
