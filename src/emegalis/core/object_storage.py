"""The S3 storage of the production topology, without django-storages' memory leak on save.

`S3Storage._save` (django-storages 1.14) wraps the content it is given and, to work around
boto/s3transfer#80, stores the wrapper's own bound `close` method on the wrapper while it
uploads. Restoring it afterwards leaves the wrapper referring to itself: a reference cycle
that only the cyclic garbage collector frees, and that holds the content it wraps, a whole
pli segment (16 MiB) per save. Under a steady deposit the collector runs rarely enough that
a gunicorn worker grew by hundreds of MiB on a 1 GiB offer (django-storages issue #1564).

`ObjectStorage` lends the content to `S3Storage._save` through a small proxy and takes it
back once the upload is over: the cycle then holds only the proxy and the wrapper, a few
hundred bytes, and the segment is freed as soon as the caller drops it.
"""

from __future__ import annotations

from django.core.files.utils import FileProxyMixin
from storages.backends.s3 import S3Storage


class _LentContent(FileProxyMixin):
    """The content as `S3Storage._save` sees it, until `take_back()` is called."""

    def __init__(self, content) -> None:
        self.file = content
        self.content_type = getattr(content, "content_type", None)

    @property
    def closed(self) -> bool:
        return self.file is None or self.file.closed

    def close(self) -> None:  # the caller closes its content, not the storage
        pass

    def take_back(self) -> None:
        self.file = None


class ObjectStorage(S3Storage):
    def _save(self, name, content):
        lent = _LentContent(content)
        try:
            return super()._save(name, lent)
        finally:
            lent.take_back()
