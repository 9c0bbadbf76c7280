"""The CPV 2008 code list shipped with the project (data/cpv_2008_fr.csv) and code checks.

A code is written "NNNNNNNN-N": eight digits, a dash and the check digit. A code is accepted
only if it is in the shipped list with exactly that check digit."""

import csv
import re
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError

DATA_FILE = Path(__file__).resolve().parents[1] / "data" / "cpv_2008_fr.csv"


CODE_RE = re.compile(r"[0-9]{8}-[0-9]")


@cache
def codes() -> dict[str, str]:
    """Every code of the list with its French label, in file order."""
    with DATA_FILE.open(encoding="utf-8", newline="") as handle:
        return {row["code"]: row["libelle"] for row in csv.DictReader(handle, delimiter=";")}


def label(code: str) -> str:
    return codes().get(code, "")


def normalise(value: str) -> str:
    return (value or "").strip().replace(" ", "")


def validate_cpv(value: str) -> None:
    code = normalise(value)
    if not CODE_RE.fullmatch(code):
        raise ValidationError(
            f"« {value} » n'est pas un code CPV : il s'écrit avec 8 chiffres, un tiret et la "
            "clé de contrôle, par exemple 45000000-7.",
            code="cpv_format",
        )
    known = codes()
    if code not in known:
        same_root = next((c for c in known if c[:8] == code[:8]), None)
        if same_root:
            raise ValidationError(
                f"La clé de contrôle du code CPV {code} est fausse : le code est {same_root}.",
                code="cpv_check_digit",
            )
        raise ValidationError(
            f"Le code CPV {code} n'existe pas dans la nomenclature CPV 2008 de la plateforme.",
            code="cpv_unknown",
        )


def significant_prefix(code: str) -> str:
    """The digits that carry meaning: 45210000-2 → "4521" (trailing zeros name the level).

    The division (two digits) is always kept.
    """
    digits = normalise(code)[:8].rstrip("0")
    return digits if len(digits) >= 2 else normalise(code)[:2]


def choices() -> list[tuple[str, str]]:
    return [(code, f"{code} — {text}") for code, text in codes().items()]
