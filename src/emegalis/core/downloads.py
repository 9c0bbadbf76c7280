"""Serving a stored file as a download: 404 (not 500) when the record has no file or the
storage lost it."""

from django.http import FileResponse, Http404


def attachment(
    field_file,
    filename: str,
    *,
    content_type: str | None = None,
    missing: str = "Fichier introuvable.",
) -> FileResponse:
    if not field_file:
        raise Http404(missing)
    try:
        handle = field_file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404(missing) from None
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)


def pdf_attachment(field_file, filename: str, *, missing: str = "Fichier introuvable."):
    return attachment(field_file, filename, content_type="application/pdf", missing=missing)
