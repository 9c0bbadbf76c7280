"""The link that confirms a self-signed-up account's address: signed, for one user and one
address, valid settings.SIGNUP_CONFIRMATION_HOURS hours."""

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError

from emegalis.core import clock

from .models import User

SALT = "emegalis.signup-confirmation"


def valid_hours() -> int:
    """Read at each call: tests change the setting."""
    return settings.SIGNUP_CONFIRMATION_HOURS


def make_token(user: User) -> str:
    issued = int(clock.now().timestamp())
    return signing.dumps({"user": user.pk, "email": user.email.lower(), "at": issued}, salt=SALT)


def read_token(token: str) -> User:
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise ValidationError(
            "Ce lien de confirmation n'est pas valide : copiez-le en entier depuis le courriel.",
            code="invalid",
        ) from None
    # The platform's clock (core.clock), not the system's: the expiry is tested by moving it.
    hours = valid_hours()
    if clock.now().timestamp() - data.get("at", 0) > hours * 3600:
        raise ValidationError(
            f"Ce lien de confirmation a expiré (il est valable {hours} heures). Demandez-en un "
            "nouveau ci-dessous.",
            code="expired",
        )
    user = User.objects.filter(pk=data.get("user"), email__iexact=data.get("email", "")).first()
    if user is None:
        raise ValidationError("Ce lien ne correspond à aucun compte.", code="invalid")
    return user
