"""Files on stable storage before the platform answers: the one place that writes them.

A file the platform acknowledges with a legal effect (a segment of a pli whose offset is
answered, a signed receipt, an opening PV, a published DCE file, an @CTES archive sent or a
return received) must survive a power loss right after the answer (issue 10, ADR 0004). On
the local file system that takes, for each file:

1. the bytes written under a temporary name in the same directory, flushed and fsynced;
2. the temporary name renamed to the final one (atomic: a reader never sees a torn file
   under the final name; a kill leaves at most a temporary, see ``is_temporary``);
3. the directory fsynced, so that the rename itself is on disk;

and every directory created on the way fsynced with its parent, so the path survives too.

``DurableFileSystemStorage`` does this for every ``Storage.save`` (``FileField.save``,
``default_storage.save``): it is the default local storage (settings.STORAGES). On object
storage (S3, django-storages) a ``save`` returns once the PUT has been answered, which is the
object store's own durability promise; nothing more is done there.
"""

import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage

TEMPORARY_MARK = ".tmp-"


def is_temporary(name: str) -> bool:
    """A file left by a write killed before its rename (never acknowledged: safe to delete)."""
    return TEMPORARY_MARK in os.path.basename(name)


ORPHAN_AGE_SECONDS = 6 * 3600


def remove_orphan_temporaries(root: str | os.PathLike, *, older_than: float) -> list[Path]:
    """Delete the temporaries under ``root`` last written more than ``older_than`` seconds ago:
    left by a process killed between write and rename, never acknowledged. A write still in
    progress keeps touching its file, so a recent one is left alone."""
    limit = time.time() - older_than
    removed = []
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            if is_temporary(name) and path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def fsync_directory(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_directories(path: str | os.PathLike, mode: int | None = None) -> None:
    """``os.makedirs`` that fsyncs each directory it creates and its parent."""
    path = Path(path)
    missing = []
    while not path.is_dir():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for directory in reversed(missing):
        try:
            if mode is None:
                directory.mkdir()
            else:
                directory.mkdir(mode)
                os.chmod(directory, mode)  # mkdir's mode is masked by the umask
        except FileExistsError:
            if not directory.is_dir():
                raise FileExistsError(f"{directory} exists and is not a directory.") from None
            continue  # made by a concurrent writer, which syncs it
        fsync_directory(directory)
        fsync_directory(directory.parent)


def write_file(
    path: str | os.PathLike, chunks: Iterable[bytes | str], *, overwrite: bool = False
) -> None:
    """Write ``chunks`` to ``path`` durably (temporary + fsync + rename + directory fsync).

    Without ``overwrite``, FileExistsError when ``path`` exists (as ``O_EXCL``): the file is
    linked into place, which fails rather than replace. The directory must exist.
    """
    path = Path(path)
    temporary = path.with_name(f"{path.name}{TEMPORARY_MARK}{secrets.token_hex(6)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temporary, flags, 0o666)  # as Django's FileSystemStorage
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk.encode() if isinstance(chunk, str) else chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)  # FileExistsError if taken meanwhile
            os.unlink(temporary)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


class DurableFileSystemStorage(FileSystemStorage):
    """FileSystemStorage whose ``save`` returns only once the file and its name are on disk
    (``write_file``); same names, permissions and collision rules as Django's."""

    def _save(self, name, content):
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        make_directories(directory, self.directory_permissions_mode)
        while True:
            try:
                # A file already on disk (a large upload spooled by Django) is copied too:
                # moving it could cross file systems and would not sync it.
                write_file(full_path, content.chunks(), overwrite=self._allow_overwrite)
            except FileExistsError:
                name = self.get_available_name(name)
                full_path = self.path(name)
            else:
                break
        if self.file_permissions_mode is not None:
            os.chmod(full_path, self.file_permissions_mode)
        name = os.path.relpath(full_path, self.location)
        self._ensure_location_group_id(full_path)
        return str(name).replace("\\", "/")


ASYNCHRONOUS_COMMIT = (
    "PostgreSQL valide les transactions sans attendre qu'elles soient sur disque "
    "(synchronous_commit = {value}) : un dépôt confirmé pourrait être perdu. Réglez "
    "synchronous_commit à « on » (ou plus) pour la base et le rôle de la plateforme."
)


def refuse_asynchronous_commit(sender, connection, **kwargs) -> None:
    """On PostgreSQL with DEBUG off, refuse a connection whose commits are not durable
    (``synchronous_commit = off``): a deposit answered as received must survive a crash.
    Checked at each new connection, because the setting can come from the server, the
    database, the role or the connection options; it costs one ``SHOW`` per connection."""
    if connection.vendor != "postgresql" or settings.DEBUG:
        return
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        (value,) = cursor.fetchone()
    if value == "off":
        connection.close()
        raise ImproperlyConfigured(ASYNCHRONOUS_COMMIT.format(value=value))
