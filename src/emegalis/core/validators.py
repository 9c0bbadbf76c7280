"""Checks shared by every service on identifiers typed by users.

A reference, a number or a label that names a file or goes into a header, an e-mail subject
or a CSV cell must hold on one line of visible characters: a line break there is a header
injection (Django answers 500 with ``BadHeaderError``), a bidirectional override disguises a
file's extension (« facture\u202efdp.exe »), a NUL byte cuts the value in some software.
Services call :func:`check_single_line`; forms and API schemas use the same function, so
the message is the same everywhere.
"""

import unicodedata

from django.core.exceptions import ValidationError

# Controls (C0, DEL, C1), format characters (bidirectional overrides, zero-width…), line and
# paragraph separators, surrogates, private use and unassigned code points.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_NAMES = {
    "\n": "retour à la ligne",
    "\r": "retour chariot",
    "\t": "tabulation",
    "\x00": "caractère nul",
    "\u2028": "séparateur de ligne",
    "\u2029": "séparateur de paragraphe",
}


def forbidden_characters(value: str) -> list[str]:
    """The distinct characters of `value` that have no place in a one-line identifier."""
    found: list[str] = []
    for char in value or "":
        if unicodedata.category(char) in FORBIDDEN_CATEGORIES and char not in found:
            found.append(char)
    return found


def describe(char: str) -> str:
    return _NAMES.get(char) or f"U+{ord(char):04X}"


def single_line_message(label: str, found: list[str]) -> str:
    shown = ", ".join(describe(c) for c in found)
    return (
        f"{label} ne peut contenir aucun caractère de contrôle ni caractère invisible "
        f"(trouvé : {shown}) : une seule ligne de caractères visibles est admise."
    )


def check_single_line(value: str, *, label: str = "La référence") -> str:
    """Return `value` or raise a French ValidationError naming the characters found.

    `label` starts the sentence (« La référence », « Le numéro »)."""
    found = forbidden_characters(value)
    if found:
        raise ValidationError(single_line_message(label, found), code="control_character")
    return value


class SingleLineValidator:
    """The same check as a form field validator (``validators=[SingleLineValidator(…)]``)."""

    def __init__(self, label: str = "La référence"):
        self.label = label

    def __call__(self, value: str) -> None:
        check_single_line(value, label=self.label)

    def __eq__(self, other):
        return isinstance(other, SingleLineValidator) and other.label == self.label

    def deconstruct(self):
        return ("emegalis.core.validators.SingleLineValidator", (self.label,), {})


def pydantic_single_line(label: str = "La référence"):
    """The same check for a django-ninja schema field:
    ``Annotated[str, AfterValidator(pydantic_single_line(...))]``; a refusal is a 422 whose
    message is the French sentence."""

    def check(value):
        if value is None:
            return value
        found = forbidden_characters(value)
        if found:
            raise ValueError(single_line_message(label, found))
        return value

    return check
