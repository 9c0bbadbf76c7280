"""The database commits a deposit durably before the platform answers (issue 10): SQLite
runs with synchronous=FULL; on PostgreSQL, a connection whose commits are asynchronous
(synchronous_commit = off) is refused outside DEBUG."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections


@pytest.mark.django_db
def test_sqlite_syncs_each_commit():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite seulement")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 2  # FULL (NORMAL is 1)


def _probe(options: str):
    """A new connection to the test database with ``options`` (libpq's -c settings)."""
    settings_dict = {
        **connection.settings_dict,
        "OPTIONS": {**connection.settings_dict.get("OPTIONS", {}), "options": options},
    }
    return type(connections["default"])(settings_dict, alias="durability_probe")


@pytest.mark.django_db
def test_postgresql_connection_with_asynchronous_commit_is_refused_outside_debug(settings):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL seulement")
    settings.DEBUG = False
    probe = _probe("-c synchronous_commit=off")
    with pytest.raises(ImproperlyConfigured, match="synchronous_commit = off"):
        probe.ensure_connection()
    assert probe.connection is None  # not left open for a request to use
    settings.DEBUG = True  # development may trade durability for speed
    probe = _probe("-c synchronous_commit=off")
    probe.ensure_connection()
    probe.close()
    settings.DEBUG = False
    probe = _probe("-c synchronous_commit=on")
    probe.ensure_connection()
    probe.close()
