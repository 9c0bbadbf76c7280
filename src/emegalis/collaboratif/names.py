"""Names of folders and documents: what a person may type, and what a path may hold."""

import unicodedata

from django.core.exceptions import ValidationError

MAX_NAME = 200


def clean_name(raw: str, *, what: str = "Le nom") -> str:
    """The name as kept, or a French ValidationError: no path separator, no « . » or « .. »,
    no control character, 1 to 200 characters, no space at either end."""
    name = unicodedata.normalize("NFC", str(raw or "")).strip()
    if not name:
        raise ValidationError(f"{what} est vide.", code="empty")
    if len(name) > MAX_NAME:
        raise ValidationError(f"{what} dépasse {MAX_NAME} caractères.", code="too_long")
    if name in (".", ".."):
        raise ValidationError(f"{what} ne peut pas être « {name} ».", code="dots")
    if "/" in name or "\\" in name:
        raise ValidationError(
            f"{what} ne peut pas contenir « / » ni « \\ » (séparateurs de chemin).",
            code="separator",
        )
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise ValidationError(f"{what} contient un caractère de contrôle.", code="control")
    return name
