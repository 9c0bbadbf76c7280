"""Files a service writes to storage before its transaction commits, deleted if it fails.

The database rolls back by itself; the storage does not. A service that saves files then writes
rows wraps both in `deleted_on_failure()` and registers each name it saved: if anything raises
before the block ends, the files go too, so no orphan outlives a refused or failed call.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.files.storage import default_storage

logger = logging.getLogger(__name__)


class SavedFiles:
    def __init__(self) -> None:
        self.names: list[str] = []

    def add(self, name: str) -> str:
        self.names.append(name)
        return name

    def delete_all(self) -> None:
        for name in self.names:
            try:
                default_storage.delete(name)
            except OSError:
                logger.warning("Fichier orphelin non supprimé : %s", name)
        self.names = []


@contextmanager
def deleted_on_failure() -> Iterator[SavedFiles]:
    saved = SavedFiles()
    try:
        yield saved
    except BaseException:
        saved.delete_all()
        raise
