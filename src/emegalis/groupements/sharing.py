"""Sharing an amount between members to the cent, the parts adding up to the total exactly.

Each member first gets its exact share rounded down to the cent; the cents left over go one
each to the largest remainders (then the largest weights, then the order given), so the sum
is the total to the cent whatever the weights. Pure Python: no Django.
"""

from collections.abc import Hashable, Mapping
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def split[K: Hashable](total: Decimal, weights: Mapping[K, Decimal]) -> dict[K, Decimal]:
    """`total` (rounded to the cent) shared in proportion to `weights` (non-negative)."""
    total = to_cent(Decimal(total))
    if not weights:
        return {}
    if any(Decimal(w) < 0 for w in weights.values()):
        raise ValueError("A weight is negative.")
    weight_sum = sum((Decimal(w) for w in weights.values()), Decimal(0))
    if weight_sum == 0:  # nothing to weigh by: equal shares
        weights = dict.fromkeys(weights, Decimal(1))
        weight_sum = Decimal(len(weights))
    exact = {key: total * Decimal(w) / weight_sum for key, w in weights.items()}
    shares = {key: value.quantize(CENT, rounding=ROUND_DOWN) for key, value in exact.items()}
    left = int((total - sum(shares.values(), Decimal(0))) / CENT)
    order = list(weights)
    by_remainder = sorted(
        order,
        key=lambda k: (-(exact[k] - shares[k]), -Decimal(weights[k]), order.index(k)),
    )
    for key in by_remainder[:left]:
        shares[key] += CENT
    return shares


def split_fixed_and_variable[K: Hashable](
    total: Decimal, weights: Mapping[K, Decimal], *, fixed_percent: Decimal
) -> dict[K, Decimal]:
    """A fixed part (`fixed_percent` of the total) in equal shares, the rest by `weights`."""
    total = to_cent(Decimal(total))
    fixed = to_cent(total * Decimal(fixed_percent) / 100)
    equal = split(fixed, dict.fromkeys(weights, Decimal(1)))
    variable = split(total - fixed, weights)
    return {key: equal[key] + variable[key] for key in weights}
