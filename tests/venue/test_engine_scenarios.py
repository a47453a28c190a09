"""Scenario tests of the matching engine, each named for the venue behaviour it shows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot4.core import errors
from bot4.core.accounts import Ledger
from bot4.core.enums import ExecutionType, ExpiryReason, OrderStatus, OrderType, Side, TimeInForce
from bot4.core.errors import Bot4Error, Category, VenueError
from bot4.core.instruments import Instrument
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.results import Ack
from bot4.venue.engine import MatchingEngine
from tests.conftest import funded_engine, simple_spec

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET, MAKER = OrderType.LIMIT, OrderType.MARKET, OrderType.LIMIT_MAKER
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK


@pytest.fixture()
def inst() -> Instrument:
    return Instrument.compile(simple_spec())


@pytest.fixture()
def engine(inst: Instrument) -> MatchingEngine:
    return funded_engine(inst, ("alice", "bob", "carol"))


def ok(result: Ack | VenueError) -> Ack:
    assert isinstance(result, Ack), result
    return result


def limit(
    account: str, side: Side, price: int, qty: int, tif: TimeInForce = GTC, **kw: object
) -> NewOrder:
    return NewOrder(account, side, LIMIT, qty, price, tif, **kw)  # type: ignore[arg-type]


def test_gtc_limit_rests_and_reports_new(engine: MatchingEngine) -> None:
    ack = ok(engine.submit(limit("alice", BUY, 10_000, 500, client_order_id="bid-1"), 1))
    assert ack.status is OrderStatus.NEW
    (report,) = ack.reports
    assert report.execution_type is ExecutionType.NEW and report.seq == 1
    assert report.client_order_id == "bid-1" and report.is_working and report.trade_id == -1
    assert engine.depth() == {"bids": [(10_000, 500)], "asks": []}


def test_partial_fills_across_levels_at_maker_prices(
    engine: MatchingEngine, inst: Instrument
) -> None:
    ok(engine.submit(limit("alice", SELL, 10_000, 300), 1))
    ok(engine.submit(limit("alice", SELL, 10_001, 300), 2))
    ok(engine.submit(limit("alice", SELL, 10_005, 300), 3))
    ack = ok(engine.submit(limit("bob", BUY, 10_002, 500), 4))
    trades = [r for r in ack.reports if r.execution_type is ExecutionType.TRADE]
    assert [(r.is_maker, r.last_price, r.last_qty) for r in trades] == [
        (False, 10_000, 300),
        (True, 10_000, 300),
        (False, 10_001, 200),
        (True, 10_001, 200),
    ]
    assert trades[0].trade_id == trades[1].trade_id == 1 and trades[2].trade_id == 2
    assert ack.status is OrderStatus.FILLED
    assert ack.cum_quote == 10_000 * 300 + 10_001 * 200
    assert trades[-1].status is OrderStatus.PARTIALLY_FILLED  # the 10.01 maker kept 100
    assert engine.depth()["asks"] == [(10_001, 100), (10_005, 300)]
    # bob locked at his limit 100.02 but paid the makers' prices: the difference is free again
    bob_quote = engine.ledger.balance("bob", inst.quote)
    assert bob_quote.locked == 0
    assert bob_quote.free == 10**8 * 10**8 - ack.cum_quote * inst.quote_per_ticklot


def test_price_time_priority_first_come_first_filled(engine: MatchingEngine) -> None:
    first = ok(engine.submit(limit("alice", SELL, 10_000, 100), 1)).order_id
    second = ok(engine.submit(limit("carol", SELL, 10_000, 100), 2)).order_id
    better = ok(engine.submit(limit("carol", SELL, 9_999, 100), 3)).order_id
    ack = ok(engine.submit(limit("bob", BUY, 10_000, 250), 4))
    makers = [r.order_id for r in ack.reports if r.is_maker]
    assert makers == [better, first, second]


def test_ioc_fills_what_it_can_and_expires_the_rest(engine: MatchingEngine) -> None:
    ok(engine.submit(limit("alice", SELL, 10_000, 100), 1))
    ack = ok(engine.submit(limit("bob", BUY, 10_000, 250, IOC), 2))
    last = ack.reports[-1]
    assert ack.status is OrderStatus.EXPIRED and ack.executed_qty == 100
    assert last.execution_type is ExecutionType.EXPIRED
    assert last.expiry_reason is ExpiryReason.UNFILLED_IOC_QUANTITY_EXPIRED
    assert engine.depth() == {"bids": [], "asks": []}
    assert engine.ledger.balance("bob", "USDT").locked == 0


def test_fok_all_or_nothing(engine: MatchingEngine) -> None:
    ok(engine.submit(limit("alice", SELL, 10_000, 100), 1))
    ok(engine.submit(limit("alice", SELL, 10_010, 100), 2))
    miss = ok(engine.submit(limit("bob", BUY, 10_005, 150, FOK), 3))
    assert miss.status is OrderStatus.EXPIRED and miss.executed_qty == 0
    assert miss.reports[-1].expiry_reason is ExpiryReason.UNFILLED_FOK_ORDER_EXPIRED
    assert engine.depth()["asks"] == [(10_000, 100), (10_010, 100)]
    hit = ok(engine.submit(limit("bob", BUY, 10_010, 150, FOK), 4))
    assert hit.status is OrderStatus.FILLED and hit.executed_qty == 150


def test_market_by_quantity_sweeps_and_expires_on_thin_book(engine: MatchingEngine) -> None:
    ok(engine.submit(limit("alice", BUY, 9_990, 100), 1))
    ok(engine.submit(limit("alice", BUY, 9_980, 100), 2))
    ack = ok(engine.submit(NewOrder("bob", SELL, MARKET, 300), 3))
    assert ack.executed_qty == 200 and ack.status is OrderStatus.EXPIRED
    assert ack.reports[-1].expiry_reason is ExpiryReason.INSUFFICIENT_LIQUIDITY
    assert engine.ledger.balance("bob", "TEST").locked == 0


def test_market_buy_locks_exactly_what_it_spends(engine: MatchingEngine, inst: Instrument) -> None:
    ok(engine.submit(limit("alice", SELL, 10_000, 100), 1))
    ok(engine.submit(limit("alice", SELL, 10_050, 100), 2))
    poor = Ledger()
    poor.deposit("poor", "USDT", (10_000 * 100 + 10_050 * 50) * inst.quote_per_ticklot)
    engine.ledger.deposit("poor", "USDT", (10_000 * 100 + 10_050 * 50) * inst.quote_per_ticklot)
    assert engine.submit(NewOrder("poor", BUY, MARKET, 151), 3) is errors.INSUFFICIENT_BALANCE
    ack = ok(engine.submit(NewOrder("poor", BUY, MARKET, 150), 4))
    assert ack.status is OrderStatus.FILLED
    usdt = engine.ledger.balance("poor", "USDT")
    assert (usdt.free, usdt.locked) == (0, 0)


def test_market_by_quote_order_qty_buy_never_overspends(
    engine: MatchingEngine, inst: Instrument
) -> None:
    ok(engine.submit(limit("alice", SELL, 10_000, 100), 1))  # 100.00 x 0.100
    ok(engine.submit(limit("alice", SELL, 10_100, 100), 2))  # 101.00 x 0.100
    spend = Decimal("15.00")  # 10.00 at the first level, 5.00 buys 0.049 at 101
    qoq = int(spend / inst.quote_unit)
    ack = ok(engine.submit(NewOrder("bob", BUY, MARKET, quote_order_qty=qoq), 3))
    assert ack.executed_qty == 149
    assert ack.cum_quote == 10_000 * 100 + 10_100 * 49
    assert ack.cum_quote * inst.quote_per_ticklot <= qoq
    assert ack.reports[0].quote_order_qty == qoq and ack.reports[0].orig_qty == 149
    assert engine.ledger.balance("bob", "USDT").locked == 0


def test_market_by_quote_order_qty_sell(engine: MatchingEngine, inst: Instrument) -> None:
    ok(engine.submit(limit("alice", BUY, 10_000, 1_000), 1))
    qoq = int(Decimal("25.55") / inst.quote_unit)
    ack = ok(engine.submit(NewOrder("bob", SELL, MARKET, quote_order_qty=qoq), 2))
    assert ack.executed_qty == 255  # 0.255 x 100.00 = 25.50 <= 25.55 < 0.256 x 100
    assert ack.status is OrderStatus.FILLED


def test_quote_order_qty_on_an_empty_book_is_refused(engine: MatchingEngine) -> None:
    error = engine.submit(NewOrder("bob", BUY, MARKET, quote_order_qty=10**9), 1)
    assert isinstance(error, VenueError) and error.code == -2010
    assert "liquidity" in error.msg


def test_quote_order_qty_too_small_for_one_lot(engine: MatchingEngine) -> None:
    ok(engine.submit(limit("alice", SELL, 10_000, 100), 1))
    assert engine.submit(NewOrder("bob", BUY, MARKET, quote_order_qty=5), 2) == (
        errors.filter_failure("LOT_SIZE")
    )


def test_limit_maker_rejected_when_it_would_take(engine: MatchingEngine) -> None:
    ok(engine.submit(limit("alice", SELL, 10_000, 100), 1))
    error = engine.submit(NewOrder("bob", BUY, MAKER, 100, 10_000), 2)
    assert error is errors.WOULD_MATCH
    assert error.code == -2010 and error.msg == "Order would immediately match and take."
    ack = ok(engine.submit(NewOrder("bob", BUY, MAKER, 100, 9_999), 3))
    assert ack.status is OrderStatus.NEW and ack.reports[0].time_in_force is None


def test_cancel_by_order_id_and_by_client_id(engine: MatchingEngine) -> None:
    a = ok(engine.submit(limit("alice", BUY, 9_000, 100, client_order_id="a1"), 1))
    ok(engine.submit(limit("alice", BUY, 9_001, 100, client_order_id="a2"), 2))
    done = ok(engine.cancel(CancelOrder("alice", order_id=a.order_id, new_client_order_id="c1"), 3))
    (report,) = done.reports
    assert report.execution_type is ExecutionType.CANCELED and report.status is OrderStatus.CANCELED
    assert report.client_order_id == "c1" and report.orig_client_order_id == "a1"
    ok(engine.cancel(CancelOrder("alice", orig_client_order_id="a2"), 4))
    assert engine.depth()["bids"] == []
    assert engine.ledger.balance("alice", "USDT").locked == 0
    again = engine.cancel(CancelOrder("alice", order_id=a.order_id), 5)
    assert again is errors.UNKNOWN_ORDER and again.code == -2011


def test_cancel_refusals(engine: MatchingEngine) -> None:
    a = ok(engine.submit(limit("alice", BUY, 9_000, 100, client_order_id="a1"), 1))
    assert engine.cancel(CancelOrder("alice"), 2) is errors.CANCEL_IDS_MISSING
    assert engine.cancel(CancelOrder("bob", order_id=a.order_id), 2) is errors.UNKNOWN_ORDER
    mismatch = CancelOrder("alice", order_id=a.order_id, orig_client_order_id="zz")
    assert engine.cancel(mismatch, 2) is errors.UNKNOWN_ORDER
    assert engine.cancel(CancelOrder("nobody", order_id=1), 2) is errors.UNKNOWN_ACCOUNT
    bad = engine.cancel(CancelOrder("alice", order_id=a.order_id, new_client_order_id="bad id"), 2)
    assert isinstance(bad, VenueError) and bad.code == -1100
    assert engine.is_open(a.order_id)


def test_duplicate_client_order_id_among_open_orders(engine: MatchingEngine) -> None:
    ok(engine.submit(limit("alice", BUY, 9_000, 100, client_order_id="dup"), 1))
    assert engine.submit(limit("alice", BUY, 9_001, 100, client_order_id="dup"), 2) is (
        errors.DUPLICATE_ORDER
    )
    # another account may use it, and once the order ends the id is free again
    ok(engine.submit(limit("bob", BUY, 9_001, 100, client_order_id="dup"), 3))
    ok(engine.cancel(CancelOrder("alice", orig_client_order_id="dup"), 4))
    ok(engine.submit(limit("alice", BUY, 9_002, 100, client_order_id="dup"), 5))


def test_generated_client_ids_avoid_ids_in_use(engine: MatchingEngine) -> None:
    ok(engine.submit(limit("alice", BUY, 9_000, 100, client_order_id="bot4-2"), 1))
    ack = ok(engine.submit(limit("alice", BUY, 9_000, 100), 2))
    assert ack.order_id == 2 and ack.client_order_id == "xbot4-2"


def test_insufficient_balance_has_the_venues_code_and_message(inst: Instrument) -> None:
    ledger = Ledger()
    ledger.deposit("thin", "USDT", 10_000 * 100 * inst.quote_per_ticklot - 1)
    ledger.deposit("thin", "TEST", 99 * inst.base_per_lot)
    engine = MatchingEngine(inst, ledger)
    error = engine.submit(limit("thin", BUY, 10_000, 100), 1)
    assert error is errors.INSUFFICIENT_BALANCE
    assert (error.code, error.msg) == (
        -2010,
        "Account has insufficient balance for requested action.",
    )
    assert engine.submit(limit("thin", SELL, 10_000, 100), 1) is errors.INSUFFICIENT_BALANCE
    assert engine.seq == 0 and engine.depth() == {"bids": [], "asks": []}


def test_fees_are_charged_in_the_received_asset_rounded_up(inst: Instrument) -> None:
    engine = funded_engine(inst)
    ok(engine.submit(limit("alice", SELL, 12_345, 7), 1))  # 123.45 x 0.007 = 0.86415 USDT
    ack = ok(engine.submit(limit("bob", BUY, 12_345, 7), 2))
    taker, maker = ack.reports[1], ack.reports[2]
    assert taker.commission_asset == "TEST" and maker.commission_asset == "USDT"
    # 0.1% of 0.007 TEST = 0.000007 TEST; of 0.86415 USDT = 0.00086415 USDT
    assert taker.commission * inst.base_unit == Decimal("0.000007")
    assert maker.commission * inst.quote_unit == Decimal("0.00086415")
    assert engine.ledger.fees == {"TEST": taker.commission, "USDT": maker.commission}


def test_commission_rounds_up_to_the_asset_unit() -> None:
    inst = Instrument.compile(simple_spec(makerCommission="0.00075", takerCommission="0.00075"))
    engine = funded_engine(inst)
    ok(engine.submit(limit("alice", SELL, 10_000, 1), 1))  # 100.00 x 0.001 = 0.1 USDT
    ack = ok(engine.submit(limit("bob", BUY, 10_000, 1), 2))
    # 0.00075 x 100000 units = 75 units exactly on the quote side; 0.75 units on the base side
    assert ack.reports[2].commission == 7_500
    assert ack.reports[1].commission == 75


def test_self_trade_without_stp_moves_balances_consistently(engine: MatchingEngine) -> None:
    before = {a: engine.ledger.total(a) for a in ("TEST", "USDT")}
    ok(engine.submit(limit("alice", SELL, 10_000, 100), 1))
    ack = ok(engine.submit(limit("alice", BUY, 10_000, 100), 2))
    assert ack.status is OrderStatus.FILLED
    assert {a: engine.ledger.total(a) for a in ("TEST", "USDT")} == before


def test_symbol_status_and_unsupported_types() -> None:
    closed = funded_engine(Instrument.compile(simple_spec(status="HALT")))
    assert closed.submit(limit("alice", BUY, 10_000, 100), 1) is errors.MARKET_CLOSED
    no_market = funded_engine(Instrument.compile(simple_spec(orderTypes=["LIMIT"])))
    error = no_market.submit(NewOrder("alice", BUY, MARKET, 100), 1)
    assert isinstance(error, VenueError)
    assert error.msg == "Market orders are not supported for this symbol."
    stop = no_market.submit(NewOrder("alice", BUY, OrderType.STOP_LOSS, 100), 1)
    assert (
        isinstance(stop, VenueError)
        and stop.msg == "Stop loss orders are not supported for this symbol."
    )
    no_quote = funded_engine(Instrument.compile(simple_spec(quoteOrderQtyMarketAllowed=False)))
    error = no_quote.submit(NewOrder("alice", BUY, MARKET, quote_order_qty=100), 1)
    assert isinstance(error, VenueError) and error.code == -2010


@pytest.mark.parametrize(
    ("order", "code"),
    [
        (NewOrder("alice", BUY, LIMIT, 100, 10_000), -1102),  # no timeInForce
        (NewOrder("alice", BUY, MAKER, 100, 10_000, GTC), -1114),
        (NewOrder("alice", BUY, MARKET, 100, 10_000), -1106),  # price on a MARKET order
        (NewOrder("alice", BUY, MARKET, 100, 0, GTC), -1114),
        (NewOrder("alice", BUY, MARKET, 100, 0, None, 100), -1014),
        (NewOrder("alice", BUY, MARKET), -1102),
        (NewOrder("alice", BUY, MARKET, 0, 0, None, -5), -1130),
        (NewOrder("alice", BUY, LIMIT, 100, 10_000, GTC, 5), -1106),
        (NewOrder("alice", "HOLD", LIMIT, 100, 10_000, GTC), -1117),  # type: ignore[arg-type]
        (NewOrder("alice", BUY, "STOP", 100, 10_000, GTC), -1116),  # type: ignore[arg-type]
        (NewOrder("alice", BUY, LIMIT, 100, 10_000, "DAY"), -1115),  # type: ignore[arg-type]
        (NewOrder("alice", BUY, LIMIT, 100, 100.5, GTC), -1130),  # type: ignore[arg-type]
        (NewOrder("alice", BUY, LIMIT, 1.0, 10_000, GTC), -1130),  # type: ignore[arg-type]
        (NewOrder("alice", BUY, MARKET, 0, 0, None, 1.5), -1130),  # type: ignore[arg-type]
        (NewOrder("alice", BUY, LIMIT, 100, 10_000, GTC, 0, ""), -1118),
        (NewOrder("alice", BUY, LIMIT, 100, 10_000, GTC, 0, "no spaces"), -1100),
        (NewOrder("mallory", BUY, LIMIT, 100, 10_000, GTC), -2015),
        (NewOrder("alice", BUY, LIMIT, 0, 10_000, GTC), -1013),
        (NewOrder("alice", BUY, LIMIT, -3, 10_000, GTC), -1013),
        (NewOrder("alice", BUY, LIMIT, 100, 0, GTC), -1013),
        (NewOrder("alice", BUY, LIMIT, 100, -1, GTC), -1013),
    ],
)
def test_malformed_requests_get_typed_errors_and_change_nothing(
    engine: MatchingEngine, order: NewOrder, code: int
) -> None:
    ok(engine.submit(limit("bob", SELL, 10_500, 100), 1))
    before = engine.state_digest()
    error = engine.submit(order, 2)
    assert isinstance(error, VenueError) and error.code == code and error.msg
    assert engine.state_digest() == before


def test_errors_become_typed_exceptions_at_the_edge() -> None:
    error = errors.filter_failure("LOT_SIZE")
    exc = error.exception()
    assert isinstance(exc, Bot4Error)
    assert (exc.code, exc.msg, exc.category, exc.retryable) == (
        -1013,
        "Filter failure: LOT_SIZE",
        Category.VALIDATION,
        False,
    )
    assert str(exc) == "-1013: Filter failure: LOT_SIZE"
    assert error.as_dict() == {"code": -1013, "msg": "Filter failure: LOT_SIZE"}
    assert errors.INSUFFICIENT_BALANCE.retryable


def test_queries(engine: MatchingEngine) -> None:
    a = ok(engine.submit(limit("alice", BUY, 9_000, 100, client_order_id="q1"), 1))
    view = engine.get_order("alice", order_id=a.order_id)
    assert not isinstance(view, VenueError) and view.status is OrderStatus.NEW
    assert engine.get_order("alice", client_order_id="q1") == view
    assert engine.get_order("alice", a.order_id, "other") is errors.CLIENT_ORDER_ID_MISMATCH
    assert engine.get_order("bob", order_id=a.order_id) is errors.NO_SUCH_ORDER
    assert isinstance(engine.get_order("alice"), VenueError)
    assert [o.order_id for o in engine.open_orders("alice")] == [a.order_id]
    ok(engine.cancel(CancelOrder("alice", order_id=a.order_id), 2))
    ended = engine.get_order("alice", client_order_id="q1")
    assert not isinstance(ended, VenueError) and ended.status is OrderStatus.CANCELED
    assert engine.open_orders() == []
    assert engine.get_order("alice", order_id=999) is errors.NO_SUCH_ORDER


def test_ended_order_history_is_bounded(inst: Instrument) -> None:
    engine = funded_engine(inst, history=3)
    ids = [ok(engine.submit(limit("alice", BUY, 9_000, 100, IOC), t)).order_id for t in range(5)]
    assert engine.get_order("alice", order_id=ids[0]) is errors.NO_SUCH_ORDER
    assert not isinstance(engine.get_order("alice", order_id=ids[-1]), VenueError)


def test_on_events_hook_sees_every_report_in_sequence(inst: Instrument) -> None:
    seen: list[int] = []
    engine = funded_engine(inst, on_events=lambda reports: seen.extend(r.seq for r in reports))
    ok(engine.submit(limit("alice", SELL, 10_000, 100), 1))
    ok(engine.submit(limit("bob", BUY, 10_000, 300), 2))
    ok(engine.cancel(CancelOrder("bob", order_id=2), 3))
    assert seen == list(range(1, engine.seq + 1)) == [1, 2, 3, 4, 5]


@pytest.mark.python_engine_only(
    "reads the Python book's levels; the native book's compaction is a proptest in book.rs"
)
def test_many_cancels_at_one_level_keep_the_level_compact(engine: MatchingEngine) -> None:
    keep = ok(engine.submit(limit("alice", BUY, 9_000, 100), 0)).order_id
    for t in range(1, 200):
        oid = ok(engine.submit(limit("alice", BUY, 9_000, 100), t)).order_id
        ok(engine.cancel(CancelOrder("alice", order_id=oid), t))
    level = engine.bids.levels[9_000]
    assert level.count == 1 and len(level.orders) <= 2 * level.count + 17
    assert [o.order_id for o in level.live()] == [keep]
