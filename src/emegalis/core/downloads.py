"""Serving files: the one place that names a download.

Every response of the platform that carries a file name (stored files, generated PDFs, CSV,
zip, XML, text) builds its ``Content-Disposition`` with :func:`content_disposition`. File
names often come from user input (a consultation reference, an uploaded file's name, a
company name), so the header is built to be safe whatever the name holds:

- control characters (line breaks, tabulations, NUL, the Unicode bidirectional overrides
  that disguise an extension…) never reach the header: a line break in a header is a header
  injection, and Django refuses it with ``BadHeaderError`` (a 500);
- path separators become « - », so that no client writes outside its download folder;
- an ASCII ``filename="…"`` (accents folded, quotes and other risky characters replaced) for
  old clients, followed, when the name is not plain ASCII, by the exact name in
  ``filename*=UTF-8''…`` (RFC 6266 § 4.3, RFC 8187, formerly RFC 5987), which every current
  browser prefers.
"""

import re
import unicodedata
from urllib.parse import quote

from django.http import FileResponse, Http404, HttpResponseBase

DEFAULT_NAME = "fichier"
MAX_NAME_LENGTH = 200
# Unicode categories that never belong in a file name: controls (Cc: C0, DEL, C1), format
# characters (Cf: bidirectional overrides, zero-width joiners…), line and paragraph
# separators (Zl, Zp), surrogates and private use (Cs, Co), unassigned (Cn).
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
# What stays in the ASCII fallback: letters, digits and a few punctuation marks that no
# client, shell or spreadsheet treats specially.
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9 ._()+,=@#&'-]")
# Letters and marks of French text that Unicode does not decompose into ASCII.
_ASCII_SPELLING = str.maketrans(
    {
        "Œ": "OE",
        "œ": "oe",
        "Æ": "AE",
        "æ": "ae",
        "ß": "ss",
        "’": "'",
        "‘": "'",
        "–": "-",
        "—": "-",
        "€": "EUR",
    }
)


def clean_filename(name: str, *, default: str = DEFAULT_NAME) -> str:
    """The name, on one line, without path separators or invisible characters."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = "".join(" " if unicodedata.category(c) in _UNSAFE_CATEGORIES else c for c in text)
    text = re.sub(r"[/\\]+", "-", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    if len(text) > MAX_NAME_LENGTH:
        stem, dot, ext = text.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            text = stem[: MAX_NAME_LENGTH - len(ext) - 1].rstrip() + "." + ext
        else:
            text = text[:MAX_NAME_LENGTH].rstrip()
    return text or default


def ascii_filename(name: str, *, default: str = DEFAULT_NAME) -> str:
    """The ASCII fallback of a clean name: accents folded (« é » → « e »), every other
    character outside a short safe list replaced by « _ »."""
    folded = "".join(
        c if c.isascii() else "_"
        for c in unicodedata.normalize("NFKD", name.translate(_ASCII_SPELLING))
        if not unicodedata.combining(c)
    )
    folded = _ASCII_UNSAFE.sub("_", folded)
    folded = re.sub(r"\s+", " ", folded).strip(" .")
    return folded or default


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """A safe ``Content-Disposition`` value naming `filename` (see the module's docstring)."""
    disposition = "inline" if inline else "attachment"
    name = clean_filename(filename)
    fallback = ascii_filename(name)
    value = f'{disposition}; filename="{fallback}"'
    if fallback != name:
        value += "; filename*=UTF-8''" + quote(name, safe="")
    return value


def name_download(
    response: HttpResponseBase, filename: str, *, inline: bool = False
) -> HttpResponseBase:
    """Set the response's ``Content-Disposition`` to download (or show) it as `filename`."""
    response["Content-Disposition"] = content_disposition(filename, inline=inline)
    return response


def attachment(
    field_file,
    filename: str,
    *,
    content_type: str | None = None,
    missing: str = "Fichier introuvable.",
) -> FileResponse:
    """Stream a stored file as a download: 404 (not 500) when the record has no file or the
    storage lost it."""
    if not field_file:
        raise Http404(missing)
    try:
        handle = field_file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404(missing) from None
    return stored_file_response(handle, filename, content_type=content_type)


def stored_file_response(
    handle, filename: str, *, content_type: str | None = None, inline: bool = False
) -> FileResponse:
    """A FileResponse for an open file, named by :func:`content_disposition` (its type, when
    not given, guessed from that name by Django)."""
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=clean_filename(filename),
        content_type=content_type,
    )
    return name_download(response, filename, inline=inline)


def pdf_attachment(field_file, filename: str, *, missing: str = "Fichier introuvable."):
    return attachment(field_file, filename, content_type="application/pdf", missing=missing)
