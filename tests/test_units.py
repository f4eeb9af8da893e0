"""The one units convention (planner.units): prices in $ per million tokens, costs in $ per
problem, and conversions that give back what the user wrote."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from planner.units import per_1k_problems, per_million, per_token, per_token_from_per_1k


@given(cents=st.integers(0, 10_000_000))
def test_a_price_comes_back_as_written(cents):
    price = cents / 100  # $ per million tokens, as a provider publishes it
    assert per_million(per_token(price)) == price


def test_the_bundled_profiles_prices_read_back_without_float_noise():
    # 6.65 $/M was shown as 6.6499999999999995 in a spec's provenance
    assert per_million(6.65e-6) == 6.65 and per_million(20.24e-6) == 20.24
    assert per_token(1.91) == 1.91 / 1_000_000


def test_costs_per_1000_problems_and_old_prices_per_1000_tokens():
    assert per_1k_problems(0.0107) == 10.7 and per_1k_problems(None) is None
    assert per_million(per_token_from_per_1k(0.002)) == 2.0
