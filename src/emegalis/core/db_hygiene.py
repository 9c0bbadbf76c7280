"""Defence in depth for the database files: after an event that erases a value the platform
should not keep around (a share encrypted to its member once collected), SQLite's WAL is
checkpointed and truncated so the old page images do not linger in the -wal file.
secure_delete (settings) zeroes the freed space in the main file. Nothing secret to the
server is stored anyway (ADR 0004); PostgreSQL needs nothing here (its WAL and dead tuples
are the operator's backups' concern, and hold no secret either)."""

import logging

from django.db import connection

logger = logging.getLogger(__name__)


def checkpoint() -> None:
    if connection.vendor != "sqlite":
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except Exception:  # a busy reader only delays the checkpoint; never fail the request
        logger.warning("SQLite WAL checkpoint failed", exc_info=True)
