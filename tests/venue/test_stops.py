"""Stop-loss and take-profit orders: placement rules, triggers, trailing stops (the venue's
trailing-stop FAQ scenarios), locks, cascades and cancels."""

from __future__ import annotations

import pytest

from bot4.core import errors
from bot4.core.enums import ExecutionType, OrderStatus, OrderType, Side, TimeInForce
from bot4.core.errors import VenueError
from bot4.core.events import ExecutionReport
from bot4.core.instruments import Instrument
from bot4.core.orders import AmendOrder, CancelOrder, NewOrder
from bot4.core.results import Ack
from bot4.venue.engine import MatchingEngine
from bot4.venue.exchange import Venue
from tests.conftest import funded_engine, simple_spec
from tests.support.backends import current

BUY, SELL, GTC = Side.BUY, Side.SELL, TimeInForce.GTC
SL, SLL = OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT
TP, TPL = OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT
TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT",
         "TAKE_PROFIT_LIMIT"]  # fmt: skip
PRICE = {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "100000", "tickSize": "0.01"}
LOT = {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"}


def usd(amount: float | int) -> int:
    """Dollars to ticks of 0.01 (test data only)."""
    return round(amount * 100)


def new_engine(*extra: dict[str, object], last: int = usd(40_000)) -> MatchingEngine:
    spec = simple_spec(orderTypes=TYPES, filters=[PRICE, LOT, *extra])
    engine = funded_engine(Instrument.compile(spec), ("user", "m", "t"))
    trade_at(engine, last, 0)
    return engine


def ok(result: Ack | VenueError) -> Ack:
    assert isinstance(result, Ack), result
    return result


def trade_at(engine: MatchingEngine, price: int, now: int) -> Ack:
    """One lot changes hands between two bystanders at `price`."""
    ok(engine.submit(NewOrder("m", SELL, OrderType.LIMIT, 1, price, GTC), now))
    return ok(engine.submit(NewOrder("t", BUY, OrderType.LIMIT, 1, price, TimeInForce.IOC), now))


def stop(
    side: Side, kind: OrderType, qty: int, *, stop_price: int = 0, price: int = 0,
    trailing: int = 0, tif: TimeInForce | None = None,
) -> NewOrder:  # fmt: skip
    if tif is None and kind in (SLL, TPL):
        tif = GTC
    return NewOrder("user", side, kind, qty, price, tif, 0, None, None, stop_price, trailing)


def reports_of(ack: Ack, order_id: int) -> list[ExecutionReport]:
    return [r for r in ack.reports if r.order_id == order_id]


def test_a_stop_waits_off_the_book_then_works_as_a_limit_order() -> None:
    engine = new_engine()
    placed = ok(engine.submit(stop(SELL, SLL, 5, stop_price=usd(39_000), price=usd(38_900)), 1))
    (new,) = placed.reports
    assert new.status is OrderStatus.NEW and not new.is_working and new.working_time == -1
    assert new.stop_price == usd(39_000) and engine.depth()["asks"] == []
    assert engine.ledger.balance("user", "TEST").locked == 5 * engine.instrument.base_per_lot
    assert trade_at(engine, usd(39_001), 2).reports[-1].trade_id == 2  # not yet
    ack = trade_at(engine, usd(39_000), 3)  # the last price reaches the stop
    (triggered,) = reports_of(ack, placed.order_id)
    assert triggered.execution_type is ExecutionType.NEW and triggered.is_working
    assert triggered.working_time == 3
    assert engine.depth()["asks"] == [(usd(38_900), 5)]


@pytest.mark.parametrize(
    ("side", "kind", "stop_at", "quiet", "fires"),
    [
        (BUY, SL, 41_000, 40_999, 41_000),  # stop loss BUY: fires at or above
        (SELL, SL, 39_000, 39_001, 39_000),  # stop loss SELL: at or below
        (BUY, TP, 39_000, 39_001, 39_000),  # take profit BUY: at or below
        (SELL, TP, 41_000, 40_999, 41_000),  # take profit SELL: at or above
    ],
)
def test_trigger_direction_by_type_and_side(
    side: Side, kind: OrderType, stop_at: int, quiet: int, fires: int
) -> None:
    engine = new_engine()
    oid = ok(engine.submit(stop(side, kind, 2, stop_price=usd(stop_at)), 1)).order_id
    assert reports_of(trade_at(engine, usd(quiet), 2), oid) == []
    # liquidity for the triggered MARKET order, away from the trigger price
    other, away = (SELL, usd(fires) + 100) if side is BUY else (BUY, usd(fires) - 100)
    ok(engine.submit(NewOrder("m", other, OrderType.LIMIT, 2, away, GTC), 3))
    ack = trade_at(engine, usd(fires), 4)
    mine = reports_of(ack, oid)
    assert [r.execution_type for r in mine] == [ExecutionType.NEW, ExecutionType.TRADE]
    assert mine[-1].status is OrderStatus.FILLED and mine[-1].last_price == away


@pytest.mark.parametrize(
    ("side", "kind", "stop_at"),
    [(BUY, SL, 40_000), (BUY, SL, 39_000), (SELL, SL, 40_000), (BUY, TP, 41_000),
     (SELL, TP, 40_000), (SELL, TPL, 39_999)],
)  # fmt: skip
def test_a_stop_that_would_trigger_at_once_is_refused(
    side: Side, kind: OrderType, stop_at: int
) -> None:
    engine = new_engine()
    price = usd(40_000) if kind in (SLL, TPL) else 0
    result = engine.submit(stop(side, kind, 1, stop_price=usd(stop_at), price=price), 1)
    assert result is errors.WOULD_TRIGGER
    assert (result.code, result.msg) == (-2010, "Order would trigger immediately.")


@pytest.mark.parametrize(
    ("order", "code"),
    [
        (stop(SELL, SL, 1), -1102),  # neither stopPrice nor trailingDelta
        (stop(SELL, SL, 1, stop_price=usd(1), price=usd(1)), -1106),
        (stop(SELL, SL, 1, stop_price=usd(1), tif=GTC), -1114),
        (NewOrder("user", SELL, SLL, 1, usd(1), None, 0, None, None, usd(1)), -1102),
        (NewOrder("user", SELL, SL, 1, 0, None, 5, None, None, usd(1)), -1106),
        (NewOrder("user", SELL, OrderType.LIMIT, 1, usd(1), GTC, 0, None, None, usd(1)), -1106),
        (NewOrder("user", SELL, OrderType.LIMIT, 1, usd(1), GTC, 0, None, None, 0, 5), -1106),
        (NewOrder("user", SELL, SL, 1, 0, None, 0, None, None, -5), -1130),
        (NewOrder("user", SELL, SL, 1, 0, None, 0, None, None, 0, 1.5), -1130),  # type: ignore[arg-type]
        (stop(SELL, SL, 1, stop_price=usd(200_000)), -1013),  # PRICE_FILTER on stopPrice
    ],
)
def test_malformed_stops(order: NewOrder, code: int) -> None:
    engine = new_engine()
    before = engine.state_digest()
    result = engine.submit(order, 1)
    assert isinstance(result, VenueError) and result.code == code, result
    assert engine.state_digest() == before


def test_max_num_algo_orders_counts_waiting_stops() -> None:
    engine = new_engine({"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 2})
    first = ok(engine.submit(stop(SELL, SL, 1, stop_price=usd(30_000)), 1)).order_id
    ok(engine.submit(stop(SELL, SL, 1, stop_price=usd(31_000)), 1))
    assert engine.submit(stop(SELL, SL, 1, stop_price=usd(32_000)), 1) == errors.filter_failure(
        "MAX_NUM_ALGO_ORDERS"
    )
    ok(engine.cancel(CancelOrder("user", first), 2))
    ok(engine.submit(stop(SELL, SL, 1, stop_price=usd(32_000)), 3))


def test_cancelling_a_waiting_stop_releases_its_lock() -> None:
    engine = new_engine()
    oid = ok(
        engine.submit(stop(BUY, SLL, 10, stop_price=usd(41_000), price=usd(41_100)), 1)
    ).order_id
    quote = engine.ledger.balance("user", "USDT")
    assert quote.locked == usd(41_100) * 10 * engine.instrument.quote_per_ticklot
    done = ok(engine.cancel(CancelOrder("user", oid), 2))
    assert done.status is OrderStatus.CANCELED and quote.locked == 0
    assert reports_of(trade_at(engine, usd(42_000), 3), oid) == []
    assert engine.waiting_stops() == []


def test_amending_a_waiting_stop() -> None:
    engine = new_engine()
    oid = ok(
        engine.submit(stop(SELL, SLL, 10, stop_price=usd(39_000), price=usd(38_000)), 1)
    ).order_id
    ack = ok(engine.amend(AmendOrder("user", 4, oid), 2))
    assert ack.reports[0].orig_qty == 4 and not ack.reports[0].is_working
    assert engine.ledger.balance("user", "TEST").locked == 4 * engine.instrument.base_per_lot
    trade_at(engine, usd(39_000), 3)
    assert engine.depth()["asks"] == [(usd(38_000), 4)]


def test_a_triggered_market_buy_tops_up_its_lock_or_is_rejected() -> None:
    engine = new_engine()
    per = engine.instrument.quote_per_ticklot
    engine.ledger.deposit("thin", "USDT", usd(41_000) * 2 * per)  # exactly 2 lots at the stop
    order = NewOrder("thin", BUY, SL, 2, 0, None, 0, None, None, usd(41_000))
    oid = ok(engine.submit(order, 1)).order_id
    assert engine.ledger.balance("thin", "USDT").free == 0
    ok(engine.submit(NewOrder("m", SELL, OrderType.LIMIT, 5, usd(41_500), GTC), 2))
    ack = trade_at(engine, usd(41_000), 3)  # triggers; the book now costs 41,500 a lot
    (rejected,) = reports_of(ack, oid)
    assert rejected.execution_type is ExecutionType.REJECTED
    assert rejected.status is OrderStatus.REJECTED
    assert engine.ledger.balance("thin", "USDT").free == usd(41_000) * 2 * per
    engine.ledger.deposit("thin", "USDT", usd(500) * 2 * per)
    oid = ok(
        engine.submit(NewOrder("thin", BUY, SL, 2, 0, None, 0, None, None, usd(41_200)), 4)
    ).order_id
    ack = trade_at(engine, usd(41_500), 5)
    assert reports_of(ack, oid)[-1].status is OrderStatus.FILLED
    assert engine.ledger.balance("thin", "USDT").free == 0


def test_a_triggered_stop_can_trigger_the_next() -> None:
    engine = new_engine()
    ok(engine.submit(NewOrder("m", BUY, OrderType.LIMIT, 3, usd(38_500), GTC), 1))
    ok(engine.submit(NewOrder("m", BUY, OrderType.LIMIT, 3, usd(38_000), GTC), 1))
    first = ok(engine.submit(stop(SELL, SL, 4, stop_price=usd(39_000)), 2)).order_id
    second = ok(engine.submit(stop(SELL, SL, 2, stop_price=usd(38_400)), 2)).order_id
    ack = trade_at(engine, usd(39_000), 3)
    # the first sells 3 at 38,500 and 1 at 38,000: that last trade reaches the second
    assert [r.last_price for r in reports_of(ack, first)[1:]] == [usd(38_500), usd(38_000)]
    assert reports_of(ack, second)[-1].last_price == usd(38_000)
    assert reports_of(ack, second)[-1].status is OrderStatus.FILLED
    seqs = [r.seq for r in ack.reports]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_trailing_needs_the_symbol_and_its_filter() -> None:
    engine = new_engine({"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10,
                         "maxTrailingAboveDelta": 2000, "minTrailingBelowDelta": 10,
                         "maxTrailingBelowDelta": 2000})  # fmt: skip
    assert engine.submit(stop(SELL, SL, 1, trailing=5), 1) == errors.filter_failure(
        "TRAILING_DELTA"
    )
    assert engine.submit(stop(BUY, SL, 1, trailing=2001), 1) == errors.filter_failure(
        "TRAILING_DELTA"
    )
    ok(engine.submit(stop(SELL, SL, 1, trailing=10), 1))
    spec = simple_spec(orderTypes=TYPES, allowTrailingStop=False)
    off = funded_engine(Instrument.compile(spec), ("user",))
    refused = off.submit(stop(SELL, SL, 1, trailing=100), 1)
    assert isinstance(refused, VenueError)
    assert refused.msg == "Trailing stop orders are not supported for this symbol."


def _trail(order: NewOrder, path: list[float]) -> tuple[MatchingEngine, int, list[int]]:
    """Place `order` at last price 40,000, then trade along `path`; the step it fired at."""
    engine = new_engine()
    oid = ok(engine.submit(order, 1)).order_id
    fired = []
    for step, price in enumerate(path):
        if reports_of(trade_at(engine, usd(price), 10 + step), oid):
            fired.append(step)
    return engine, oid, fired


def test_trailing_faq_a_stop_loss_limit_buy() -> None:
    order = stop(BUY, SLL, 1, stop_price=usd(44_000), price=usd(45_000), trailing=500)
    engine, oid, fired = _trail(order, [37_000, 44_000, 45_000, 46_000, 42_000, 44_100])
    assert fired == [5]  # 42,000 x 1.05 = 44,100
    view = engine.get_order("user", order_id=oid)
    assert not isinstance(view, VenueError) and view.trailing_time == 11  # started at 44,000


def test_trailing_faq_b_stop_loss_limit_sell() -> None:
    order = stop(SELL, SLL, 1, stop_price=usd(39_000), price=usd(38_000), trailing=1000)
    _, _, fired = _trail(order, [41_500, 39_000, 37_000, 41_000, 36_900])
    assert fired == [4]  # 41,000 x 0.90 = 36,900


def test_trailing_faq_c_take_profit_limit_buy() -> None:
    order = stop(BUY, TPL, 1, stop_price=usd(38_000), price=usd(38_500), trailing=850)
    _, _, fired = _trail(order, [42_000, 38_000, 37_000, 39_000, 38_000, 40_145])
    assert fired == [5]  # 37,000 x 1.085 = 40,145


def test_trailing_faq_d_take_profit_limit_sell() -> None:
    order = stop(SELL, TPL, 1, stop_price=usd(42_000), price=usd(41_000), trailing=750)
    _, _, fired = _trail(order, [41_500, 39_000, 42_000, 45_000, 44_000, 46_500, 43_012.5])
    assert fired == [6]  # 46,500 x 0.925 = 43,012.50


def test_trailing_faq_e_stop_loss_limit_sell_without_stop_price() -> None:
    order = stop(SELL, SLL, 1, price=usd(39_000), trailing=700)
    _, _, fired = _trail(order, [42_000, 39_500, 45_500, 42_315])
    assert fired == [3]  # tracking from 40,000; 45,500 x 0.93 = 42,315


def test_stops_over_the_venue_edge() -> None:
    spec = simple_spec(symbol="BTCUSDT", baseAsset="BTC", orderTypes=TYPES)
    venue = Venue(
        {"BTCUSDT": Instrument.compile(spec)},
        reference_prices={"BTCUSDT": usd(40_000)},
        backend=current(),
    )
    venue.deposit("user", "BTC", "1")
    body = venue.place("user", {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS_LIMIT",
                                "timeInForce": "GTC", "quantity": "0.5", "price": "38000",
                                "stopPrice": "39000", "trailingDelta": "250"}, 1)  # fmt: skip
    assert body["status"] == "NEW" and body["workingTime"] == -1
    assert body["stopPrice"] == "39000.00000000" and body["trailingDelta"] == 250
    for params, code in [
        ({"type": "STOP_LOSS", "quantity": "0.1"}, -1102),
        ({"type": "STOP_LOSS", "quantity": "0.1", "stopPrice": "1", "price": "1"}, -1106),
        ({"type": "STOP_LOSS", "quantity": "0.1", "trailingDelta": "x"}, -1130),
        ({"type": "STOP_LOSS", "quantity": "0.1", "trailingDelta": "0"}, -1130),
        ({"type": "STOP_LOSS", "quantity": "0.1", "stopPrice": "1.001"}, -1013),
        ({"type": "STOP_LOSS_LIMIT", "quantity": "0.1", "stopPrice": "1", "price": "1"}, -1102),
        ({"type": "LIMIT", "timeInForce": "GTC", "quantity": "0.1", "price": "1",
          "stopPrice": "1"}, -1106),
        ({"type": "TAKE_PROFIT", "quantity": "0.1", "stopPrice": "1", "quoteOrderQty": "1"}, -1106),
    ]:  # fmt: skip
        body = venue.place("user", {"symbol": "BTCUSDT", "side": "SELL", **params}, 2)
        assert body.get("code") == code, (params, body)
