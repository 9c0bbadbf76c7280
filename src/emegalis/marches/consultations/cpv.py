"""The CPV 2008 code list shipped with the project (data/cpv_2008_fr.csv) and code checks.

A code is written "NNNNNNNN-N": eight digits, a dash and the check digit. A code is accepted
only if it is in the shipped list with exactly that check digit."""

import csv
import re
import unicodedata
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


def fold(text: str) -> str:
    """Lower case without accents: « Travaux de maçonnerie » → « travaux de maconnerie »."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def _folded() -> list[tuple[str, str, str]]:
    return [(code, text, fold(text)) for code, text in codes().items()]


def search(query: str, *, limit: int = 20) -> list[tuple[str, str]]:
    """Codes whose number starts with the digits typed, or whose label holds every word typed
    (accents and case ignored), in the list's order (broader codes first within a branch)."""
    query = (query or "").strip()
    if not query:
        return []
    digits = query.replace("-", "").replace(" ", "")
    if digits.isdigit():
        return [(c, t) for c, t in codes().items() if c.replace("-", "").startswith(digits)][:limit]
    words = fold(query).split()
    found = []
    for code, text, folded in _folded():
        if all(word in folded for word in words):
            found.append((code, text))
            if len(found) == limit:
                break
    return found
