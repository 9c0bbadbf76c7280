"""ProConnect's settings (settings.PROCONNECT_*) and the metadata its issuer publishes."""

import hashlib

import requests
from django.conf import settings
from django.core.cache import cache

DISCOVERY_PATH = "/.well-known/openid-configuration"
METADATA_SECONDS = 3600
REQUIRED_METADATA = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
)


class ProConnectUnavailable(Exception):
    """The provider did not answer, or answered something that is not its metadata."""


def enabled() -> bool:
    return bool(
        settings.PROCONNECT_ISSUER
        and settings.PROCONNECT_CLIENT_ID
        and settings.PROCONNECT_CLIENT_SECRET
    )


def issuer() -> str:
    return settings.PROCONNECT_ISSUER.rstrip("/")


def metadata() -> dict:
    """The issuer's discovery document, kept an hour. Its `issuer` must be the one configured
    (OpenID Connect Discovery §4.3): a document served for another issuer is refused."""
    key = "proconnect:metadata:" + hashlib.sha256(issuer().encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return cached
    try:
        response = requests.get(issuer() + DISCOVERY_PATH, timeout=settings.PROCONNECT_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProConnectUnavailable(f"discovery failed: {exc}") from exc
    missing = [name for name in REQUIRED_METADATA if not document.get(name)]
    if missing:
        raise ProConnectUnavailable(f"discovery lacks {', '.join(missing)}")
    if str(document["issuer"]).rstrip("/") != issuer():
        raise ProConnectUnavailable(f"discovery names another issuer: {document['issuer']}")
    cache.set(key, document, METADATA_SECONDS)
    return document
