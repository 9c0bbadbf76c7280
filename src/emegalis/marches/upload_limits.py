"""Refusing an oversized upload before it is spooled: DCE files (page and API) and message
attachments."""

from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from . import conf

# A multipart body is a little larger than the file it carries.
MULTIPART_OVERHEAD = 1024 * 1024


def too_big_message(cap: int) -> str:
    return f"Fichier refusé : la taille maximale d'un fichier du DCE est de {conf.human_size(cap)}."


def declared_too_big(request, cap: int) -> bool:
    """The request announces more than the cap allows (refuse before reading the body)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return length > cap + MULTIPART_OVERHEAD


class UploadSizeLimitHandler(FileUploadHandler):
    """Stops reading an upload as soon as one file exceeds the cap (chunked requests without
    a Content-Length included); the caller then reports the limit."""

    def __init__(self, request=None, cap: int = 0):
        super().__init__(request)
        self.cap = cap
        self.received = 0
        self.exceeded = False

    def new_file(self, *args, **kwargs):
        self.received = 0
        super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.cap:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None


def install_limit(request, cap: int) -> UploadSizeLimitHandler | None:
    """Put the limit first among the request's upload handlers; None when the body has
    already been parsed (a session's CSRF check reads it), the caller then checks the size."""
    limiter = UploadSizeLimitHandler(request, cap)
    try:
        request.upload_handlers.insert(0, limiter)
    except AttributeError:
        return None
    return limiter
