"""Differential tests: the engine against the reference book, and long-stream determinism.

Every request the engine accepts is replayed into `ReferenceBook` under the engine's order id;
the fills of each request (taker id, maker id, price, quantity) must be identical, and so must
the resting book after the stream. Refused requests are skipped, except that a LIMIT_MAKER the
engine refuses for crossing must cross in the reference too.
"""

from __future__ import annotations

import random

from hypothesis import given

from bot4.core import errors
from bot4.core.enums import ExecutionType, OrderType, Side, TimeInForce
from bot4.core.errors import VenueError
from bot4.core.events import ExecutionReport, digest
from bot4.core.orders import CancelOrder, NewOrder
from bot4.sim.engine import MatchingEngine
from tests.reference_book import Fill, ReferenceBook
from tests.streams import (
    BTC,
    COARSE,
    SIMPLE,
    WIDE,
    Harness,
    Market,
    Request,
    Result,
    Scenario,
    seeded_scenario,
    streams,
)


def engine_fills(reports: tuple[ExecutionReport, ...]) -> list[Fill]:
    """The fills in one request's reports: each taker TRADE report is followed by its maker's."""
    fills: list[Fill] = []
    trades = [r for r in reports if r.execution_type is ExecutionType.TRADE]
    assert len(trades) % 2 == 0, trades
    for taker, maker in zip(trades[::2], trades[1::2], strict=True):
        assert not taker.is_maker and maker.is_maker, (taker, maker)
        assert taker.trade_id == maker.trade_id
        assert (taker.last_price, taker.last_qty) == (maker.last_price, maker.last_qty)
        fills.append(Fill(taker.order_id, maker.order_id, taker.last_price, taker.last_qty))
    return fills


def engine_book(engine: MatchingEngine) -> list[tuple[int, Side, int, int]]:
    """(order_id, side, price, leaves) of the engine's resting orders, bids then asks."""
    return [(o.order_id, o.side, o.price, o.leaves) for o in engine.bids.orders()] + [
        (o.order_id, o.side, o.price, o.leaves) for o in engine.asks.orders()
    ]


def replay_into_reference(
    market: Market, ref: ReferenceBook, req: object, result: Result
) -> list[Fill]:
    """Apply one request the engine has answered to the reference; return the reference's
    fills (refused requests give none and leave the reference alone)."""
    if isinstance(result, VenueError):
        if (
            isinstance(req, NewOrder)
            and req.type is OrderType.LIMIT_MAKER
            and result == errors.WOULD_MATCH
        ):
            assert ref.would_cross(req.side, req.price), "engine refused a non-crossing maker"
        return []
    oid = result.order_id
    if isinstance(req, CancelOrder):
        assert ref.cancel(oid), f"engine cancelled order {oid}, which the reference has not open"
        return []
    assert isinstance(req, NewOrder)
    if req.type is OrderType.LIMIT:
        assert req.time_in_force is not None
        return ref.limit(oid, req.side, req.price, req.quantity, req.time_in_force)
    if req.type is OrderType.LIMIT_MAKER:
        assert ref.limit_maker(oid, req.side, req.price, req.quantity), (
            "engine accepted a LIMIT_MAKER that crosses the reference book"
        )
        return []
    assert req.type is OrderType.MARKET
    qty = req.quantity
    if req.quote_order_qty:
        inst = market.instrument
        qty = ref.market_quote_lots(
            req.side,
            req.quote_order_qty,
            inst.quote_per_ticklot,
            inst.market_step,
            inst.market_max_qty,
        )
        assert result.reports[0].orig_qty == qty, "quoteOrderQty converted to other lots"
    return ref.market(oid, req.side, qty)


def check_against_reference(scenario: Scenario) -> int:
    """Run the scenario through both books; returns how many fills were compared."""
    harness = Harness(scenario)
    ref = ReferenceBook()
    compared = 0
    for i, req in enumerate(scenario.requests):
        result = harness.step(req)
        expected = replay_into_reference(scenario.market, ref, req, result)
        got = [] if isinstance(result, VenueError) else engine_fills(result.reports)
        assert got == expected, f"request {i}: {req}"
        compared += len(got)
    assert engine_book(harness.engine) == ref.book()
    return compared


@given(streams())
def test_engine_fills_equal_reference_fills(scenario: Scenario) -> None:
    """For any stream, each accepted request's fills (taker, maker, price, qty) are the ones a
    plain price-time priority book produces, and the resting books agree at the end."""
    check_against_reference(scenario)


def test_long_seeded_streams_equal_reference() -> None:
    """~3000-request seeded streams on each market give the reference book's fills exactly."""
    for seed, market, n_accounts in ((11, SIMPLE, 3), (12, COARSE, 4), (13, BTC, 2), (14, WIDE, 3)):
        compared = check_against_reference(seeded_scenario(seed, 3000, market, n_accounts))
        assert compared > 500, "the stream should trade a lot"


def test_deep_levels_with_many_cancels_equal_reference() -> None:
    """Levels holding many orders, most of them cancelled out of the middle (the engine unlinks
    cancels lazily and compacts a level now and then), still match in time priority."""
    rng = random.Random(7)
    mid = SIMPLE.mid
    requests: list[Request] = []
    n_new = 0
    for _ in range(30):
        for _ in range(60):  # deep queues at one price each side
            side = Side.SELL if rng.random() < 0.5 else Side.BUY
            price = mid + 1 if side is Side.SELL else mid - 1
            account = rng.choice(("alice", "bob"))
            requests.append(NewOrder(account, side, OrderType.LIMIT, 3, price, TimeInForce.GTC))
            n_new += 1
        for oid in rng.sample(range(max(1, n_new - 80), n_new + 1), 50):  # cancel most
            requests.append(CancelOrder("alice", oid))
            requests.append(CancelOrder("bob", oid))
        for _ in range(2):  # then sweep part of each side
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            requests.append(NewOrder("carol", side, OrderType.MARKET, rng.randint(5, 40)))
            n_new += 1
    compared = check_against_reference(Scenario(SIMPLE, ("alice", "bob", "carol"), requests))
    assert compared > 100


def test_reference_book_priority_by_hand() -> None:
    """The reference itself: best price first, then arrival; fills at the maker's price."""
    ref = ReferenceBook()
    gtc = TimeInForce.GTC
    assert ref.limit(1, Side.SELL, 101, 5, gtc) == []
    assert ref.limit(2, Side.SELL, 100, 5, gtc) == []
    assert ref.limit(3, Side.SELL, 100, 5, gtc) == []
    assert ref.limit(4, Side.BUY, 101, 12, TimeInForce.IOC) == [
        Fill(4, 2, 100, 5),
        Fill(4, 3, 100, 5),
        Fill(4, 1, 101, 2),
    ]
    assert ref.limit(5, Side.BUY, 101, 4, TimeInForce.FOK) == []
    assert ref.book() == [(1, Side.SELL, 101, 3)]
    assert not ref.limit_maker(6, Side.BUY, 101, 1)
    assert ref.market_quote_lots(Side.BUY, 3 * 101 * 10 + 7, 10) == 3
    assert ref.cancel(1) and not ref.cancel(1)


def _long_log_digest(seed: int, n: int) -> tuple[str, str, int]:
    harness = Harness(seeded_scenario(seed, n, SIMPLE, 4)).run()
    return digest(harness.reports), harness.engine.state_digest(), len(harness.reports)


def test_long_stream_event_log_is_deterministic() -> None:
    """A 20,000-request seeded stream run twice through fresh engines gives the same event-log
    hash and the same state digest; another seed gives a different log."""
    first = _long_log_digest(2024, 20_000)
    second = _long_log_digest(2024, 20_000)
    assert first == second
    assert first[2] > 20_000
    other = _long_log_digest(2025, 2_000)
    assert other[0] != first[0]
