"""Differential tests: the engine against the reference venue, and long-stream determinism.

Every request of a stream goes to the engine and to `ReferenceVenue`
(tests/support/reference_book.py), which decides on its own, from the venue's documented rules,
whether the request is refused and with which error (shape, STP mode, PRICE_FILTER,
PERCENT_PRICE_BY_SIDE, LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL, MAX_NUM_ORDERS, duplicate client id,
LIMIT_MAKER that would match, quoteOrderQty sizing, balance; cancels of unknown orders), or
accepted and what it does. The two must agree on every request: the same error (code and
message) when either refuses, else the same order id, the same execution reports in the same
order (each one's order, execution type, status, expiry reason, quantity and price of its fill
or prevented match, executed quantity, commission and commission asset, the commission computed
by the reference from the symbol's rates and rounded up once), the same final status, executed
and quote quantities, fills and prevented matches. After EVERY request the resting books (order,
side, price, remaining, in priority order), every account's free and locked balances, the fees
collected and the prevented-match counter must be equal.

A tally of what was compared (per request kind: accepted, refused and why, final status) is
kept; the long seeded test asserts that FOK, IOC, LIMIT_MAKER, MARKET by quantity and by
quoteOrderQty, GTC, cancels and STP were each accepted and refused at least once, and prints it.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from hypothesis import given

from bot4.core import errors
from bot4.core.enums import (
    ExecutionType,
    ExpiryReason,
    OrderStatus,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)
from bot4.core.errors import VenueError
from bot4.core.events import ExecutionReport, digest
from bot4.core.orders import CancelOrder, NewOrder, OrderView
from bot4.venue.engine import MatchingEngine
from tests.conftest import simple_spec
from tests.support.reference_book import (
    Fill,
    Outcome,
    Prevented,
    ReferenceBook,
    ReferenceVenue,
    RefReport,
    Transfer,
)
from tests.support.streams import (
    BTC,
    COARSE,
    SIMPLE,
    STP_MARKETS,
    WIDE,
    Harness,
    Market,
    Request,
    Scenario,
    build_reference,
    engine_matches,
    holdings,
    moves,
    now_of,
    seeded_scenario,
    streams,
)

S_EIM = OrderStatus.EXPIRED_IN_MATCH
X = ExecutionType
KINDS = ("gtc", "ioc", "fok", "maker", "market", "market_quote", "cancel", "stp")


def engine_book(engine: MatchingEngine) -> list[tuple[int, Side, int, int]]:
    """(order_id, side, price, leaves) of the engine's resting orders, bids then asks."""
    return [
        (o.order_id, o.side, o.price, o.leaves)
        for side in (Side.BUY, Side.SELL)
        for o in engine.book_orders(side)
    ]


def as_ref_report(r: ExecutionReport) -> RefReport:
    """The fields of an engine report that the reference predicts."""
    qty = price = commission = 0
    asset = ""
    if r.execution_type is X.TRADE:
        qty, price, commission, asset = r.last_qty, r.last_price, r.commission, r.commission_asset
    elif r.execution_type is X.TRADE_PREVENTION:
        qty, price = r.last_prevented_qty, r.prevented_price
    return RefReport(
        r.order_id, r.execution_type, r.status, r.expiry_reason, qty, price, r.cum_qty,
        commission, asset,
    )  # fmt: skip


def kind_of(req: Request) -> str:
    """Which kind of request this is, for the tally."""
    if isinstance(req, CancelOrder):
        return "cancel"
    if req.type is OrderType.LIMIT_MAKER:
        return "maker"
    if req.type is OrderType.MARKET:
        return "market_quote" if req.quote_order_qty else "market"
    if req.type is OrderType.LIMIT and req.time_in_force is not None:
        return req.time_in_force.value.lower()
    return "other"


def _reason(error: VenueError) -> str:
    return f"{error.code} {error.msg}"


def tally_one(tally: Counter[str], req: Request, result: object, transfers: int) -> None:
    """Count one compared request: its kind and outcome, and its STP part."""
    kind = kind_of(req)
    stp_sent = isinstance(req, NewOrder) and req.stp_mode is not None
    if isinstance(result, VenueError):
        tally[f"{kind}: refused"] += 1
        tally[f"{kind}: refused {_reason(result)}"] += 1
        if result == errors.STP_MODE_NOT_ALLOWED:
            tally["stp: refused"] += 1
        return
    reports: Sequence[ExecutionReport] = getattr(result, "reports", ())
    status: OrderStatus = getattr(result, "status", OrderStatus.NEW)
    tally[f"{kind}: accepted"] += 1
    tally[f"{kind}: {status.value}"] += 1
    if stp_sent:
        tally["stp: accepted"] += 1
    if any(r.execution_type is X.TRADE_PREVENTION for r in reports):
        tally["stp: prevented"] += 1
    if transfers:
        tally["stp: transfer"] += 1


class Compared:
    """How much a differential run compared."""

    def __init__(self) -> None:
        self.fills = 0
        self.prevented = 0
        self.transfers = 0
        self.requests = 0
        self.refused = 0
        self.tally: Counter[str] = Counter()


def _same_state(engine: MatchingEngine, ref: ReferenceVenue, accounts: Sequence[str]) -> str:
    """'' when the engine's book, balances, fees and counters equal the reference's, else
    what differs."""
    if engine_book(engine) != ref.book.book():
        return f"books differ: {engine_book(engine)} != {ref.book.book()}"
    for account in accounts:
        for asset in (ref.base, ref.quote):
            bal = engine.ledger.balance(account, asset)
            if (bal.free, bal.locked) != ref.balance(account, asset):
                return f"{account} {asset}: {bal} != {ref.balance(account, asset)}"
    for asset in (ref.base, ref.quote):
        if engine.ledger.fees.get(asset, 0) != ref.fees[asset]:
            return f"fees in {asset}: {engine.ledger.fees.get(asset, 0)} != {ref.fees[asset]}"
    if engine.last_prevented_match_id != ref.book.next_match_id - 1:
        return "prevented match ids differ"
    if engine.last_order_id != ref.last_order_id:
        return "order ids differ"
    return ""


def check_against_reference(scenario: Scenario) -> Compared:
    """Run the scenario through the engine and the reference venue, comparing every answer and
    the whole state after every request."""
    harness = Harness(scenario)
    engine = harness.engine
    inst = scenario.market.instrument
    ref = build_reference(scenario.market, scenario.accounts)
    compared = Compared()
    for i, req in enumerate(scenario.requests):
        why = f"request {i}: {req}"
        compared.requests += 1
        before = holdings(engine, scenario.accounts)
        result = harness.step(req)
        expected = ref.cancel(req) if isinstance(req, CancelOrder) else ref.submit(req, now_of(i))
        if isinstance(result, VenueError) or isinstance(expected, VenueError):
            assert result == expected, why
            compared.refused += 1
            tally_one(compared.tally, req, result, 0)
        else:
            assert result.order_id == expected.order_id, why
            assert [as_ref_report(r) for r in result.reports] == expected.reports, why
            assert (result.status, result.executed_qty, result.cum_quote) == (
                expected.status, expected.executed_qty, expected.cum_quote,
            ), why  # fmt: skip
            assert result.reports[0].orig_qty == expected.orig_qty, why
            outcome = expected.outcome
            assert engine_matches(result.reports) == outcome.events, why
            after = holdings(engine, scenario.accounts)
            moved = moves(inst, result.reports, outcome.transfers)
            assert after == {k: v + moved.get(k, 0) for k, v in before.items()}, why
            compared.fills += len(outcome.fills)
            compared.prevented += len(outcome.prevented)
            compared.transfers += len(outcome.transfers)
            tally_one(compared.tally, req, result, len(outcome.transfers))
        differs = _same_state(engine, ref, scenario.accounts)
        assert not differs, f"after {why}: {differs}"
    return compared


@given(streams())
def test_engine_agrees_with_the_reference_venue(scenario: Scenario) -> None:
    """For any stream, the engine and the reference venue refuse the same requests with the
    same error and accept the others with the same reports in the same order (fills at the
    same prices, prevented matches, expiries, commissions), the same taker status and the
    same TRANSFERs; books, balances and fees agree after every request."""
    check_against_reference(scenario)


@given(streams(STP_MARKETS))
def test_engine_agrees_with_the_reference_venue_on_stp_markets(scenario: Scenario) -> None:
    """The comparison above on the markets with trade groups and random STP modes only."""
    check_against_reference(scenario)


REQUIRED = (
    # each kind accepted and refused (where the venue can refuse it)
    *(f"{kind}: {what}" for kind in KINDS for what in ("accepted", "refused")),
    # what accepted orders did
    "fok: FILLED",
    "fok: EXPIRED",  # unfilled FOK: accepted, then expired whole
    "ioc: FILLED",
    "ioc: EXPIRED",
    "gtc: NEW",
    "gtc: PARTIALLY_FILLED",
    "gtc: FILLED",
    "gtc: EXPIRED_IN_MATCH",
    "maker: NEW",
    "market: FILLED",
    "market: EXPIRED",
    "market_quote: FILLED",
    "cancel: CANCELED",
    "stp: prevented",
    "stp: transfer",
    # why refused
    "fok: refused -2010 Account has insufficient balance for requested action.",
    "fok: refused -1013 Filter failure: NOTIONAL",
    "ioc: refused -1013 Filter failure: NOTIONAL",
    "maker: refused -2010 Order would immediately match and take.",
    "market: refused -1013 Filter failure: NOTIONAL",
    "market_quote: refused -1013 Filter failure: NOTIONAL",
    "gtc: refused -2010 Account has insufficient balance for requested action.",
    "gtc: refused -2010 Duplicate order sent.",
    "gtc: refused -1013 Filter failure: PERCENT_PRICE_BY_SIDE",
    "gtc: refused -1013 Filter failure: PRICE_FILTER",
    "gtc: refused -1013 Filter failure: LOT_SIZE",
    "gtc: refused -1013 Filter failure: NOTIONAL",
    "gtc: refused -1013 This symbol does not allow the specified self-trade prevention mode.",
    "market: refused -1013 Filter failure: MARKET_LOT_SIZE",
    "cancel: refused -2011 Unknown order sent.",
    "cancel: refused -2011 Cancel order is invalid. Check origClOrdId and orderId.",
)


def test_long_seeded_streams_equal_reference() -> None:
    """~3000-request seeded streams on each market agree with the reference venue on every
    request; between them every kind of request (GTC, IOC, FOK, LIMIT_MAKER, MARKET by
    quantity and by quoteOrderQty, cancels, orders with an STP mode) is accepted and refused at
    least once, FOK both fills and expires, and refusals come from each stage (filters,
    duplicate ids, balance, LIMIT_MAKER that would match, disallowed STP modes, unknown
    orders). The tally is printed."""
    total: Counter[str] = Counter()
    requests = 0
    for seed, market, n_accounts in ((11, SIMPLE, 3), (12, COARSE, 4), (13, BTC, 3), (14, WIDE, 3)):
        compared = check_against_reference(seeded_scenario(seed, 3000, market, n_accounts))
        assert compared.fills > 300, "the stream should trade a lot"
        assert compared.refused > 100, "the stream should be refused now and then"
        if market.stp:
            assert compared.prevented > 100, "the stream should self-match a lot"
        else:
            assert compared.prevented == 0
        if market is COARSE:  # default TRANSFER, a trade group
            assert compared.transfers > 20
        total += compared.tally
        requests += compared.requests
    print(f"\nseeds 11-14, {requests} requests compared (outcomes per kind):")
    for key in sorted(total):
        print(f"  {total[key]:6d}  {key}")
    missing = [key for key in REQUIRED if not total[key]]
    assert not missing, f"never reached: {missing}"


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


def test_reference_venue_by_hand() -> None:
    """The reference venue itself, on numbers worked by hand: each fill's commission is charged
    in the asset received at the taker's or maker's rate and rounded up once; an unfilled FOK
    is accepted and expires; refusals carry the venue's errors; free is what is held minus what
    open orders lock."""
    spec = simple_spec(
        baseAssetPrecision=3, quoteAssetPrecision=5, makerCommission="0.001",
        takerCommission="0.00075",
    )  # fmt: skip
    # tick 0.01 and lot 0.001: one lot is one base unit, one tick-lot one quote unit (0.00001)
    ref = ReferenceVenue(spec, {"a": (10_000, 10_000_000), "b": (10_000, 10_000_000)})
    sell, buy = Side.SELL, Side.BUY
    limit, gtc = OrderType.LIMIT, TimeInForce.GTC
    none, new = ExpiryReason.NONE, OrderStatus.NEW
    ask = ref.submit(NewOrder("a", sell, limit, 7, 2501, gtc), 0)  # 0.007 at 25.01
    assert not isinstance(ask, VenueError)
    assert ask.reports == [RefReport(1, X.NEW, new, none, 0, 0, 0, 0, "")]
    assert ref.balance("a", "TEST") == (10_000 - 7, 7)
    taken = ref.submit(NewOrder("b", buy, limit, 5, 2600, TimeInForce.IOC), 1)
    assert not isinstance(taken, VenueError)
    # b receives 5 base units, pays ceil(5 x 0.00075) = 1 of them; a receives 5 x 2501 = 12505
    # quote units and pays ceil(12.505) = 13
    assert taken.reports == [
        RefReport(2, X.NEW, new, none, 0, 0, 0, 0, ""),
        RefReport(2, X.TRADE, OrderStatus.FILLED, none, 5, 2501, 5, 1, "TEST"),
        RefReport(1, X.TRADE, OrderStatus.PARTIALLY_FILLED, none, 5, 2501, 5, 13, "USDT"),
    ]
    assert ref.balance("b", "TEST") == (10_004, 0)
    assert ref.balance("b", "USDT") == (10_000_000 - 12_505, 0)
    assert ref.balance("a", "USDT") == (10_000_000 + 12_505 - 13, 0)
    assert ref.balance("a", "TEST") == (10_000 - 7, 2)
    assert ref.fees == {"TEST": 1, "USDT": 13}
    fok = ref.submit(NewOrder("b", buy, limit, 5, 2600, TimeInForce.FOK), 2)  # only 2 left
    assert not isinstance(fok, VenueError) and fok.status is OrderStatus.EXPIRED
    assert fok.reports[-1].expiry_reason is ExpiryReason.UNFILLED_FOK_ORDER_EXPIRED
    assert ref.submit(NewOrder("b", buy, OrderType.LIMIT_MAKER, 1, 2501), 3) == errors.WOULD_MATCH
    big = NewOrder("b", buy, limit, 10**6, 100, gtc)  # 1000 at 1.00: b holds under 100 USDT
    assert ref.submit(big, 4) == errors.INSUFFICIENT_BALANCE
    assert ref.submit(big._replace(quantity=0), 4) == errors.filter_failure("LOT_SIZE")
    assert ref.submit(big._replace(account="c"), 4) == errors.UNKNOWN_ACCOUNT
    assert ref.cancel(CancelOrder("b", 1)) == errors.UNKNOWN_ORDER  # a's order
    cancelled = ref.cancel(CancelOrder("a", 1))
    assert not isinstance(cancelled, VenueError) and cancelled.status is OrderStatus.CANCELED
    assert ref.balance("a", "TEST") == (10_000 - 5, 0)
    assert ref.book.book() == []


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
