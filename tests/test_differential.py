"""Differential tests: the engine against the reference book, and long-stream determinism.

Every request the engine accepts is replayed into `ReferenceBook` under the engine's order id,
with its account's stp key and its STP mode (the one sent, or the symbol's default). For each
request, the fills (taker id, maker id, price, quantity) and the prevented self-trades
(preventedMatchId, taker id, maker id, price, quantity taken from each side), in their order,
must be identical, so must the taker's status, and each account's holdings must move exactly
by the trades and the reference's TRANSFERs; the resting books must agree after the stream.
Refused requests are skipped, except that a LIMIT_MAKER the engine refuses for crossing must
cross in the reference too.
"""

from __future__ import annotations

import random

from hypothesis import given

from bot4.core import errors
from bot4.core.enums import OrderStatus, OrderType, Side, StpMode, TimeInForce
from bot4.core.errors import VenueError
from bot4.core.events import digest
from bot4.core.orders import CancelOrder, NewOrder, OrderView
from bot4.sim.engine import MatchingEngine
from tests.reference_book import Fill, Outcome, Prevented, ReferenceBook, Transfer
from tests.streams import (
    BTC,
    COARSE,
    SIMPLE,
    STP_MARKETS,
    WIDE,
    Harness,
    Market,
    Request,
    Result,
    Scenario,
    engine_matches,
    holdings,
    moves,
    seeded_scenario,
    streams,
)

S_EIM = OrderStatus.EXPIRED_IN_MATCH


def engine_book(engine: MatchingEngine) -> list[tuple[int, Side, int, int]]:
    """(order_id, side, price, leaves) of the engine's resting orders, bids then asks."""
    return [(o.order_id, o.side, o.price, o.leaves) for o in engine.bids.orders()] + [
        (o.order_id, o.side, o.price, o.leaves) for o in engine.asks.orders()
    ]


def replay_into_reference(
    market: Market, ref: ReferenceBook, req: object, result: Result
) -> Outcome | None:
    """Apply one request the engine has answered to the reference; return what the reference
    did (None for a refused request, which leaves the reference alone)."""
    if isinstance(result, VenueError):
        if (
            isinstance(req, NewOrder)
            and req.type is OrderType.LIMIT_MAKER
            and result == errors.WOULD_MATCH
        ):
            assert ref.would_cross(req.side, req.price), "engine refused a non-crossing maker"
        if isinstance(req, NewOrder) and not market.allows(req.stp_mode):
            assert result == errors.STP_MODE_NOT_ALLOWED, result
        return None
    oid = result.order_id
    if isinstance(req, CancelOrder):
        assert ref.cancel(oid), f"engine cancelled order {oid}, which the reference has not open"
        return Outcome([], [], OrderStatus.CANCELED)
    assert isinstance(req, NewOrder)
    assert market.allows(req.stp_mode), f"engine accepted a mode the symbol refuses: {req}"
    account, key, mode = req.account, market.stp_key(req.account), market.mode_of(req.stp_mode)
    if req.type is OrderType.LIMIT:
        assert req.time_in_force is not None
        return ref.limit(
            oid, req.side, req.price, req.quantity, req.time_in_force, account, key, mode
        )
    if req.type is OrderType.LIMIT_MAKER:
        assert ref.limit_maker(oid, req.side, req.price, req.quantity, account, key, mode), (
            "engine accepted a LIMIT_MAKER that crosses the reference book"
        )
        return Outcome([], [], OrderStatus.NEW)
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
            key,
            mode,
        )
        assert result.reports[0].orig_qty == qty, "quoteOrderQty converted to other lots"
    return ref.market(oid, req.side, qty, account, key, mode)


class Compared:
    """How much a differential run compared."""

    def __init__(self) -> None:
        self.fills = 0
        self.prevented = 0
        self.transfers = 0


def check_against_reference(scenario: Scenario) -> Compared:
    """Run the scenario through both books, comparing after every request."""
    harness = Harness(scenario)
    engine = harness.engine
    inst = scenario.market.instrument
    ref = ReferenceBook()
    compared = Compared()
    for i, req in enumerate(scenario.requests):
        before = holdings(engine, scenario.accounts)
        result = harness.step(req)
        expected = replay_into_reference(scenario.market, ref, req, result)
        if isinstance(result, VenueError):
            assert expected is None
            continue
        assert expected is not None
        why = f"request {i}: {req}"
        assert engine_matches(result.reports) == expected.events, why
        assert result.status is expected.status, why
        after = holdings(engine, scenario.accounts)
        moved = moves(inst, result.reports, expected.transfers)
        assert after == {k: v + moved.get(k, 0) for k, v in before.items()}, why
        compared.fills += len(expected.fills)
        compared.prevented += len(expected.prevented)
        compared.transfers += len(expected.transfers)
    assert engine_book(engine) == ref.book()
    assert engine.last_prevented_match_id == ref.next_match_id - 1
    return compared


@given(streams())
def test_engine_fills_equal_reference_fills(scenario: Scenario) -> None:
    """For any stream, each accepted request's fills (taker, maker, price, qty) and prevented
    self-trades are the ones a plain price-time priority book with STP produces, in the same
    order, with the same taker status and the same TRANSFERs of balances; the resting books
    agree at the end."""
    check_against_reference(scenario)


@given(streams(STP_MARKETS))
def test_engine_matches_reference_on_stp_markets(scenario: Scenario) -> None:
    """The comparison above on the markets with trade groups and random STP modes only."""
    check_against_reference(scenario)


def test_long_seeded_streams_equal_reference() -> None:
    """~3000-request seeded streams on each market give the reference book's fills and
    prevented matches exactly; the STP markets prevent and transfer a lot."""
    for seed, market, n_accounts in ((11, SIMPLE, 3), (12, COARSE, 4), (13, BTC, 2), (14, WIDE, 3)):
        compared = check_against_reference(seeded_scenario(seed, 3000, market, n_accounts))
        assert compared.fills > 500, "the stream should trade a lot"
        if market.stp:
            assert compared.prevented > 100, "the stream should self-match a lot"
        else:
            assert compared.prevented == 0
        if market is COARSE:  # default TRANSFER, a trade group
            assert compared.transfers > 20


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
    assert compared.fills > 100


def test_reference_book_priority_by_hand() -> None:
    """The reference itself: best price first, then arrival; fills at the maker's price."""
    ref = ReferenceBook()
    gtc = TimeInForce.GTC
    assert ref.limit(1, Side.SELL, 101, 5, gtc) == Outcome([], [], OrderStatus.NEW)
    assert ref.limit(2, Side.SELL, 100, 5, gtc).events == []
    assert ref.limit(3, Side.SELL, 100, 5, gtc).events == []
    assert ref.limit(4, Side.BUY, 101, 12, TimeInForce.IOC) == Outcome(
        [Fill(4, 2, 100, 5), Fill(4, 3, 100, 5), Fill(4, 1, 101, 2)], [], OrderStatus.FILLED
    )
    assert ref.limit(5, Side.BUY, 101, 4, TimeInForce.FOK) == Outcome([], [], OrderStatus.EXPIRED)
    assert ref.book() == [(1, Side.SELL, 101, 3)]
    assert not ref.limit_maker(6, Side.BUY, 101, 1)
    assert ref.market_quote_lots(Side.BUY, 3 * 101 * 10 + 7, 10) == 3
    assert ref.cancel(1) and not ref.cancel(1)


def test_reference_book_stp_by_hand() -> None:
    """The reference's STP, on the FAQ's scenarios (B, C, D, G, H) and a FOK."""
    sell, buy, gtc = Side.SELL, Side.BUY, TimeInForce.GTC
    nm, em, et = StpMode.NONE, StpMode.EXPIRE_MAKER, StpMode.EXPIRE_TAKER

    def three_bids() -> ReferenceBook:
        ref = ReferenceBook()
        ref.limit(2, buy, 120, 12, gtc, "u", mode=nm)
        ref.limit(3, buy, 110, 13, gtc, "u", mode=nm)
        ref.limit(4, buy, 100, 81, gtc, "u", mode=nm)
        return ref

    ref = three_bids()  # B: EXPIRE_MAKER walks the book, the taker rests untouched
    assert ref.limit(5, sell, 100, 30, gtc, "u", mode=em) == Outcome(
        [
            Prevented(0, 5, 2, 120, 0, 12),
            Prevented(1, 5, 3, 110, 0, 13),
            Prevented(2, 5, 4, 100, 0, 81),
        ],
        [],
        OrderStatus.NEW,
    )
    assert ref.book() == [(5, sell, 100, 30)]
    ref = three_bids()  # C: EXPIRE_TAKER, the makers untouched
    assert ref.limit(5, sell, 100, 30, gtc, "u", mode=et) == Outcome(
        [Prevented(0, 5, 2, 120, 30, 0)], [], OrderStatus.EXPIRED_IN_MATCH
    )
    assert [o[0] for o in ref.book()] == [2, 3, 4]
    ref = ReferenceBook()  # D: EXPIRE_BOTH
    ref.limit(2, buy, 100, 10, gtc, "u")
    outcome = ref.limit(5, sell, 100, 30, gtc, "u", mode=StpMode.EXPIRE_BOTH)
    assert outcome.events == [Prevented(0, 5, 2, 100, 30, 10)] and ref.book() == []
    ref = ReferenceBook()  # G: DECREMENT, the maker keeps the rest and its place
    ref.limit(23, buy, 200, 6, gtc, "u")
    ref.limit(24, buy, 200, 1, gtc, "v")
    outcome = ref.limit(25, sell, 200, 2, gtc, "u", mode=StpMode.DECREMENT)
    assert outcome == Outcome([Prevented(0, 25, 23, 200, 2, 2)], [], S_EIM)
    assert ref.book() == [(23, buy, 200, 4), (24, buy, 200, 1)]
    ref = ReferenceBook()  # H: TRANSFER inside a trade group; else a DECREMENT
    ref.limit(12, buy, 20, 60, gtc, "maker", 1, StpMode.TRANSFER)
    outcome = ref.limit(13, sell, 20, 20, gtc, "taker", 1, StpMode.TRANSFER)
    assert outcome.transfers == [Transfer("maker", "taker", 20, 20)]
    assert outcome.events == [Prevented(0, 13, 12, 20, 20, 20)]
    outcome = ref.limit(14, sell, 20, 5, gtc, "maker", 1, StpMode.TRANSFER)  # same account
    assert outcome.transfers == [] and outcome.prevented == [Prevented(1, 14, 12, 20, 5, 5)]
    ref = ReferenceBook()  # FOK: an EXPIRE_MAKER skip is fine, any other prevention is not
    ref.limit(1, sell, 100, 5, gtc, "u")
    ref.limit(2, sell, 101, 5, gtc, "v")
    assert ref.limit(3, buy, 101, 5, TimeInForce.FOK, "u", mode=StpMode.DECREMENT).events == []
    assert ref.next_match_id == 0 and len(ref.book()) == 2
    assert ref.limit(3, buy, 101, 5, TimeInForce.FOK, "u", mode=em) == Outcome(
        [Prevented(0, 3, 1, 100, 0, 5), Fill(3, 2, 101, 5)], [], OrderStatus.FILLED
    )
    ref.limit(4, sell, 100, 5, gtc, "u")  # qoq: EXPIRE_MAKER skips, the others count it
    ref.limit(5, sell, 101, 5, gtc, "v")
    assert ref.market_quote_lots(buy, 10_000, 1, key="u", mode=em) == 5
    assert ref.market_quote_lots(buy, 10_000, 1, key="u", mode=et) == 10
    assert ref.market_quote_lots(buy, 10_000, 1, key="u", mode=StpMode.DECREMENT) == 10
    assert ref.market(6, buy, 3, "u", mode=StpMode.DECREMENT) == Outcome(
        [Prevented(1, 6, 4, 100, 3, 3)], [], S_EIM
    )
    assert ref.book()[0] == (4, sell, 100, 2)


def _long_log_digest(
    seed: int, n: int, market: Market = SIMPLE
) -> tuple[str, str, int, int, list[OrderView]]:
    harness = Harness(seeded_scenario(seed, n, market, 4)).run()
    engine = harness.engine
    return (
        digest(harness.reports),
        engine.state_digest(),
        len(harness.reports),
        engine.last_prevented_match_id,
        engine.open_orders(),
    )


def test_long_stream_event_log_is_deterministic() -> None:
    """A 20,000-request seeded stream run twice through fresh engines gives the same event-log
    hash and the same state digest; another seed gives a different log. So does a
    5,000-request stream with STP (trade groups, every mode, TRANSFERs)."""
    first = _long_log_digest(2024, 20_000)
    second = _long_log_digest(2024, 20_000)
    assert first == second
    assert first[2] > 20_000
    other = _long_log_digest(2025, 2_000)
    assert other[0] != first[0]
    stp = _long_log_digest(2026, 5_000, COARSE)
    assert stp == _long_log_digest(2026, 5_000, COARSE)
    assert stp[3] > 500, "the stream should prevent a lot"
