"""Validators for the French identifiers an organisation carries."""

import re

from django.core.exceptions import ValidationError
from stdnum import luhn
from stdnum.exceptions import ValidationError as StdnumError


def _luhn_ok(number: str) -> bool:
    try:
        luhn.validate(number)
    except StdnumError:
        return False
    return True


def validate_siren(value: str) -> None:
    if not re.fullmatch(r"[0-9]{9}", value or ""):
        raise ValidationError("Le SIREN doit comporter exactement 9 chiffres.", code="siren_format")
    if not _luhn_ok(value):
        raise ValidationError(
            "Ce SIREN n'est pas valide : sa clé de contrôle est fausse.", code="siren_checksum"
        )


def validate_siret(value: str) -> None:
    if not re.fullmatch(r"[0-9]{14}", value or ""):
        raise ValidationError(
            "Le SIRET doit comporter exactement 14 chiffres.", code="siret_format"
        )
    # La Poste's establishments (SIREN 356000000) use a digit-sum rule instead of Luhn.
    if value.startswith("356000000"):
        valid = sum(int(d) for d in value) % 5 == 0
    else:
        valid = _luhn_ok(value)
    if not valid:
        raise ValidationError(
            "Ce SIRET n'est pas valide : sa clé de contrôle est fausse.", code="siret_checksum"
        )
    validate_siren(value[:9])


def validate_departement(value: str) -> None:
    if not re.fullmatch(r"0[0-9]{2}|02[AB]|9[0-9]{2}", value or ""):
        raise ValidationError(
            "Le code département s'écrit sur 3 caractères, par exemple 056, 02A ou 974.",
            code="departement_format",
        )


def validate_insee_nature(value: str) -> None:
    if not re.fullmatch(r"[0-9]{2}", value or ""):
        raise ValidationError(
            "Le code nature INSEE s'écrit sur 2 chiffres (31 commune, 46 communauté "
            "d'agglomération…).",
            code="nature_format",
        )
