"""Circuit breakers (bot4.risk.breakers): each trip rule at its boundary, cool-down and probes,
manual trip/reset, the venue/symbol board, config validation, and property tests of the state
machine over random streams of allows, outcomes and prices.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot4.core.stats import nearest_rank
from bot4.risk.breakers import (
    Admission,
    BreakerBoard,
    BreakerConfig,
    BreakerEvent,
    BreakerState,
    CircuitBreaker,
    TripReason,
)

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN

# Only the rule under test is enabled unless a test says otherwise.
QUIET: dict[str, Any] = {"max_reject_rate": None, "max_error_rate": None}


def breaker(**overrides: Any) -> CircuitBreaker:
    return CircuitBreaker("B", BreakerConfig(**{**QUIET, **overrides}))


def opened(cooldown_ms: int = 1_000, probe_orders: int = 2, **overrides: Any) -> CircuitBreaker:
    """A breaker tripped manually at t=1000."""
    brk = breaker(cooldown_ms=cooldown_ms, probe_orders=probe_orders, **overrides)
    brk.trip(1_000)
    return brk


def transitions(brk: CircuitBreaker) -> list[tuple[BreakerState, BreakerState, TripReason | None]]:
    return [(e.from_state, e.to_state, e.reason) for e in brk.events]


# -- trip rules ----------------------------------------------------------------------------


def test_reject_rate_at_limit_holds_and_just_over_trips() -> None:
    brk = breaker(max_reject_rate=0.5, min_events=10)
    for i in range(10):
        brk.record(100 + i, rejected=i < 5)
    assert brk.state is CLOSED  # 5/10 == 0.5 is at the limit
    brk.record(200, rejected=True)  # 6/11 > 0.5
    assert brk.state is OPEN
    [event] = brk.events
    assert event == BreakerEvent(200, "B", CLOSED, OPEN, TripReason.REJECT_RATE, event.detail)
    assert "6/11" in event.detail and "0.5" in event.detail


def test_error_rate_at_limit_holds_and_just_over_trips() -> None:
    brk = breaker(max_error_rate=0.2, min_events=10)
    for i in range(10):
        brk.record(100 + i, error=i < 2)
    assert brk.state is CLOSED  # 2/10 == 0.2
    brk.record(200, ok=False)  # a failure without a flag counts as an error: 3/11
    assert brk.state is OPEN
    assert transitions(brk) == [(CLOSED, OPEN, TripReason.ERROR_RATE)]
    assert "3/11" in brk.events[0].detail


def test_rejects_do_not_count_as_errors() -> None:
    brk = breaker(max_error_rate=0.2, min_events=5)
    for t in range(10):
        brk.record(t, ok=False, rejected=True)
    assert brk.state is CLOSED
    assert brk.snapshot()["rejects"] == 10 and brk.snapshot()["errors"] == 0


def test_reject_rule_is_checked_before_error_rule() -> None:
    brk = breaker(max_reject_rate=0.5, max_error_rate=0.2, min_events=4)
    for t in range(4):
        brk.record(t, rejected=True, error=True)
    assert transitions(brk) == [(CLOSED, OPEN, TripReason.REJECT_RATE)]


def test_rate_rules_wait_for_min_events() -> None:
    brk = breaker(max_reject_rate=0.5, max_error_rate=0.2, min_events=10)
    for t in range(9):
        brk.record(t, rejected=True)
    assert brk.state is CLOSED
    brk.record(9, rejected=True)
    assert brk.state is OPEN


@pytest.mark.parametrize(("late_ms", "expected"), [(999, OPEN), (1_000, CLOSED)])
def test_window_keeps_only_entries_newer_than_now_minus_window(
    late_ms: int, expected: BreakerState
) -> None:
    brk = breaker(max_reject_rate=0.5, min_events=3, window_ms=1_000)
    brk.record(0, rejected=True)
    brk.record(0, rejected=True)
    brk.record(late_ms)  # at 1000 both t=0 entries expire: 0 > 1000 - 1000 is false
    assert brk.state is expected
    if expected is CLOSED:
        assert brk.snapshot()["results"] == 1
        assert brk.snapshot()["rejects"] == 0


def test_latency_percentile_at_limit_holds_and_just_over_trips() -> None:
    # Nearest rank: p90 of 10 samples is the 9th smallest.
    cfg = {"max_latency_us": 1_000, "latency_percentile": 90.0, "min_events": 10}
    at_limit = breaker(**cfg)
    for t, lat in enumerate([100] * 8 + [1_000, 99_999]):
        at_limit.record(t, latency_us=lat)
    assert at_limit.state is CLOSED

    over = breaker(**cfg)
    for t, lat in enumerate([100] * 8 + [1_001, 99_999]):
        over.record(t, latency_us=lat)
    assert transitions(over) == [(CLOSED, OPEN, TripReason.LATENCY)]
    assert "1001 us > 1000 us" in over.events[0].detail
    assert over.events[0].detail.startswith("p90 latency")


def test_latency_rule_counts_only_outcomes_with_a_latency() -> None:
    brk = breaker(max_latency_us=10, latency_percentile=50.0, min_events=3)
    for t in range(10):
        brk.record(t)  # no latency: no samples
    brk.record(10, latency_us=50)
    brk.record(11, latency_us=50)
    assert brk.state is CLOSED  # 2 samples < min_events
    brk.record(12, latency_us=50)
    assert brk.state is OPEN


def test_latency_samples_expire_with_the_window() -> None:
    brk = breaker(max_latency_us=10, latency_percentile=100.0, min_events=2, window_ms=100)
    brk.record(0, latency_us=500)
    brk.record(100, latency_us=5)  # the slow sample at t=0 has left the window
    brk.record(101, latency_us=5)
    assert brk.state is CLOSED
    assert brk.snapshot()["latency_samples"] == 2


def test_nearest_rank() -> None:
    values = list(range(1, 101))
    assert nearest_rank(values, 99.0) == 99
    assert nearest_rank(values, 100.0) == 100
    assert nearest_rank(values, 50.0) == 50
    assert nearest_rank(values, 0.001) == 1
    assert nearest_rank(list(range(1, 1001)), 99.9) == 999  # exact decimal, not 999.0000001
    assert nearest_rank([7, 3, 5], 50.0) == 5  # ceil(1.5) = 2nd smallest
    with pytest.raises(ValueError, match="no values"):
        nearest_rank([], 99.0)


def test_volatility_band_at_limit_holds_and_just_over_trips() -> None:
    brk = breaker(price_band_bps=100, window_ms=1_000)
    brk.record_price(0, 10_050)
    brk.record_price(1, 10_000)
    brk.record_price(2, 10_100)  # (10100 - 10000) * 10000 == 100 * 10000: at the band
    assert brk.state is CLOSED
    brk.record_price(3, 10_101)
    assert transitions(brk) == [(CLOSED, OPEN, TripReason.VOLATILITY)]
    assert "10000..10101" in brk.events[0].detail
    assert "101.00 bps > band 100 bps" in brk.events[0].detail


def test_volatility_uses_exact_integer_math() -> None:
    lo = 10**20
    hi = lo + 10**16 + 1  # 1 bps and a bit; float(hi - lo) / lo would round to exactly 1 bps
    brk = breaker(price_band_bps=1)
    brk.record_price(0, lo)
    brk.record_price(1, lo + 10**16)
    assert brk.state is CLOSED
    brk.record_price(2, hi)
    assert brk.state is OPEN
    assert "1.01 bps" in brk.events[0].detail  # rounded up to 0.01 bps


def test_volatility_falling_price_and_window_expiry() -> None:
    brk = breaker(price_band_bps=100, window_ms=1_000)
    brk.record_price(0, 10_200)
    brk.record_price(1_000, 10_000)  # the t=0 price has left the window
    assert brk.state is CLOSED
    assert brk.snapshot()["prices"] == 1
    brk.record_price(1_500, 10_100)  # 100 bps: at the band
    assert brk.state is CLOSED
    brk.record_price(1_600, 9_999)  # a fall: hi 10100, lo 9999
    assert transitions(brk) == [(CLOSED, OPEN, TripReason.VOLATILITY)]


def test_prices_without_a_band_never_trip() -> None:
    brk = breaker()
    brk.record_price(0, 1)
    brk.record_price(1, 1_000_000)
    assert brk.state is CLOSED


# -- cool-down and probes --------------------------------------------------------------------


def test_open_refuses_until_cooldown_then_half_open() -> None:
    brk = opened(cooldown_ms=500)
    assert brk.snapshot()["opened_at_ms"] == 1_000
    assert brk.allow(1_000) is False
    assert brk.allow(1_499) is False
    assert brk.state is OPEN
    assert brk.allow(1_500) is True
    assert brk.state is HALF_OPEN
    assert brk.events[-1] == BreakerEvent(1_500, "B", OPEN, HALF_OPEN, None, brk.events[-1].detail)
    assert "500 ms" in brk.events[-1].detail


def test_probes_all_succeed_then_closed_with_window_cleared() -> None:
    brk = breaker(max_reject_rate=0.5, min_events=2, cooldown_ms=100, probe_orders=3)
    brk.record(0, rejected=True)
    brk.record(1, rejected=True)
    assert brk.state is OPEN
    assert [brk.allow(101) for _ in range(4)] == [True, True, True, False]
    assert brk.snapshot()["probes_admitted"] == 3
    brk.record(102, latency_us=5)
    brk.record(103)
    assert brk.state is HALF_OPEN
    assert brk.allow(103) is False  # all three probes already admitted
    brk.record(104)
    assert brk.state is CLOSED
    assert transitions(brk) == [
        (CLOSED, OPEN, TripReason.REJECT_RATE),
        (OPEN, HALF_OPEN, None),
        (HALF_OPEN, CLOSED, None),
    ]
    assert brk.events[-1].detail == "3 probes succeeded"
    snap = brk.snapshot()
    assert (snap["results"], snap["rejects"], snap["opened_at_ms"]) == (0, 0, None)
    assert brk.allow(105) is True
    brk.record(105, rejected=True)  # the old rejects are gone: 1 result < min_events
    assert brk.state is CLOSED


@pytest.mark.parametrize(
    ("outcome", "text"),
    [
        ({"rejected": True}, "rejected"),
        ({"error": True}, "error"),
        ({"ok": False}, "error"),
        ({"latency_us": 51}, "latency 51 us > 50 us"),
        ({"rejected": True, "error": True, "latency_us": 60}, "rejected, error, latency 60 us"),
    ],
)
def test_probe_failure_reopens_and_restarts_cooldown(outcome: dict[str, Any], text: str) -> None:
    brk = opened(cooldown_ms=500, probe_orders=2, max_latency_us=50, min_events=1000)
    assert brk.allow(1_500) and brk.allow(1_500)
    brk.record(1_600, latency_us=50)  # at the latency limit: a success
    assert brk.state is HALF_OPEN
    brk.record(1_700, **outcome)
    assert brk.state is OPEN
    assert brk.events[-1].reason is TripReason.PROBE_FAILED
    assert text in brk.events[-1].detail
    assert brk.snapshot()["opened_at_ms"] == 1_700
    assert brk.allow(2_199) is False
    assert brk.allow(2_200) is True
    assert brk.snapshot()["probes_admitted"] == 1  # a fresh half-open period


def test_outcomes_while_open_are_ignored() -> None:
    brk = opened()
    before = brk.snapshot()
    brk.record(1_001, rejected=True, latency_us=10**9)
    brk.record(1_002, error=True)
    assert brk.snapshot() == before
    assert len(brk.events) == 1


# -- volatility while open / half-open -----------------------------------------------------


def test_band_breach_in_half_open_reopens_but_not_while_open() -> None:
    brk = opened(cooldown_ms=100, price_band_bps=100, window_ms=50)
    brk.record_price(1_010, 100)
    brk.record_price(1_020, 200)  # a breach while OPEN: kept, no new event
    assert len(brk.events) == 1
    assert brk.allow(1_100) is True
    assert brk.state is HALF_OPEN
    brk.record_price(1_101, 100)  # the breach above has left the 50 ms window
    assert brk.state is HALF_OPEN
    brk.record_price(1_102, 102)
    assert brk.state is OPEN
    assert brk.events[-1].from_state is HALF_OPEN
    assert brk.events[-1].reason is TripReason.VOLATILITY


def test_breach_still_in_window_reopens_on_first_half_open_price() -> None:
    brk = breaker(price_band_bps=100, window_ms=10_000, cooldown_ms=1_000)
    brk.record_price(0, 100)
    brk.record_price(1, 110)
    assert brk.state is OPEN
    assert brk.allow(1_001)
    brk.record_price(1_002, 105)  # 100 and 110 are still in the window
    assert brk.state is OPEN
    assert [e.reason for e in brk.events] == [TripReason.VOLATILITY, None, TripReason.VOLATILITY]


# -- manual trip and reset -----------------------------------------------------------------


def test_manual_trip_and_reset() -> None:
    brk = breaker(max_reject_rate=0.9, min_events=5, cooldown_ms=1_000, price_band_bps=10)
    brk.record(0, rejected=True)
    brk.record_price(0, 100)
    brk.trip(10, detail="fat finger")
    assert brk.events[-1] == BreakerEvent(10, "B", CLOSED, OPEN, TripReason.MANUAL, "fat finger")
    brk.trip(500, TripReason.ERROR_RATE, "again")  # re-trip: cool-down restarts at 500
    assert brk.events[-1].from_state is OPEN and brk.events[-1].to_state is OPEN
    assert brk.allow(1_010) is False
    assert brk.allow(1_500) is True
    brk.reset(1_600)
    assert brk.state is CLOSED
    assert brk.events[-1] == BreakerEvent(1_600, "B", HALF_OPEN, CLOSED, None, "reset by operator")
    snap = brk.snapshot()
    assert (snap["results"], snap["rejects"], snap["prices"]) == (0, 0, 0)
    assert (snap["opened_at_ms"], snap["probes_admitted"], snap["transitions"]) == (None, 0, 4)
    brk.record_price(1_601, 200)  # the old price 100 was cleared
    assert brk.state is CLOSED
    brk.reset(1_700)  # resetting a CLOSED breaker is still recorded
    assert transitions(brk)[-1] == (CLOSED, CLOSED, None)


def test_snapshot_fields() -> None:
    brk = breaker(max_reject_rate=0.9, min_events=100)
    brk.record(0, rejected=True, latency_us=7)
    brk.record(1, error=True)
    brk.record_price(2, 50)
    assert brk.snapshot() == {
        "name": "B",
        "state": "CLOSED",
        "results": 2,
        "rejects": 1,
        "errors": 1,
        "latency_samples": 1,
        "prices": 1,
        "opened_at_ms": None,
        "probes_admitted": 0,
        "probes_succeeded": 0,
        "transitions": 0,
    }


# -- bad input and time --------------------------------------------------------------------


def test_bad_input_is_refused_without_changing_state() -> None:
    brk = breaker(max_reject_rate=0.5, min_events=1)
    with pytest.raises(ValueError, match="latency_us must be >= 0"):
        brk.record(0, latency_us=-1)
    with pytest.raises(ValueError, match="price must be > 0"):
        brk.record_price(0, 0)
    with pytest.raises(ValueError, match="price must be > 0"):
        brk.record_price(0, -5)
    with pytest.raises(TypeError, match="price must be an int"):
        brk.record_price(0, 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="now_ms must be an int"):
        brk.allow(True)
    with pytest.raises(TypeError, match="latency_us must be an int"):
        brk.record(0, latency_us=2.0)  # type: ignore[arg-type]
    assert brk.snapshot()["results"] == 0 and brk.snapshot()["prices"] == 0
    with pytest.raises(ValueError, match="non-empty name"):
        CircuitBreaker("", BreakerConfig())


def test_time_going_backwards_is_treated_as_the_latest_time() -> None:
    brk = breaker(max_reject_rate=0.5, min_events=2, window_ms=1_000, cooldown_ms=500)
    brk.record(5_000)
    brk.record(100, rejected=True)  # counts as t=5000, inside the window
    brk.record(100, rejected=True)
    assert brk.state is OPEN
    assert brk.events[-1].time_ms == 5_000
    assert brk.allow(5_400) is False
    assert brk.allow(0) is False  # a stale time can't end the cool-down early
    assert brk.allow(5_500) is True
    brk.record_price(10, 7)
    assert brk.snapshot()["prices"] == 1


# -- config ----------------------------------------------------------------------------------


def test_config_defaults() -> None:
    cfg = BreakerConfig()
    assert (cfg.window_ms, cfg.min_events, cfg.cooldown_ms, cfg.probe_orders) == (
        10_000,
        20,
        30_000,
        3,
    )
    assert (cfg.max_reject_rate, cfg.max_error_rate, cfg.latency_percentile) == (0.5, 0.2, 99.0)
    assert cfg.max_latency_us is None and cfg.price_band_bps is None
    assert BreakerConfig(max_reject_rate=1).max_reject_rate == 1.0


@pytest.mark.parametrize(
    "bad",
    [
        {"window_ms": 0},
        {"window_ms": 1_000.0},
        {"window_ms": True},
        {"window_ms": "1000"},
        {"min_events": 0},
        {"max_reject_rate": 0},
        {"max_reject_rate": 1.01},
        {"max_error_rate": -0.1},
        {"max_error_rate": "0.2"},
        {"max_error_rate": float("nan")},
        {"latency_percentile": 0},
        {"latency_percentile": 100.5},
        {"max_latency_us": 0},
        {"max_latency_us": 1.5},
        {"price_band_bps": 0},
        {"price_band_bps": 50.0},
        {"cooldown_ms": -1},
        {"cooldown_ms": 30.5},
        {"probe_orders": 0},
        {"probe_orders": 2.0},
        {"unknown": 1},
    ],
)
def test_config_validation_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        BreakerConfig(**bad)


def test_config_is_frozen() -> None:
    cfg = BreakerConfig()
    with pytest.raises(ValidationError):
        cfg.window_ms = 5  # type: ignore[misc]


# -- the board -------------------------------------------------------------------------------


def board(**venue: Any) -> BreakerBoard:
    return BreakerBoard(
        BreakerConfig(**{**QUIET, "cooldown_ms": 1_000, "probe_orders": 1, **venue}),
        symbols={"ETH": BreakerConfig(**QUIET, price_band_bps=50, cooldown_ms=100, probe_orders=1)},
        default=BreakerConfig(**QUIET, cooldown_ms=100, probe_orders=2),
    )


def test_board_venue_breaker_blocks_every_symbol() -> None:
    b = board()
    assert b.allow("BTC", 0) == Admission(True, None, None)
    b.venue.trip(10)
    for sym in ("BTC", "ETH", "NEW"):
        assert b.allow(sym, 20) == Admission(False, "venue", OPEN)
    assert b.breaker("BTC").state is CLOSED


def test_board_symbol_breaker_blocks_only_its_symbol() -> None:
    b = board()
    b.record_price("ETH", 0, 1_000)
    b.record_price("ETH", 1, 1_006)  # 60 bps > 50
    assert b.breaker("ETH").state is OPEN
    assert b.venue.state is CLOSED  # prices go to the symbol breaker only
    assert b.allow("ETH", 2) == Admission(False, "ETH", OPEN)
    assert b.allow("BTC", 2) == Admission(True)
    assert b.breaker("ETH").config.price_band_bps == 50
    assert b.breaker("BTC").config.probe_orders == 2  # the default


def test_board_venue_refusal_does_not_use_a_symbol_probe() -> None:
    b = board()
    b.breaker("BTC").trip(0)
    b.venue.trip(0)
    assert b.allow("BTC", 150) == Admission(False, "venue", OPEN)
    assert b.breaker("BTC").state is OPEN  # not even looked at
    assert b.allow("BTC", 1_000) == Admission(True)
    assert b.venue.state is HALF_OPEN and b.breaker("BTC").state is HALF_OPEN
    assert b.breaker("BTC").snapshot()["probes_admitted"] == 1
    assert b.allow("BTC", 1_000) == Admission(False, "venue", HALF_OPEN)  # venue's 1 probe used
    assert b.breaker("BTC").snapshot()["probes_admitted"] == 1


def test_board_symbol_refusal_does_not_use_a_venue_probe() -> None:
    b = board(probe_orders=2)
    b.venue.trip(0)
    b.breaker("ETH").trip(0)
    assert b.allow("ETH", 1_000) == Admission(True)
    assert b.allow("ETH", 1_000) == Admission(False, "ETH", HALF_OPEN)
    assert b.venue.snapshot()["probes_admitted"] == 1
    assert b.allow("BTC", 1_000) == Admission(True)  # the venue's second probe
    assert b.venue.snapshot()["probes_admitted"] == 2


def test_board_record_forwards_to_venue_and_symbol() -> None:
    b = board(max_error_rate=0.5, min_events=4)
    b.record("BTC", 0, latency_us=3)
    b.record("ETH", 1, error=True)
    b.record("ETH", 2, ok=False)
    assert b.breaker("BTC").snapshot()["results"] == 1
    assert b.breaker("ETH").snapshot()["errors"] == 2
    assert b.venue.snapshot()["results"] == 3
    b.record("SOL", 3, rejected=True, error=True)
    assert b.venue.state is OPEN  # 3 errors of 4 across symbols
    assert b.breaker("SOL").state is CLOSED
    assert set(b.snapshot()) == {"venue", "BTC", "ETH", "SOL"}


def test_one_breaker_and_a_board_lane_admit_alike_and_name_who_refused() -> None:
    """What the order path asks (`bot4.service.admission`): one breaker or a board's lane for
    a symbol, the same -9111 naming the breaker that refused and its state; the outcome of
    an order reaches the venue's and the symbol's breaker, its taker prices the symbol's only."""
    from bot4.core import errors
    from bot4.core.errors import Category, Code, VenueError
    from bot4.service.admission import breaker_refusal, learn

    one = opened(cooldown_ms=1_000, probe_orders=1)
    assert one.admit(1_500) == Admission(False, "B", OPEN)
    refused = breaker_refusal(one, 1_500)
    assert refused is not None and refused.code == Code.RISK_BREAKER_OPEN and refused.retryable
    assert refused.msg == "Risk: circuit breaker B is OPEN."
    assert breaker_refusal(one, 2_000) is None  # the one probe admitted
    assert breaker_refusal(one, 2_000) is not None
    assert one.snapshot()["probes_admitted"] == 1
    assert breaker_refusal(None, 0) is None
    b = board()
    b.breaker("ETH").trip(0)
    lane = b.lane("ETH")
    assert lane.admit(50) == b.allow("ETH", 50) == Admission(False, "ETH", OPEN)
    refused = breaker_refusal(lane, 50)
    assert refused is not None and refused.msg == "Risk: circuit breaker ETH is OPEN."
    assert breaker_refusal(b.lane("BTC"), 50) is None
    from types import SimpleNamespace

    fault = VenueError(-1000, "An unknown error occurred.", Category.INTERNAL)
    learn(b.lane("BTC"), None, "BTC", fault, (), 60, latency_us=7)
    learn(b.lane("BTC"), None, "BTC", errors.UNKNOWN_ORDER, (), 61)
    for name in ("venue", "BTC"):
        assert (b.snapshot()[name]["errors"], b.snapshot()[name]["rejects"]) == (1, 1)
    assert b.snapshot()["BTC"]["latency_samples"] == 1
    taker, maker = (SimpleNamespace(trade_id=1, is_maker=m, last_price=p)
                    for m, p in ((False, 1_000), (True, 2_000)))  # fmt: skip
    learn(b.lane("BTC"), None, "BTC", object(), [taker, maker], 62)  # type: ignore[list-item]
    assert (b.snapshot()["BTC"]["prices"], b.snapshot()["venue"]["prices"]) == (1, 0)


def test_board_events_are_merged_in_time_order() -> None:
    b = board()
    b.breaker("BTC").trip(5)
    b.venue.trip(7)
    b.breaker("ETH").trip(5)
    b.venue.reset(5)  # counts as t=7 for the venue breaker
    b.breaker("BTC").reset(9)
    got = [(e.time_ms, e.breaker, e.to_state) for e in b.events()]
    assert got == [
        (5, "BTC", OPEN),
        (5, "ETH", OPEN),
        (7, "venue", OPEN),
        (7, "venue", CLOSED),
        (9, "BTC", CLOSED),
    ]


def test_board_symbol_may_not_take_the_venue_name() -> None:
    with pytest.raises(ValueError, match="clashes"):
        BreakerBoard(BreakerConfig(), symbols={"venue": BreakerConfig()})
    b = BreakerBoard(BreakerConfig(), venue_name="binance")
    with pytest.raises(ValueError, match="clashes"):
        b.allow("binance", 0)
    assert b.venue.name == "binance"
    assert b.breaker("venue").name == "venue"


# -- properties ------------------------------------------------------------------------------

configs = st.builds(
    BreakerConfig,
    window_ms=st.sampled_from([50, 200, 1_000]),
    min_events=st.integers(1, 4),
    max_reject_rate=st.sampled_from([None, 0.3, 0.5, 1.0]),
    max_error_rate=st.sampled_from([None, 0.2, 0.5]),
    latency_percentile=st.sampled_from([50.0, 90.0, 100.0]),
    max_latency_us=st.sampled_from([None, 100, 1_000]),
    price_band_bps=st.sampled_from([None, 50, 500]),
    cooldown_ms=st.sampled_from([0, 30, 300]),
    probe_orders=st.integers(1, 3),
)
gaps = st.integers(0, 120) | st.integers(0, 5)


def _kind(roll: int) -> str:
    """Weights: 40 % allow, 45 % outcome, 10 % price, 3 % trip, 2 % reset."""
    for kind, upto in (("allow", 40), ("record", 85), ("price", 95), ("trip", 98)):
        if roll < upto:
            return kind
    return "reset"


operations = st.lists(
    st.tuples(
        st.integers(0, 99).map(_kind),
        gaps,
        st.sampled_from(["ok", "ok", "rejected", "error", "not_ok"]),
        st.none() | st.integers(0, 90) | st.integers(0, 2_000),
        st.integers(95, 105),
    ),
    min_size=10,
    max_size=120,
)


def apply(brk: CircuitBreaker, op: tuple[Any, ...], now: int) -> bool | None:
    kind = op[0]
    if kind == "allow":
        return brk.allow(now)
    if kind == "record":
        flag = op[2]
        brk.record(
            now,
            ok=flag != "not_ok",
            rejected=flag == "rejected",
            error=flag == "error",
            latency_us=op[3],
        )
    elif kind == "price":
        brk.record_price(now, op[4])
    elif kind == "trip":
        brk.trip(now, TripReason.MANUAL, "prop")
    else:
        brk.reset(now)
    return None


@given(configs, operations)
def test_state_machine_properties(config: BreakerConfig, ops: list[tuple[Any, ...]]) -> None:
    brk = CircuitBreaker("P", config)
    now = 0
    opened_at: int | None = None
    admitted: dict[int, int] = defaultdict(int)  # half-open period (event index) -> probes
    for op in ops:
        now += op[1]
        before = brk.state
        seen = len(brk.events)
        result = apply(brk, op, now)
        new = brk.events[seen:]
        # (1) a state change is exactly one event, chained on the previous state
        if brk.state is not before or op[0] in ("trip", "reset"):
            assert len(new) == 1
            assert new[0].from_state is before and new[0].to_state is brk.state
            assert new[0].time_ms == now
        else:
            assert new == []
        if brk.state is OPEN and new:
            opened_at = now
        # (2) OPEN refuses until the cool-down has elapsed
        if op[0] == "allow" and before is OPEN:
            assert opened_at is not None
            if now < opened_at + config.cooldown_ms:
                assert result is False and brk.state is OPEN
            else:
                assert brk.state is HALF_OPEN and result is True
        # (3) at most probe_orders admissions per half-open period
        if op[0] == "allow" and result and brk.state is HALF_OPEN:
            period = max(i for i, e in enumerate(brk.events) if e.to_state is HALF_OPEN)
            admitted[period] += 1
            assert admitted[period] <= config.probe_orders
    assert all(a.to_state is b.from_state for a, b in pairwise(brk.events))
    if brk.events:
        assert brk.events[0].from_state is CLOSED and brk.events[-1].to_state is brk.state


@given(configs, operations, st.lists(st.integers(-200, 200), min_size=120, max_size=120))
def test_any_times_never_crash_and_event_times_never_decrease(
    config: BreakerConfig, ops: list[tuple[Any, ...]], jitter: list[int]
) -> None:
    brk = CircuitBreaker("P", config)
    now = 1_000
    for op, jump in zip(ops, jitter, strict=False):
        now = max(0, now + jump)
        apply(brk, op, now)
    times = [e.time_ms for e in brk.events]
    assert times == sorted(times)
    assert all(a.to_state is b.from_state for a, b in pairwise(brk.events))


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B"]),
            gaps,
            st.sampled_from(["allow", "ok", "rejected", "price", "trip_venue", "trip_symbol"]),
        ),
        max_size=80,
    )
)
def test_board_admits_only_what_both_breakers_admit(ops: list[tuple[str, int, str]]) -> None:
    cfg = BreakerConfig(max_reject_rate=0.5, min_events=2, cooldown_ms=50, probe_orders=2)
    b = BreakerBoard(cfg, symbols={"A": cfg.model_copy(update={"price_band_bps": 10})})
    now = 0
    price = 1_000
    for symbol, gap, kind in ops:
        now += gap
        if kind == "allow":
            venue_before = b.venue.snapshot()["probes_admitted"]
            sym_before = b.breaker(symbol).snapshot()["probes_admitted"]
            adm = b.allow(symbol, now)
            assert adm.allowed is (adm.breaker is None)
            if not adm.allowed:
                # a refusal uses up no probe anywhere
                assert b.venue.snapshot()["probes_admitted"] == venue_before
                assert b.breaker(symbol).snapshot()["probes_admitted"] == sym_before
        elif kind == "price":
            price += 3
            b.record_price(symbol, now, price)
        elif kind == "trip_venue":
            b.venue.trip(now)
        elif kind == "trip_symbol":
            b.breaker(symbol).trip(now)
        else:
            b.record(symbol, now, rejected=kind == "rejected")
    merged = b.events()
    assert [e.time_ms for e in merged] == sorted(e.time_ms for e in merged)
    assert len(merged) == len(b.venue.events) + sum(
        len(b.breaker(s).events) for s in ("A", "B") if s in b.snapshot()
    )
