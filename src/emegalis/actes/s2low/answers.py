"""The answers S²LOW's client software reads: text lines (``OK``/``KO`` first, then the payload
or a French message) encoded ISO-8859-1 as S²LOW encodes them, JSON, and the archive."""

from django.http import HttpResponse

from emegalis.actes import protocol as p


def latin1(value: str) -> bytes:
    """ISO-8859-1, with the typographic characters it lacks (— ’ … œ €) written with ones it
    has, so that no client reads « ? » where a dash or an apostrophe was."""
    return p.latin1_safe(value).encode("iso-8859-1", "replace")


def text(*lines, status: int = 200) -> HttpResponse:
    body = "\n".join(str(line) for line in lines)
    return HttpResponse(latin1(body), status=status, content_type="text/plain; charset=ISO-8859-1")


def ko(message: str, status: int = 200) -> HttpResponse:
    """``KO`` and the message, as S²LOW's scripts echo it (HTTP 200; authentication 401/403)."""
    return text("KO", message, status=status)


def ok_id(pk: int) -> HttpResponse:
    """What S²LOW's ``returnAndExit`` writes for an API call that created something."""
    return text("OK", pk, "", "")


def ko_line(message: str) -> HttpResponse:
    """What S²LOW's ``returnAndExit`` writes for a refused API call (the message ends a line)."""
    return text("KO", message, "")
