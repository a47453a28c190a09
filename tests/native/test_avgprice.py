"""The native reference price against the Python one (bot4/venue/avgprice.py, the
specification): the same answers and state over random streams of trades and queries, and an
amount out of range refused with OverflowError, changing nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot4._native import AveragePrice as NativeAveragePrice
from bot4.venue.avgprice import AveragePrice

I64 = 2**63

steps = st.lists(
    st.one_of(
        st.tuples(st.just("trade"), st.integers(0, 90_000), st.integers(1, 10**9),
                  st.integers(1, 10**9)),
        st.tuples(st.just("ask"), st.integers(-200_000, 200_000), st.just(0), st.just(0)),
    ),
    max_size=300,
)  # fmt: skip


@given(minutes=st.integers(0, 3), seed=st.none() | st.integers(1, 10**6), steps=steps)
def test_the_native_reference_price_agrees_with_the_python_one(
    minutes: int, seed: int | None, steps: list[tuple[str, int, int, int]]
) -> None:
    """Trades move time forward; a query may look at any time, before the last trade too
    (it moves only a read cursor, in both)."""
    python, native = AveragePrice(minutes, seed), NativeAveragePrice(minutes, seed)
    assert native.window_ms == python.window_ms
    time = 0
    for kind, step, price, lots in steps:
        if kind == "trade":
            time += step
            python.record(time, price, lots)
            native.record(time, price, lots)
        else:
            assert native.reference(time + step) == python.reference(time + step)
        assert native.last == python.last
        last, trades = native.state()
        assert (last, tuple(trades)) == python.state()


def test_the_compaction_of_a_long_history_keeps_the_answers() -> None:
    """Past 4,096 trades out of the window, both drop the old ones and still agree."""
    python, native = AveragePrice(1), NativeAveragePrice(1)
    for i in range(20_000):
        python.record(i * 100, 1_000 + i % 7, 1 + i % 3)
        native.record(i * 100, 1_000 + i % 7, 1 + i % 3)
        if i % 997 == 0:
            assert native.reference(i * 100 + 30_000) == python.reference(i * 100 + 30_000)
    assert native.state()[1] == list(python.state()[1])


def test_an_amount_out_of_range_raises_and_changes_nothing() -> None:
    native = NativeAveragePrice(1)
    native.record(0, 10, 1)
    before = native.state()
    for time, price, lots in ((I64, 1, 1), (1, I64, 1), (1, 1, -I64 - 1), (-I64, 1, 1)):
        with pytest.raises(OverflowError):
            native.record(time, price, lots)
        assert native.state() == before
    with pytest.raises(OverflowError):
        NativeAveragePrice(I64 // 60_000 + 1)
