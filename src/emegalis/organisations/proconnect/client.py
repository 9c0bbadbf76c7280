"""The relying party: mozilla-django-oidc's, configured from ProConnect's metadata.

The library brings the authorization request (random `state` and `nonce` kept in the
session), the code exchange, the signature check of the ID token against the provider's JWKS
and the nonce check. Made stricter here where ProConnect's documentation requires it:

- the authorization request carries ProConnect's parameters only (no PKCE, no acr_values: any
  other parameter is a « Y000400 : Bad Request »); the `claims` parameter asks for `amr`;
- the ID token's issuer must be the configured one and its audience our client id (the library
  leaves both unchecked);
- the userinfo answer must be a JWT signed by the provider (`application/jwt`), its issuer and
  audience ours when it names them, and its `sub` the ID token's.
"""

import json

import jwt
import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from . import config, services

# ProConnect returns `amr` (how the agent authenticated) only when asked for.
CLAIMS_REQUEST = {"id_token": {"amr": {"essential": True}}}
ID_TOKEN_SESSION_KEY = "oidc_id_token"  # where the library stores it (OIDC_STORE_ID_TOKEN)


def oidc_settings() -> dict:
    """mozilla-django-oidc's settings, from ours and the provider's metadata."""
    meta = config.metadata()
    return {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": meta["authorization_endpoint"],
        "OIDC_OP_TOKEN_ENDPOINT": meta["token_endpoint"],
        "OIDC_OP_USER_ENDPOINT": meta["userinfo_endpoint"],
        "OIDC_OP_JWKS_ENDPOINT": meta["jwks_uri"],
        "OIDC_RP_CLIENT_ID": settings.PROCONNECT_CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": settings.PROCONNECT_CLIENT_SECRET,
        "OIDC_RP_SIGN_ALGO": settings.PROCONNECT_SIGN_ALGO,
        "OIDC_RP_IDP_SIGN_KEY": None,
        "OIDC_RP_SCOPES": settings.PROCONNECT_SCOPES,
        "OIDC_AUTH_REQUEST_EXTRA_PARAMS": {
            "claims": json.dumps(CLAIMS_REQUEST, separators=(",", ":"))
        },
        "OIDC_AUTHENTICATION_CALLBACK_URL": "proconnect_callback",
        "OIDC_STATE_SIZE": 48,
        "OIDC_NONCE_SIZE": 48,
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": False,
        "OIDC_STORE_ID_TOKEN": True,
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_ALLOW_UNSECURED_JWT": False,
        "OIDC_TOKEN_USE_BASIC_AUTH": False,
        "OIDC_TIMEOUT": settings.PROCONNECT_TIMEOUT,
        "OIDC_VERIFY_SSL": True,
        "OIDC_PROXY": None,
    }


class _ProConnectSettings:
    """Answers the library's settings lookups from oidc_settings() instead of Django's."""

    oidc: dict

    def get_settings(self, attr, *args):
        if attr in self.oidc:
            return self.oidc[attr]
        if args:
            return args[0]
        raise ImproperlyConfigured(f"ProConnect: no value for {attr}")


class AuthorizationRequestView(_ProConnectSettings, OIDCAuthenticationRequestView):
    """Redirects to ProConnect's authorization endpoint (the library's view). Constructed
    with the metadata already read, so that an unreachable provider is the caller's page, not
    an error while Django builds the view."""

    def __init__(self, *, oidc: dict, **kwargs):
        self.oidc = oidc
        super().__init__(**kwargs)


class ProConnectClient(_ProConnectSettings, OIDCAuthenticationBackend):
    """Exchanges the code and signs the agent in (services.sign_in). Used by the callback
    view directly, not listed in AUTHENTICATION_BACKENDS: a password login never reaches it.

    After authenticate(): `outcome` (services.SignIn) and `id_token` (for the logout)."""

    def __init__(self):
        self.oidc = oidc_settings()
        super().__init__()
        self.outcome: services.SignIn | None = None
        self.id_token = ""

    def verify_token(self, token, **kwargs):
        try:
            payload = super().verify_token(token, **kwargs)
        except (jwt.PyJWTError, KeyError, ValueError) as exc:  # expired, malformed, no kid…
            raise SuspiciousOperation(f"JWT refused: {exc}") from exc
        is_id_token = "nonce" in kwargs
        client_id = self.OIDC_RP_CLIENT_ID
        if payload.get("iss", "").rstrip("/") != config.issuer() and (
            is_id_token or "iss" in payload
        ):
            raise SuspiciousOperation("JWT issued by another issuer.")
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if client_id not in audiences and (is_id_token or audience is not None):
            raise SuspiciousOperation("JWT issued for another client.")
        if is_id_token and payload.get("azp", client_id) != client_id:
            raise SuspiciousOperation("ID token authorised for another party.")
        if not payload.get("sub"):
            raise SuspiciousOperation("JWT without a subject.")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        response = requests.get(
            self.OIDC_OP_USER_ENDPOINT,
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=self.get_settings("OIDC_TIMEOUT"),
        )
        response.raise_for_status()
        content_type = response.headers.get("content-type", "").lower()
        if not content_type.startswith("application/jwt"):
            raise SuspiciousOperation("Userinfo is not a signed JWT.")
        return self.verify_token(response.text)

    def get_or_create_user(self, access_token, id_token, payload):
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("Userinfo is about another subject than the ID token.")
        self.id_token = id_token
        self.outcome = services.sign_in(
            issuer=config.issuer(), id_claims=payload, userinfo=userinfo
        )
        return self.outcome.user
