"""The answers S²LOW's client software reads: text lines (``OK``/``KO`` first, then the payload
or a French message) encoded ISO-8859-1 as S²LOW encodes them, JSON, and the archive."""

from django.http import HttpResponse

# Characters our French messages use that ISO-8859-1 lacks, written with ones it has, so that
# no client reads « ? » where a dash or an apostrophe was.
_LATIN1_SUBSTITUTES = str.maketrans(
    {
        "—": "-",
        "–": "-",
        "‑": "-",
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "…": "...",
        "œ": "oe",
        "Œ": "OE",
        "€": "EUR",
        "\u202f": " ",
        "\u2009": " ",
    }
)


def latin1(value: str) -> bytes:
    return value.translate(_LATIN1_SUBSTITUTES).encode("iso-8859-1", "replace")


def text(*lines, status: int = 200) -> HttpResponse:
    body = "\n".join(str(line) for line in lines)
    return HttpResponse(latin1(body), status=status, content_type="text/plain; charset=ISO-8859-1")


def ko(message: str, status: int = 200) -> HttpResponse:
    # S²LOW answers KO with HTTP 200; authentication failures get 401/403.
    return text("KO", message, status=status)
