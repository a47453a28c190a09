"""Native commission against `bot4.core.fees` (the specification): the same units, the same
charged asset and the same exact parts, for the rates of every tier, role and side of the
project's fee schedule and of random decimal rates (what a fee config gives), with and without
a BNB price and balance, and of arbitrary fractions (past 128 bits the native side computes in
unbounded integers); bad input and out-of-range amounts raise, as typed errors."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot4 import _native
from bot4.core.fees import Commission, Rates, commission, load_fees, trade_commission
from tests.conftest import ROOT

SCHEDULE = load_fees(ROOT / "configs" / "fees.toml")
TABLE_RATES = [SCHEDULE.rates(tier.level, symbol, is_maker, is_buyer, bnb_enabled=bnb)
               for tier in SCHEDULE.tiers for symbol in ("BTCUSDT", "BNBUSDT", "ETHUSDT")
               for is_maker in (False, True) for is_buyer in (False, True)
               for bnb in (False, True)]  # fmt: skip
AMOUNTS = st.integers(0, 10**15)


def decimals(places: int, top: Fraction) -> st.SearchStrategy[Fraction]:
    """Fractions a decimal config can give: k / 10**places, k / 10**places <= top."""
    scale = 10**places
    return st.integers(0, int(top * scale)).map(lambda k: Fraction(k, scale))


RATES = st.integers(0, 10).flatmap(lambda places: decimals(places, Fraction(1, 20)))
PRICES = st.integers(0, 8).flatmap(lambda places: decimals(places, Fraction(10**6)))


@st.composite
def decimal_rates(draw: st.DrawFn) -> Rates:
    """Rates as the fee config makes them (decimal strings), a decimal BNB discount."""
    discount = draw(st.none() | decimals(2, Fraction(1)))
    return Rates(draw(RATES), draw(RATES), draw(RATES), discount, draw(st.booleans()),
                 draw(st.booleans()))  # fmt: skip


@st.composite
def any_rates(draw: st.DrawFn) -> Rates:
    any_fraction = st.fractions(0, Fraction(1, 20), max_denominator=10**9)
    discount = draw(st.none() | st.fractions(0, 1, max_denominator=1_000))
    return Rates(draw(any_fraction), draw(any_fraction), draw(any_fraction), discount,
                 draw(st.booleans()), draw(st.booleans()))  # fmt: skip


def pair(value: Fraction | None) -> tuple[int, int] | None:
    return None if value is None else (value.numerator, value.denominator)


def args(rates: Rates) -> tuple:  # type: ignore[type-arg]
    return (pair(rates.standard), pair(rates.tax), pair(rates.special), pair(rates.discount),
            rates.is_buyer)  # fmt: skip


def expected(paid: Commission) -> tuple:  # type: ignore[type-arg]
    return (paid.units, paid.in_bnb, pair(paid.standard), pair(paid.tax), pair(paid.special))


@given(rates=st.sampled_from(TABLE_RATES) | decimal_rates(), received=AMOUNTS,
       price=st.none() | PRICES.filter(bool), balance=st.integers(0, 10**9))  # fmt: skip
def test_native_commission_agrees_with_the_python_one(
    rates: Rates, received: int, price: Fraction | None, balance: int
) -> None:
    paid = commission(received, rates, bnb_price=price, bnb_balance_units=balance)
    native = _native.commission(received, *args(rates), pair(price), balance)
    assert native == expected(paid)


@given(rates=any_rates(), received=AMOUNTS,
       price=st.none() | st.fractions(Fraction(1, 10**6), 10**6, max_denominator=10**8),
       balance=st.integers(0, 10**9))  # fmt: skip
def test_any_fractions_give_the_same_commission(
    rates: Rates, received: int, price: Fraction | None, balance: int
) -> None:
    """Past what decimal configs give, 128-bit fractions can run out: the native side then
    adds the same parts in unbounded integers, and still answers as Python does."""
    paid = commission(received, rates, bnb_price=price, bnb_balance_units=balance)
    assert _native.commission(received, *args(rates), pair(price), balance) == expected(paid)


@given(rates=st.sampled_from(TABLE_RATES) | decimal_rates(), base=AMOUNTS, quote=AMOUNTS,
       price=st.none() | PRICES.filter(bool), balance=st.integers(0, 10**9))  # fmt: skip
def test_native_trade_commission_agrees_with_the_python_one(
    rates: Rates, base: int, quote: int, price: Fraction | None, balance: int
) -> None:
    fee = trade_commission(rates, base, quote, bnb_price_quote=price, bnb_balance_units=balance)
    asset, native = _native.trade_commission(*args(rates), base, quote, pair(price), balance)
    assert (asset, native) == (fee.asset.value, expected(fee.detail))


def test_bad_input_and_out_of_range_amounts_raise() -> None:
    one = (1, 1000)
    with pytest.raises(ValueError, match="negative"):
        _native.commission(-1, one, one, one, None, True)
    with pytest.raises(ValueError, match="bnb_price"):
        _native.commission(1, one, one, one, (1, 4), True, (0, 1), 10)
    with pytest.raises(ValueError, match="denominator"):
        _native.commission(1, (1, 0), one, one, None, True)
    with pytest.raises(OverflowError):
        _native.commission(2**127, one, one, one, None, True)
    # a product past 128 bits is computed exactly; a commission past 128 bits is refused
    odd = (2**100 - 1, 2**100 + 1)
    assert _native.commission(2**62 - 1, odd, one, one, None, True) == expected(
        commission(2**62 - 1, Rates(Fraction(*odd), Fraction(*one), Fraction(*one), None, False,
                                    True)))  # fmt: skip
    with pytest.raises(OverflowError):
        _native.commission(2**62, (2**120, 1), one, one, None, True)
