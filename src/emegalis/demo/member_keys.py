"""Member keys of the demo commission members (commission.agglo, president.cao).

In real use a member makes their key in their browser and the platform never sees the
private key. The demo cannot sit in front of a browser, so each demo member's key is derived
from their e-mail (like their demo TOTP secret: fictitious accounts only) and its key file is
written to ``VAR_DIR/demo/cles-membres/``: import it on the share page (« Choisissez votre
fichier de clé ») to collect a demo share.
"""

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

from emegalis.marches.opening import member_side
from emegalis.marches.opening import services as opening_services
from emegalis.organisations.models import User

# The order of the P-256 group: a derived scalar must be in [1, n - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def demo_member_key(email: str) -> ec.EllipticCurvePrivateKey:
    digest = hashlib.sha256(f"e-megalis-demo-member-key:{email}".encode()).digest()
    value = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(value, ec.SECP256R1())


def key_file_path(email: str) -> Path:
    return Path(settings.VAR_DIR) / "demo" / "cles-membres" / f"{email}.json"


def ensure(emails) -> dict[str, ec.EllipticCurvePrivateKey]:
    """Each demo member's key registered (once) and its key file written."""
    keys = {}
    for user in User.objects.filter(email__in=list(emails), is_demo=True):
        private_key = demo_member_key(user.email)
        current = opening_services.active_member_key(user)
        if current is None or current.public_key_bytes != member_side.public_key_bytes(private_key):
            opening_services.register_member_key(
                actor=user, public_key=member_side.public_key_bytes(private_key)
            )
        path = key_file_path(user.email)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(member_side.key_file(private_key, user.email), encoding="utf-8")
        keys[user.email] = private_key
    return keys
