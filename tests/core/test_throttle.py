"""Fixed-window counters shared by every web node (core/throttle.py)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from emegalis.core import clock, tasks, throttle
from emegalis.core.models import RateCounter

HOUR = timedelta(hours=1)


@pytest.mark.django_db
def test_hit_allows_up_to_the_limit_then_refuses_without_counting():
    assert [throttle.hit("k", limit=3, window=HOUR) for _ in range(5)] == [True] * 3 + [False] * 2
    assert RateCounter.objects.get().count == 3
    assert throttle.reached("k", limit=3, window=HOUR)
    assert not throttle.reached("k", limit=4, window=HOUR)
    assert throttle.hit("autre", limit=3, window=HOUR)


@pytest.mark.django_db
def test_a_new_window_starts_from_zero():
    for _ in range(3):
        throttle.hit("k", limit=3, window=HOUR)
    assert not throttle.hit("k", limit=3, window=HOUR)
    with clock.shifted(HOUR):
        assert throttle.hit("k", limit=3, window=HOUR)
        assert not throttle.reached("k", limit=3, window=HOUR)


@pytest.mark.django_db
def test_record_counts_past_any_limit():
    for _ in range(7):
        throttle.record("k", window=HOUR)
    assert RateCounter.objects.get().count == 7
    assert throttle.reached("k", limit=7, window=HOUR)


def test_keys_do_not_store_the_value_itself():
    key = throttle.key_for("password-reset-account", " Agent@Commune.FR ")
    assert key == throttle.key_for("password-reset-account", "agent@commune.fr")
    assert "agent" not in key and len(key) < 200


@pytest.mark.django_db
def test_purge_deletes_counters_older_than_a_day():
    with clock.shifted(-timedelta(days=2)):
        throttle.hit("vieux", limit=3, window=HOUR)
    throttle.hit("récent", limit=3, window=HOUR)
    assert tasks.purge_rate_counters.call() == 1
    assert list(RateCounter.objects.values_list("key", flat=True)) == ["récent"]


@pytest.mark.django_db(transaction=True)
def test_parallel_hits_never_pass_the_limit():
    if connection.vendor != "postgresql":
        pytest.skip("threads with their own connections: PostgreSQL only")
    results, errors = [], []
    barrier = threading.Barrier(8)

    def worker():
        try:
            barrier.wait(timeout=10)
            for _ in range(5):
                results.append(throttle.hit("course", limit=3, window=HOUR))
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
    assert results.count(True) == 3 and len(results) == 40
