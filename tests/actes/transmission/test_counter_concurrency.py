"""The daily envelope counter under concurrency: one upsert per allocation, so parallel
transactions never get the same serial (PostgreSQL: separate connections per thread; SQLite
serialises writers with IMMEDIATE transactions, and its in-memory test database is shared by
threads, so the threaded check runs on PostgreSQL)."""

import threading
from datetime import date

import pytest
from django.db import connection, connections, transaction

from emegalis.actes.transmission import services as transmission_services


@pytest.mark.django_db(transaction=True)
def test_parallel_allocations_get_distinct_serials():
    if connection.vendor != "postgresql":
        pytest.skip("threads with their own connections: PostgreSQL only")
    results, errors = [], []
    barrier = threading.Barrier(8)

    def worker():
        try:
            barrier.wait(timeout=10)
            for _ in range(10):
                with transaction.atomic():
                    results.append(
                        transmission_services.allocate_serial(
                            siren="123456782", day=date(2026, 3, 3)
                        )
                    )
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(results) == list(range(1, 81))
