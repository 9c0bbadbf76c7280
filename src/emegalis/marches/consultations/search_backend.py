# ruff: noqa: S608 — SQL is built from module constants only; user input is always bound.
"""Full-text search of consultations: one code path per database backend.

Both index `Consultation.search_document`, a normalised text (lower case, accents removed) of
the reference, title, object, buyer and place, written by the services.

- PostgreSQL: a stored generated column `search_vector` = to_tsvector('french',
  search_document) (computed by PostgreSQL on every insert and update, so bulk_create needs
  nothing more) with a GIN index; queries match it with a prefix tsquery (`mot:*`, French
  stemming). The column is not a model field: only this module reads it.
- SQLite: an FTS5 table (external content = the consultation table) kept in sync by triggers;
  queries are prefix queries (`"mot"*`).

The index, table and triggers are (re)created after every migrate (`install`, idempotent): on
SQLite, Django rebuilds a table when some columns change, which would drop the triggers."""

import re
import unicodedata

from django.db import connection
from django.db.models import QuerySet

TABLE = "marches_consultation"


FTS_TABLE = "marches_consultation_fts"


PG_INDEX = "marches_consultation_search_gin"


PG_OLD_INDEX = "marches_consultation_fts_gin"  # expression index of the first version


PG_COLUMN = "search_vector"


TS_VECTOR = "to_tsvector('french'::regconfig, search_document)"


MAX_WORDS = 8


def normalise(text: str) -> str:
    """Lower case, accents removed, punctuation turned into spaces."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    plain = plain.replace("œ", "oe").replace("æ", "ae")
    return " ".join(re.findall(r"[a-z0-9]+", plain))


def words(query: str) -> list[str]:
    return normalise(query).split()[:MAX_WORDS]


def install(using=None, **kwargs) -> None:
    """Create the search index of the current backend if missing (post_migrate handler)."""
    from django.db import connections

    conn = connections[using or "default"]
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(f"DROP INDEX IF EXISTS {PG_OLD_INDEX}")
            cursor.execute(
                f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS {PG_COLUMN} tsvector "
                f"GENERATED ALWAYS AS ({TS_VECTOR}) STORED"
            )
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON {TABLE} USING gin ({PG_COLUMN})"
            )
        elif conn.vendor == "sqlite":
            cursor.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name=%s", [FTS_TABLE]
            )
            existed = cursor.fetchone() is not None
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(search_document, "
                f"content='{TABLE}', content_rowid='id', "
                "tokenize='unicode61 remove_diacritics 2')"
            )
            cursor.execute(
                f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON {TABLE} BEGIN "
                f"INSERT INTO {FTS_TABLE}(rowid, search_document) "
                "VALUES (new.id, new.search_document); END"
            )
            cursor.execute(
                f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON {TABLE} BEGIN "
                f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_document) "
                "VALUES ('delete', old.id, old.search_document); END"
            )
            cursor.execute(
                f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE OF search_document "
                f"ON {TABLE} BEGIN "
                f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_document) "
                "VALUES ('delete', old.id, old.search_document); "
                f"INSERT INTO {FTS_TABLE}(rowid, search_document) "
                "VALUES (new.id, new.search_document); END"
            )
            if not existed:
                cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def filter_text(queryset: QuerySet, query: str) -> QuerySet:
    """Consultations whose title, object, buyer, reference or place contain every word of
    the query (prefixes match: « nettoy » finds « nettoyage »)."""
    terms = words(query)
    if not terms:
        return queryset
    vendor = connection.vendor
    if vendor == "postgresql":
        tsquery = " & ".join(f"{term}:*" for term in terms)
        return queryset.extra(  # noqa: S610 — bound parameter
            where=[f"{TABLE}.{PG_COLUMN} @@ to_tsquery('french'::regconfig, %s)"],
            params=[tsquery],
        )
    if vendor == "sqlite":
        match = " ".join(f'"{term}"*' for term in terms)
        return queryset.extra(  # noqa: S610 — bound parameter
            where=[f"{TABLE}.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)"],
            params=[match],
        )
    # Any other backend: a plain containment test on the normalised text.
    for term in terms:
        queryset = queryset.filter(search_document__contains=term)
    return queryset
