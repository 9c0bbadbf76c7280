"""The commission member's side of the share hand-over, done in Python the way the member's
browser does it (static/marches/commission-key.js): make a P-256 key pair, keep the private
key, open one's encrypted share and confirm it with its commitment.

The platform's request handlers never call this module: in production the private key lives
in the member's browser (or the key file they saved). The demo loader plays the demo
members with it, and the benches and tests play members with it."""

import base64
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from emegalis.core import sealing
from emegalis.marches.opening import services
from emegalis.organisations.models import User


def _b64url(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode("ascii")


def public_key_bytes(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def create_key(user: User) -> ec.EllipticCurvePrivateKey:
    """A new key pair for ``user``, its public key registered on the platform."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    services.register_member_key(actor=user, public_key=public_key_bytes(private_key))
    return private_key


def key_file(private_key: ec.EllipticCurvePrivateKey, email: str) -> str:
    """The key file the browser offers to save: the private key as a JSON Web Key."""
    numbers = private_key.private_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.public_numbers.x),
        "y": _b64url(numbers.public_numbers.y),
        "d": _b64url(numbers.private_value),
        "ext": True,
        "key_ops": ["deriveBits"],
    }
    return json.dumps({"e_megalis_member_key": 1, "email": email, "jwk": jwk}, indent=2)


def load_key_file(text: str) -> ec.EllipticCurvePrivateKey:
    jwk = json.loads(text)["jwk"]
    padded = jwk["d"] + "=" * (-len(jwk["d"]) % 4)
    value = int.from_bytes(base64.urlsafe_b64decode(padded), "big")
    return ec.derive_private_key(value, ec.SECP256R1())


def collect(user: User, private_key: ec.EllipticCurvePrivateKey, consultation_pk: int) -> str:
    """Open one's share with one's private key and confirm it: returns the share's words."""
    encrypted = services.encrypted_share_of(actor=user, consultation_pk=consultation_pk)
    words = sealing.decrypt_share_as_member(encrypted.blob, private_key, encrypted.context)
    services.confirm_share_collected(
        actor=user,
        consultation_pk=consultation_pk,
        commitment=sealing.share_commitment(words, encrypted.opening_public_key),
    )
    return words
