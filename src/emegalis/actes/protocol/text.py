"""ISO-8859-1 on the wire: detect and map characters that Latin-1 cannot carry.

The platform stores UTF-8; messages travel in ISO-8859-1 (brief §12). The builders refuse a text
that does not fit, naming the field and the characters; :func:`latin1_safe` gives the caller a
replacement to show the agent before sending.
"""

from __future__ import annotations

import unicodedata

from .errors import EncodingError

_REPLACEMENTS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2010": "-",
    "\u2011": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u0153": "oe",
    "\u0152": "OE",
    "\u20ac": "EUR",
    "\u2022": "-",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
    "\u0178": "Y",
}


def non_latin1_characters(text: str) -> list[str]:
    """The distinct characters of ``text`` that ISO-8859-1 cannot represent, in order."""
    seen: list[str] = []
    for char in text:
        if ord(char) > 0xFF and char not in seen:
            seen.append(char)
    return seen


def latin1_safe(text: str) -> str:
    """Map typographic characters to Latin-1 equivalents (’ → ', … → ..., œ → oe, € → EUR).

    Characters with no equivalent lose their accents when they have some, else become ``?``.
    """
    out = []
    for char in text:
        if ord(char) <= 0xFF:
            out.append(char)
        elif char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
        else:
            decomposed = unicodedata.normalize("NFKD", char)
            base = "".join(c for c in decomposed if ord(c) <= 0xFF and not unicodedata.combining(c))
            out.append(base or "?")
    return "".join(out)


def check_latin1(text: str, *, field: str) -> str:
    bad = non_latin1_characters(text)
    if bad:
        shown = " ".join(f"« {c} »" for c in bad)
        raise EncodingError(
            f"Le champ « {field} » contient des caractères impossibles à transmettre en "
            f"ISO-8859-1 : {shown}. Remplacez-les (par exemple ’ par ', œ par oe, € par EUR).",
            field=field,
        )
    return text
