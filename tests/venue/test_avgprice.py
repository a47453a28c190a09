"""The reference price against a brute-force VWAP, and its state untouched by queries."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot4.venue.avgprice import AveragePrice

steps = st.lists(
    st.tuples(
        st.booleans(),  # True: a trade, False: a query
        st.integers(min_value=0, max_value=90_000),  # ms since the previous step
        st.integers(min_value=1, max_value=500),  # price, ticks
        st.integers(min_value=1, max_value=50),  # lots
        st.integers(min_value=-30_000, max_value=30_000),  # a query may look back a little
    ),
    max_size=200,
)


def brute(
    trades: list[tuple[int, int, int]], now: int, window: int, last: int | None
) -> tuple[int, int] | None:
    # trades leave the window relative to the newest trade (a query that looks back before it
    # cannot bring an aged-out trade back); the venue never asks before its newest trade
    newest = max((t for t, _, _ in trades), default=now)
    inside = [(p, q) for t, p, q in trades if t > max(now, newest) - window]
    if inside:
        return sum(p * q for p, q in inside), sum(q for _, q in inside)
    return None if last is None else (last, 1)


@given(steps, st.sampled_from([0, 1, 5]), st.one_of(st.none(), st.integers(1, 500)))
def test_reference_equals_brute_force_vwap(
    script: list[tuple[bool, int, int, int, int]], minutes: int, seed: int | None
) -> None:
    avg = AveragePrice(minutes, seed)
    window = minutes * 60_000
    trades: list[tuple[int, int, int]] = []
    clock, last = 0, seed
    for is_trade, gap, price, lots, back in script:
        clock += gap
        if is_trade:
            avg.record(clock, price, lots)
            trades.append((clock, price, lots))
            last = price
        else:
            now = max(0, clock + back)
            expected = (
                brute(trades, now, window, last)
                if window
                else (None if last is None else (last, 1))
            )
            assert avg.reference(now) == expected


@given(steps)
def test_queries_never_change_the_state(script: list[tuple[bool, int, int, int, int]]) -> None:
    asked, quiet = AveragePrice(1), AveragePrice(1)
    clock = 0
    for is_trade, gap, price, lots, _ in script:
        clock += gap
        if is_trade:
            asked.record(clock, price, lots)
            quiet.record(clock, price, lots)
        else:
            asked.reference(clock + 10**6)  # far past every trade
    assert asked.state() == quiet.state()


def test_long_histories_compact_and_stay_exact() -> None:
    avg = AveragePrice(1)
    for i in range(20_000):
        avg.record(i * 10, 100 + i % 7, 1 + i % 3)
    # the last minute holds 6000 trades: times 140_000 .. 199_990 (strictly after 139_990)
    trades = [(i * 10, 100 + i % 7, 1 + i % 3) for i in range(14_000, 20_000)]
    expected = (sum(p * q for _, p, q in trades), sum(q for *_, q in trades))
    assert avg.reference(199_990) == expected
    assert len(avg.state()[1]) == 6_000
    assert len(avg._times) < 20_000  # compacted
