"""Sizes shown to people: each said once (a receipt once printed « 597 octets (597 octets) »)."""

from emegalis.marches.conf import exact_size


def test_a_small_size_is_said_once_and_a_large_one_with_its_exact_bytes():
    assert exact_size(597) == "597 octets"
    assert exact_size(1) == "1 octet"
    assert exact_size(1_572_864) == "1,5 Mo (1\u00a0572\u00a0864 octets)"
