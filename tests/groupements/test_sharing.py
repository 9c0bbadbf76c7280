"""Sharing an amount to the cent: the parts always add up to the total."""

import random
from decimal import Decimal

import pytest

from emegalis.groupements.sharing import split, split_fixed_and_variable


def test_a_hundred_euros_in_three_equal_shares():
    assert split(Decimal("100"), {"a": 1, "b": 1, "c": 1}) == {
        "a": Decimal("33.34"),
        "b": Decimal("33.33"),
        "c": Decimal("33.33"),
    }


def test_the_cents_left_over_go_to_the_largest_remainders():
    # exact shares 12.345 / 24.69 / 61.965 (weights 1, 2, 5.02 of 8.02 → rounded)
    shares = split(Decimal("99.00"), {"a": Decimal("1"), "b": Decimal("2"), "c": Decimal("5.02")})
    assert sum(shares.values()) == Decimal("99.00")
    exact = {
        k: Decimal("99") * w / Decimal("8.02")
        for k, w in (("a", 1), ("b", 2), ("c", Decimal("5.02")))
    }
    for key, value in shares.items():
        assert abs(value - exact[key]) < Decimal("0.01")


def test_random_weights_always_reconcile_to_the_cent():
    rng = random.Random(20261205)
    for _ in range(500):
        total = Decimal(rng.randint(0, 10_000_000)) / 100
        weights = {i: Decimal(rng.randint(0, 100_000)) / 1000 for i in range(rng.randint(1, 30))}
        shares = split(total, weights)
        assert sum(shares.values()) == total
        assert all(value >= 0 for value in shares.values())
        weight_sum = sum(weights.values())
        if weight_sum:
            for key, value in shares.items():
                assert abs(value - total * weights[key] / weight_sum) < Decimal("0.01")


def test_no_weight_at_all_means_equal_shares():
    assert split(Decimal("10"), {"a": 0, "b": 0}) == {"a": Decimal("5.00"), "b": Decimal("5.00")}


def test_a_negative_weight_is_refused():
    with pytest.raises(ValueError):
        split(Decimal("10"), {"a": -1, "b": 2})


def test_fixed_part_equal_and_variable_part_by_needs():
    shares = split_fixed_and_variable(
        Decimal("1000"), {"a": Decimal("300"), "b": Decimal("100")}, fixed_percent=Decimal("20")
    )
    # fixed 200 → 100 each; variable 800 → 600 / 200
    assert shares == {"a": Decimal("700.00"), "b": Decimal("300.00")}
    odd = split_fixed_and_variable(
        Decimal("100.01"), {1: 1, 2: 1, 3: 5}, fixed_percent=Decimal("33.3")
    )
    assert sum(odd.values()) == Decimal("100.01")
