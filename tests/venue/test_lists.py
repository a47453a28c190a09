"""Order lists: OCO, OTO and OTOCO as rest-api.md describes them."""

from __future__ import annotations

import pytest

from bot4.core import errors
from bot4.core.enums import (
    ContingencyType,
    ExecutionType,
    ExpiryReason,
    ListOrderStatus,
    ListStatusType,
    OrderStatus,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)
from bot4.core.errors import VenueError
from bot4.core.instruments import Instrument
from bot4.core.orders import (
    CancelOrder,
    CancelOrderList,
    ListLeg,
    NewOco,
    NewOrder,
    NewOto,
    NewOtoco,
)
from bot4.core.results import Ack, ListAck
from bot4.venue.engine import MatchingEngine
from bot4.venue.exchange import Venue
from bot4.venue.lists import check_oco_prices
from tests.conftest import funded_engine, simple_spec
from tests.support.backends import current

BUY, SELL, GTC, IOC = Side.BUY, Side.SELL, TimeInForce.GTC, TimeInForce.IOC
LIMIT, MAKER = OrderType.LIMIT, OrderType.LIMIT_MAKER
SL, SLL, TP, TPL = (OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT,
                    OrderType.TAKE_PROFIT_LIMIT)  # fmt: skip
TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT",
         "TAKE_PROFIT_LIMIT"]  # fmt: skip


@pytest.fixture()
def engine() -> MatchingEngine:
    spec = simple_spec(orderTypes=TYPES)
    engine = funded_engine(Instrument.compile(spec), ("user", "m", "t"))
    trade_at(engine, 10_000, 0)  # last price 100.00
    return engine


def ok(result: object) -> ListAck:
    assert isinstance(result, ListAck), result
    return result


def trade_at(engine: MatchingEngine, price: int, now: int, qty: int = 1) -> Ack:
    engine.submit(NewOrder("m", SELL, LIMIT, qty, price, GTC), now)
    ack = engine.submit(NewOrder("t", BUY, LIMIT, qty, price, IOC), now)
    assert isinstance(ack, Ack)
    return ack


def sell_oco(qty: int = 100) -> NewOco:
    return NewOco("user", SELL, qty, ListLeg(MAKER, price=11_000),
                  ListLeg(SLL, price=8_900, stop_price=9_000, time_in_force=GTC),
                  list_client_order_id="exit")  # fmt: skip


def test_sell_oco_places_both_legs_and_locks_the_quantity_once(engine: MatchingEngine) -> None:
    ack = ok(engine.submit_oco(sell_oco(), 1))
    assert ack.contingency_type is ContingencyType.OCO
    assert ack.list_order_status is ListOrderStatus.EXECUTING
    (status,) = ack.list_statuses
    assert status.list_status_type is ListStatusType.EXEC_STARTED
    assert status.list_client_order_id == "exit" and len(status.orders) == 2
    above, below = ack.orders
    assert (above.type, above.status, below.type, below.working_time) == (
        MAKER,
        OrderStatus.NEW,
        SLL,
        -1,
    )
    assert [r.order_list_id for r in ack.reports] == [0, 0]
    assert engine.depth()["asks"] == [(11_000, 100)]
    assert engine.ledger.balance("user", "TEST").locked == 100 * engine.instrument.base_per_lot
    assert (
        status.to_venue()["l"] == "EXEC_STARTED"
        and status.to_venue()["O"][0]["i"] == above.order_id
    )


def test_a_fill_of_the_limit_leg_expires_the_stop_leg(engine: MatchingEngine) -> None:
    oco = ok(engine.submit_oco(sell_oco(), 1))
    _, below = oco.orders
    ack = engine.submit(NewOrder("t", BUY, LIMIT, 30, 11_000, IOC), 2)
    assert isinstance(ack, Ack)
    expired = [r for r in ack.reports if r.order_id == below.order_id]
    assert [(r.execution_type, r.expiry_reason) for r in expired] == [
        (ExecutionType.EXPIRED, ExpiryReason.OCO_TRIGGER)
    ]
    assert engine.ledger.balance("user", "TEST").locked == 70 * engine.instrument.base_per_lot
    trade_at(engine, 9_000, 3)  # would have triggered the stop: nothing happens now
    assert engine.depth()["asks"] == [(11_000, 70)]
    done = engine.submit(NewOrder("t", BUY, LIMIT, 70, 11_000, IOC), 4)
    assert isinstance(done, Ack)
    (status,) = done.list_statuses
    assert status.list_status_type is ListStatusType.ALL_DONE
    assert status.list_order_status is ListOrderStatus.ALL_DONE
    assert engine.ledger.balance("user", "TEST").locked == 0


def test_a_triggered_stop_leg_expires_the_limit_leg_and_takes_its_lock(
    engine: MatchingEngine,
) -> None:
    oco = ok(engine.submit_oco(sell_oco(), 1))
    above, below = oco.orders
    ack = trade_at(engine, 9_000, 2)
    mine = [(r.order_id, r.execution_type) for r in ack.reports if r.account == "user"]
    assert mine == [(above.order_id, ExecutionType.EXPIRED), (below.order_id, ExecutionType.NEW)]
    assert engine.depth()["asks"] == [(8_900, 100)]  # the stop leg works as a LIMIT at 89.00
    assert engine.ledger.balance("user", "TEST").locked == 100 * engine.instrument.base_per_lot
    ok(engine.cancel_list(CancelOrderList("user", list_client_order_id="exit"), 3))
    assert engine.ledger.balance("user", "TEST").locked == 0


def test_buy_oco_locks_the_larger_leg_and_frees_the_rest(engine: MatchingEngine) -> None:
    per = engine.instrument.quote_per_ticklot
    usdt = engine.ledger.balance("user", "USDT")
    before = usdt.free
    oco = NewOco("user", BUY, 100, ListLeg(SL, stop_price=11_000), ListLeg(MAKER, price=9_000))
    ack = ok(engine.submit_oco(oco, 1))
    assert usdt.locked == 11_000 * 100 * per  # the market stop leg is priced at its stop
    engine.submit(NewOrder("t", SELL, LIMIT, 100, 9_000, IOC), 2)  # the limit leg fills
    assert usdt.locked == 0
    assert before - usdt.free == 9_000 * 100 * per
    assert engine.get_order("user", order_id=ack.orders[0].order_id).status is OrderStatus.EXPIRED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("side", "above", "below", "code"),
    [
        (SELL, ListLeg(LIMIT, price=11_000), ListLeg(SL, stop_price=9_000), -1158),
        (SELL, ListLeg(MAKER, price=11_000), ListLeg(MAKER, price=9_000), -1168),
        (SELL, ListLeg(SL, stop_price=11_000), ListLeg(MAKER, price=9_000), -1197),
        (SELL, ListLeg(TP, stop_price=11_000), ListLeg(TP, stop_price=9_000), -1199),
        (BUY, ListLeg(MAKER, price=11_000), ListLeg(SL, stop_price=9_000), -1196),
        (BUY, ListLeg(SL, stop_price=11_000), ListLeg(TP, stop_price=9_000), None),
        (BUY, ListLeg(TP, stop_price=11_000), ListLeg(MAKER, price=9_000), -1198),
        (SELL, ListLeg(MAKER, price=9_500), ListLeg(SL, stop_price=9_000), -2010),  # below last
        (SELL, ListLeg(MAKER, price=11_000), ListLeg(SL, stop_price=10_500), -2010),
        (BUY, ListLeg(SL, stop_price=11_000), ListLeg(MAKER, price=10_000), -2010),
    ],
)
def test_oco_leg_rules(
    engine: MatchingEngine, side: Side, above: ListLeg, below: ListLeg, code: int | None
) -> None:
    before = engine.state_digest()
    result = engine.submit_oco(NewOco("user", side, 100, above, below), 1)
    if code is None:
        ok(result)
        return
    assert isinstance(result, VenueError) and result.code == code, result
    assert engine.state_digest() == before


def test_buy_oco_limit_above_and_other_refusals(engine: MatchingEngine) -> None:
    legs = (ListLeg(MAKER, price=11_000), ListLeg(TP, stop_price=9_000))
    assert engine.submit_oco(NewOco("user", BUY, 100, *legs), 1) is not None
    spaced = ListLeg(MAKER, price=9_000, client_order_id="x y")
    bad = engine.submit_oco(NewOco("user", BUY, 100, ListLeg(SL, stop_price=11_000), spaced), 1)
    assert isinstance(bad, VenueError) and bad.code == -1100
    poor = NewOco("nobody", SELL, 100, ListLeg(MAKER, price=11_000), ListLeg(SL, stop_price=9_000))
    assert engine.submit_oco(poor, 1) is errors.UNKNOWN_ACCOUNT
    huge = NewOco(
        "user", SELL, 1_000_001, ListLeg(MAKER, price=11_000), ListLeg(SL, stop_price=9_000)
    )
    assert isinstance(engine.submit_oco(huge, 1), VenueError)
    ok(engine.submit_oco(sell_oco(), 1))
    assert engine.submit_oco(sell_oco(), 2) is not None
    dup = engine.submit_oco(sell_oco(), 2)
    assert isinstance(dup, VenueError) and dup.msg == "Duplicate order sent."
    assert check_oco_prices(ListLeg(MAKER, price=5), ListLeg(SL, stop_price=6), None) is not None
    off = funded_engine(
        Instrument.compile(simple_spec(orderTypes=TYPES, ocoAllowed=False, otoAllowed=False))
    )
    refused = off.submit_oco(NewOco("alice", SELL, 1, *legs), 1)
    assert isinstance(refused, VenueError) and refused.msg.startswith("OCO orders")
    working = NewOrder("alice", BUY, LIMIT, 1, 10_000, GTC)
    assert isinstance(off.submit_oto(NewOto(working, working), 1), VenueError)
    assert isinstance(off.submit_otoco(NewOtoco(working, SELL, 1, *legs), 1), VenueError)


def test_cancelling_one_leg_cancels_the_list(engine: MatchingEngine) -> None:
    oco = ok(engine.submit_oco(sell_oco(), 1))
    ack = engine.cancel(CancelOrder("user", oco.orders[1].order_id), 2)
    assert isinstance(ack, Ack)
    assert [(r.order_id, r.status) for r in ack.reports] == [
        (oco.orders[0].order_id, OrderStatus.CANCELED),
        (oco.orders[1].order_id, OrderStatus.CANCELED),
    ]
    assert ack.list_statuses[-1].list_status_type is ListStatusType.ALL_DONE
    assert engine.depth()["asks"] == [] and engine.waiting_stops() == []
    assert engine.ledger.balance("user", "TEST").locked == 0
    assert engine.cancel_list(CancelOrderList("user", 0), 3) is not None
    unknown = engine.cancel_list(CancelOrderList("user", 0), 3)
    assert isinstance(unknown, VenueError) and unknown.code == -2011
    assert isinstance(engine.cancel_list(CancelOrderList("user"), 3), VenueError)
    assert engine.cancel_list(CancelOrderList("ghost", 0), 3) is errors.UNKNOWN_ACCOUNT


def oto(pending: NewOrder) -> NewOto:
    return NewOto(NewOrder("user", BUY, LIMIT, 100, 9_900, GTC), pending, "in-and-out")


def test_oto_places_the_pending_leg_when_the_working_leg_fills(engine: MatchingEngine) -> None:
    ack = ok(engine.submit_oto(oto(NewOrder("user", SELL, LIMIT, 100, 10_500, GTC)), 1))
    working, pending = ack.orders
    assert (working.status, pending.status, pending.working_time) == (
        OrderStatus.NEW, OrderStatus.PENDING_NEW, -1)  # fmt: skip
    assert engine.depth() == {"bids": [(9_900, 100)], "asks": []}
    fill = engine.submit(NewOrder("t", SELL, LIMIT, 100, 9_900, IOC), 2)
    assert isinstance(fill, Ack)
    released = [r for r in fill.reports if r.order_id == pending.order_id]
    assert released[0].status is OrderStatus.NEW and released[0].working_time == 2
    assert engine.depth()["asks"] == [(10_500, 100)]
    assert fill.list_statuses == ()  # the list goes on until its last leg ends
    done = trade_at(engine, 10_500, 3, qty=100)  # takes the pending leg, first in line
    assert done.list_statuses[-1].list_status_type is ListStatusType.ALL_DONE
    assert engine.depth()["asks"] == [(10_500, 100)]  # the bystander's ask, behind it


def test_oto_pending_leg_expires_when_the_working_leg_is_cancelled(engine: MatchingEngine) -> None:
    ack = ok(engine.submit_oto(oto(NewOrder("user", SELL, LIMIT, 100, 10_500, GTC)), 1))
    working, pending = ack.orders
    out = engine.cancel(CancelOrder("user", working.order_id), 2)
    assert isinstance(out, Ack)
    assert {r.order_id: r.status for r in out.reports} == {
        working.order_id: OrderStatus.CANCELED, pending.order_id: OrderStatus.CANCELED}  # fmt: skip
    assert out.list_statuses[-1].list_order_status is ListOrderStatus.ALL_DONE


def test_oto_working_leg_that_expires_expires_the_pending_leg(engine: MatchingEngine) -> None:
    working = NewOrder("user", BUY, LIMIT, 100, 9_000, IOC)
    ack = ok(engine.submit_oto(NewOto(working, NewOrder("user", SELL, LIMIT, 100, 10_500, GTC)), 1))
    statuses = [o.status for o in ack.orders]
    assert statuses == [OrderStatus.EXPIRED, OrderStatus.EXPIRED]
    assert ack.reports[-1].expiry_reason is ExpiryReason.OTO_PHASE_ONE_EXPIRED
    assert ack.list_statuses[-1].list_status_type is ListStatusType.ALL_DONE


def test_oto_filled_at_once_releases_a_market_leg(engine: MatchingEngine) -> None:
    engine.submit(NewOrder("m", SELL, LIMIT, 100, 9_900, GTC), 1)
    engine.submit(NewOrder("m", BUY, LIMIT, 100, 9_800, GTC), 1)
    ack = ok(engine.submit_oto(oto(NewOrder("user", SELL, OrderType.MARKET, 100)), 2))
    assert [o.status for o in ack.orders] == [OrderStatus.FILLED, OrderStatus.FILLED]
    assert ack.list_order_status is ListOrderStatus.ALL_DONE


def test_oto_pending_leg_without_funds_is_rejected(engine: MatchingEngine) -> None:
    engine.ledger.deposit("poor", "USDT", 9_900 * 100 * engine.instrument.quote_per_ticklot)
    working = NewOrder("poor", BUY, LIMIT, 100, 9_900, GTC)
    pending = NewOrder("poor", SELL, LIMIT, 200, 10_500, GTC)  # more than the working leg buys
    ack = ok(engine.submit_oto(NewOto(working, pending), 1))
    fill = engine.submit(NewOrder("t", SELL, LIMIT, 100, 9_900, IOC), 2)
    assert isinstance(fill, Ack)
    rejected = [r for r in fill.reports if r.order_id == ack.orders[1].order_id]
    assert [(r.execution_type, r.status) for r in rejected] == [
        (ExecutionType.REJECTED, OrderStatus.REJECTED)
    ]
    assert fill.list_statuses[-1].list_status_type is ListStatusType.ALL_DONE


def test_oto_refusals(engine: MatchingEngine) -> None:
    market = NewOrder("user", BUY, OrderType.MARKET, 100)
    assert isinstance(engine.submit_oto(NewOto(market, market), 1), VenueError)
    quote = NewOrder("user", SELL, OrderType.MARKET, quote_order_qty=100)
    refused = engine.submit_oto(oto(quote), 1)
    assert isinstance(refused, VenueError) and refused.code == -1106
    other = NewOrder("m", SELL, LIMIT, 100, 10_500, GTC)
    assert isinstance(engine.submit_oto(oto(other), 1), VenueError)
    engine.ledger.deposit("tiny", "USDT", 1)
    poor = NewOrder("tiny", BUY, LIMIT, 100, 9_900, GTC)
    refused = engine.submit_oto(NewOto(poor, other._replace(account="tiny")), 1)
    assert refused is errors.INSUFFICIENT_BALANCE


def test_otoco_places_an_oco_pair_when_the_working_leg_fills(engine: MatchingEngine) -> None:
    working = NewOrder("user", BUY, LIMIT, 100, 9_900, GTC)
    req = NewOtoco(working, SELL, 100, ListLeg(MAKER, price=11_000), ListLeg(SL, stop_price=9_000))
    ack = ok(engine.submit_otoco(req, 1))
    assert [o.status for o in ack.orders] == [
        OrderStatus.NEW,
        OrderStatus.PENDING_NEW,
        OrderStatus.PENDING_NEW,
    ]
    assert ack.contingency_type is ContingencyType.OTO
    engine.submit(NewOrder("t", SELL, LIMIT, 100, 9_900, IOC), 2)
    assert engine.depth()["asks"] == [(11_000, 100)] and len(engine.waiting_stops()) == 1
    assert engine.ledger.balance("user", "TEST").locked == 100 * engine.instrument.base_per_lot
    trade_at(engine, 9_000, 3)  # the stop leg triggers and sells at market: nothing to hit
    assert engine.depth()["asks"] == [] and engine.ledger.balance("user", "TEST").locked == 0
    bad = NewOtoco(working, SELL, 100, ListLeg(MAKER, price=9_000), ListLeg(SL, stop_price=11_000))
    assert isinstance(engine.submit_otoco(bad, 4), VenueError)
    worse = NewOtoco(working, SELL, 100, ListLeg(MAKER, price=9_000), ListLeg(SL, stop_price=8_000))
    assert engine.submit_otoco(worse._replace(above=ListLeg(MAKER, price=8_000)), 4) is not None


def test_lists_count_every_leg_for_max_num_orders() -> None:
    spec = simple_spec(orderTypes=TYPES, filters=[
        {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "100000",
         "tickSize": "0.01"},
        {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 2},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 1},
    ])  # fmt: skip
    engine = funded_engine(Instrument.compile(spec), ("user", "m", "t"))
    trade_at(engine, 10_000, 0)
    ok(engine.submit_oco(sell_oco(), 1))
    assert engine.submit(NewOrder("user", BUY, LIMIT, 1, 9_000, GTC), 2) == errors.filter_failure(
        "MAX_NUM_ORDERS"
    )
    engine.cancel_list(CancelOrderList("user", list_client_order_id="exit"), 3)
    two_stops = NewOco(
        "user", BUY, 1, ListLeg(SL, stop_price=11_000), ListLeg(TP, stop_price=9_000)
    )
    assert engine.submit_oco(two_stops, 4) == errors.filter_failure("MAX_NUM_ALGO_ORDERS")


# --------------------------------------------------------------------------- the venue's edge


@pytest.fixture()
def venue() -> Venue:
    spec = simple_spec(symbol="BTCUSDT", baseAsset="BTC", orderTypes=TYPES)
    venue = Venue(
        {"BTCUSDT": Instrument.compile(spec)},
        reference_prices={"BTCUSDT": 10_000},
        backend=current(),
    )
    venue.deposit("user", "BTC", "10")
    venue.deposit("user", "USDT", "100000")
    return venue


def test_oco_over_the_edge(venue: Venue) -> None:
    params = {"symbol": "BTCUSDT", "side": "SELL", "quantity": "1", "listClientOrderId": "L1",
              "aboveType": "LIMIT_MAKER", "abovePrice": "110", "aboveClientOrderId": "tp",
              "belowType": "STOP_LOSS_LIMIT", "belowPrice": "89", "belowStopPrice": "90",
              "belowTimeInForce": "GTC", "selfTradePreventionMode": "EXPIRE_TAKER"}  # fmt: skip
    body = venue.place_list("oco", "user", params, 1)
    assert (body["contingencyType"], body["listStatusType"], body["listOrderStatus"]) == (
        "OCO", "EXEC_STARTED", "EXECUTING")  # fmt: skip
    assert body["listClientOrderId"] == "L1" and body["orders"][0]["clientOrderId"] == "tp"
    reports = body["orderReports"]
    assert [(r["type"], r["status"], r["workingTime"]) for r in reports] == [
        ("LIMIT_MAKER", "NEW", 1), ("STOP_LOSS_LIMIT", "NEW", -1)]  # fmt: skip
    assert reports[1]["stopPrice"] == "90.00000000"
    assert reports[0]["selfTradePreventionMode"] == "EXPIRE_TAKER"
    cancelled = venue.cancel_list("user", {"symbol": "BTCUSDT", "listClientOrderId": "L1"}, 2)
    assert cancelled["listStatusType"] == "ALL_DONE"
    assert [r["status"] for r in cancelled["orderReports"]] == ["CANCELED", "CANCELED"]
    for broken, code in [
        ({"aboveType": None}, -1102),
        ({"side": "UP"}, -1117),
        ({"aboveType": "LIMIT"}, -1158),
        ({"belowStopPrice": "90.001"}, -1013),
        ({"quantity": "0.0001"}, -1013),
        ({"selfTradePreventionMode": "X"}, -1130),
        ({"listClientOrderId": 5}, -1130),
        ({"symbol": "NOPE"}, -1121),
    ]:
        assert venue.place_list("oco", "user", {**params, **broken}, 3)["code"] == code, broken
    assert venue.cancel_list("user", {"symbol": "BTCUSDT"}, 3)["code"] == -1102
    assert venue.cancel_list("user", {"symbol": "BTCUSDT", "orderListId": 7}, 3)["code"] == -2011
    assert venue.cancel_list("user", {"symbol": "NOPE", "orderListId": 7}, 3)["code"] == -1121
    with pytest.raises(ValueError, match="oco, oto or otoco"):
        venue.place_list("opo", "user", params, 3)


def test_oto_and_otoco_over_the_edge(venue: Venue) -> None:
    working = {"symbol": "BTCUSDT", "workingType": "LIMIT", "workingSide": "BUY",
               "workingPrice": "99", "workingQuantity": "1",
               "workingTimeInForce": "GTC"}  # fmt: skip
    oto = {**working, "pendingType": "LIMIT", "pendingSide": "SELL", "pendingQuantity": "1",
           "pendingPrice": "105", "pendingTimeInForce": "GTC"}  # fmt: skip
    body = venue.place_list("oto", "user", oto, 1)
    assert body["contingencyType"] == "OTO"
    assert [r["status"] for r in body["orderReports"]] == ["NEW", "PENDING_NEW"]
    otoco = {**working, "pendingSide": "SELL", "pendingQuantity": "1",
             "pendingAboveType": "LIMIT_MAKER", "pendingAbovePrice": "110",
             "pendingBelowType": "STOP_LOSS", "pendingBelowStopPrice": "90"}  # fmt: skip
    body = venue.place_list("otoco", "user", otoco, 2)
    assert [r["status"] for r in body["orderReports"]] == ["NEW", "PENDING_NEW", "PENDING_NEW"]
    for kind, base, broken, code in [
        ("oto", oto, {"workingPrice": None}, -1102),
        ("oto", oto, {"pendingSide": None}, -1102),
        ("oto", oto, {"pendingType": "SOMETIMES"}, -1116),
        ("oto", oto, {"listClientOrderId": 1}, -1130),
        ("oto", oto, {"workingType": "LIMIT", "workingTimeInForce": None}, -1102),
        ("otoco", otoco, {"pendingAboveType": None}, -1102),
        ("otoco", otoco, {"pendingSide": "UP"}, -1117),
        ("otoco", otoco, {"pendingQuantity": "0.0001"}, -1013),
        ("otoco", otoco, {"pendingBelowStopPrice": "x"}, -1100),
        ("otoco", otoco, {"workingQuantity": "-1"}, -1100),
        ("otoco", otoco, {"listClientOrderId": 1}, -1130),
    ]:
        body = venue.place_list(kind, "user", {**base, **broken}, 3)
        assert body.get("code") == code, (kind, broken, body)


def test_an_oco_stop_leg_triggered_with_another_stop_that_fills_its_sibling(
    engine: MatchingEngine,
) -> None:
    """One trade fires two stops; the first fills the OCO's limit leg, which expires the OCO's
    own stop leg before its turn: it must end EXPIRED, not work."""
    oco = NewOco("user", SELL, 100, ListLeg(MAKER, price=10_500), ListLeg(SL, stop_price=9_500))
    above, below = ok(engine.submit_oco(oco, 1)).orders
    buy_stop = NewOrder("m", BUY, TP, 1, 0, None, 0, None, None, 9_600)
    assert isinstance(engine.submit(buy_stop, 2), Ack)
    ack = trade_at(engine, 9_500, 3)  # fires the take profit (9,600) first, then the stop loss
    mine = {r.order_id: r for r in ack.reports if r.account == "user"}
    assert mine[above.order_id].execution_type is ExecutionType.TRADE
    assert mine[below.order_id].status is OrderStatus.EXPIRED
    assert engine.waiting_stops() == [] and engine.depth()["asks"] == [(10_500, 99)]
    assert engine.ledger.balance("user", "TEST").locked == 99 * engine.instrument.base_per_lot


def test_max_num_order_lists_counts_open_lists_per_account() -> None:
    spec = simple_spec(orderTypes=TYPES, filters=[
        {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "100000",
         "tickSize": "0.01"},
        {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
        {"filterType": "MAX_NUM_ORDER_LISTS", "maxNumOrderLists": 1},
    ])  # fmt: skip
    engine = funded_engine(Instrument.compile(spec), ("user", "m", "t"))
    trade_at(engine, 10_000, 0)
    first = ok(engine.submit_oco(sell_oco(), 1))
    working = NewOrder("user", BUY, LIMIT, 100, 9_900, GTC)
    second = engine.submit_oto(NewOto(working, NewOrder("user", SELL, LIMIT, 100, 10_500, GTC)), 2)
    assert second == errors.filter_failure("MAX_NUM_ORDER_LISTS")
    ok(engine.cancel_list(CancelOrderList("user", first.order_list_id), 3))
    ok(engine.submit_oco(sell_oco(), 4))


def test_a_leg_that_self_trade_prevention_expires_ends_its_pair_at_once(
    engine: MatchingEngine,
) -> None:
    # a trailing stop-loss leg tracks the high; the LIMIT_MAKER leg holds the pair's lock
    trailing = ListLeg(SLL, price=9_000, trailing_delta=100, time_in_force=GTC)
    pair = NewOco("user", SELL, 10, ListLeg(MAKER, price=10_050), trailing)
    legs = [v.order_id for v in ok(engine.submit_oco(pair, 1)).orders]
    trade_at(engine, 10_040, 2)  # the high the trailing leg keeps
    engine.submit(NewOrder("t", BUY, LIMIT, 10, 9_500, GTC), 3)  # a bid for the stop leg
    engine.submit(NewOrder("m", SELL, LIMIT, 1, 9_900, GTC), 3)
    # the account's own buy trades at 99.00 (1% under the high: the trailing leg would fire)
    # and then meets its own LIMIT_MAKER leg, which EXPIRE_MAKER takes away
    buy = NewOrder("user", BUY, LIMIT, 2, 10_060, GTC, stp_mode=StpMode.EXPIRE_MAKER)
    ack = engine.submit(buy, 4)
    assert isinstance(ack, Ack)
    events = [(r.order_id, r.execution_type, r.status) for r in ack.reports]
    prevented = events.index((legs[0], ExecutionType.TRADE_PREVENTION,
                              OrderStatus.EXPIRED_IN_MATCH))  # fmt: skip
    # the sibling ends right after it, so no trigger can take it to the book
    assert events[prevented + 1] == (legs[1], ExecutionType.EXPIRED, OrderStatus.EXPIRED)
    assert all(order_id != legs[1] or x is not ExecutionType.TRADE for order_id, x, _ in events)
    base = engine.ledger.balance("user", engine.instrument.base)
    assert base.locked == 0 and engine.list_status(0, 5) is None
