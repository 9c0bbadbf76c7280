"""Values kept sealed with the server's secret for a short while (a pli's data key until the
deposit is complete, a commission member's share until collected).

They are sealed with SECRET_KEY and opened with it or any of SECRET_KEY_FALLBACKS, so the
secret can be rotated (new key first, old one in the fallbacks until every pending upload
and share is gone) without breaking deposits in progress or uncollected shares.
"""

from django.conf import settings

from . import sealing


def _secrets() -> list[bytes]:
    fallbacks = getattr(settings, "SECRET_KEY_FALLBACKS", []) or []
    return [settings.SECRET_KEY.encode(), *(key.encode() for key in fallbacks)]


def seal(context: bytes, plaintext: bytes) -> bytes:
    return sealing.seal_transient(_secrets()[0], context, plaintext)


def unseal(context: bytes, sealed: bytes) -> bytes:
    """The plaintext, or sealing.IntegrityError when no current or past secret opens it."""
    for secret in _secrets():
        try:
            return sealing.open_transient(secret, context, sealed)
        except sealing.IntegrityError:
            continue
    raise sealing.IntegrityError("Valeur scellée avec un secret du serveur inconnu.")
