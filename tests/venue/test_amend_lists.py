"""Amend keep-priority on order-list legs, as the amend FAQ describes ("Can Order lists be
amended?"): an OCO pair's legs share one quantity, OTO legs are amended one by one."""

from __future__ import annotations

import pytest

from bot4.core.enums import (
    ExecutionType,
    ExpiryReason,
    ListOrderStatus,
    ListStatusType,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from bot4.core.errors import VenueError
from bot4.core.instruments import Instrument
from bot4.core.orders import AmendOrder, ListLeg, NewOco, NewOrder, NewOto, NewOtoco
from bot4.core.results import Ack
from bot4.venue.engine import MatchingEngine
from bot4.venue.exchange import Venue
from tests.conftest import funded_engine, simple_spec
from tests.support.backends import current
from tests.venue.test_lists import TYPES, ok, sell_oco, trade_at

BUY, SELL, GTC, IOC = Side.BUY, Side.SELL, TimeInForce.GTC, TimeInForce.IOC
LIMIT, MAKER, SL = OrderType.LIMIT, OrderType.LIMIT_MAKER, OrderType.STOP_LOSS


@pytest.fixture()
def engine() -> MatchingEngine:
    engine = funded_engine(Instrument.compile(simple_spec(orderTypes=TYPES)), ("user", "m", "t"))
    trade_at(engine, 10_000, 0)  # last price 100.00
    return engine


def amended(result: Ack | VenueError) -> Ack:
    assert isinstance(result, Ack), result
    return result


def test_amending_one_oco_leg_amends_both(engine: MatchingEngine) -> None:
    above, below = ok(engine.submit_oco(sell_oco(100), 1)).orders
    ack = amended(engine.amend(AmendOrder("user", 60, above.order_id), 2))
    replaced = [(r.order_id, r.execution_type, r.orig_qty) for r in ack.reports]
    assert replaced == [(above.order_id, ExecutionType.REPLACED, 60),
                        (below.order_id, ExecutionType.REPLACED, 60)]  # fmt: skip
    assert ack.client_order_id != above.client_order_id  # a new id for the amended leg
    assert ack.reports[1].client_order_id == below.client_order_id  # the sibling keeps its id
    (status,) = ack.list_statuses
    assert status.list_status_type is ListStatusType.UPDATED
    assert status.orders == ((above.order_id, ack.client_order_id),
                             (below.order_id, below.client_order_id))  # fmt: skip
    assert engine.depth()["asks"] == [(11_000, 60)]
    per_lot = engine.instrument.base_per_lot
    assert engine.ledger.balance("user", "TEST").locked == 60 * per_lot
    trade_at(engine, 9_000, 3)  # the stop leg triggers, now for 60
    assert engine.depth()["asks"] == [(8_900, 60)]
    assert engine.ledger.balance("user", "TEST").locked == 60 * per_lot


def test_amending_a_buy_oco_releases_both_parts_of_its_lock(engine: MatchingEngine) -> None:
    per = engine.instrument.quote_per_ticklot
    usdt = engine.ledger.balance("user", "USDT")
    oco = NewOco("user", BUY, 100, ListLeg(SL, stop_price=11_000), ListLeg(MAKER, price=9_000))
    stop, _ = ok(engine.submit_oco(oco, 1)).orders
    before = usdt.free + usdt.locked
    amended(engine.amend(AmendOrder("user", 50, stop.order_id, new_client_order_id="x"), 2))
    assert usdt.locked == 11_000 * 50 * per and usdt.free + usdt.locked == before
    assert engine.depth()["bids"] == [(9_000, 50)]
    engine.submit(NewOrder("t", SELL, LIMIT, 50, 9_000, IOC), 3)  # the maker leg fills
    assert usdt.locked == 0 and before - usdt.free == 9_000 * 50 * per


def test_keeping_the_client_id_sends_no_list_update(engine: MatchingEngine) -> None:
    above, _ = ok(engine.submit_oco(sell_oco(100), 1)).orders
    req = AmendOrder("user", 70, above.order_id, new_client_order_id=above.client_order_id)
    ack = amended(engine.amend(req, 2))
    assert ack.list_statuses == () and ack.client_order_id == above.client_order_id


def test_oto_working_and_pending_legs_are_amended_one_by_one(engine: MatchingEngine) -> None:
    req = NewOto(NewOrder("user", BUY, LIMIT, 100, 9_900, GTC),
                 NewOrder("user", SELL, LIMIT, 100, 10_500, GTC))  # fmt: skip
    working, pending = ok(engine.submit_oto(req, 1)).orders
    ack = amended(engine.amend(AmendOrder("user", 40, pending.order_id), 2))
    (report,) = ack.reports
    assert (report.status, report.orig_qty, report.is_working) == (
        OrderStatus.PENDING_NEW, 40, False)  # fmt: skip
    assert engine.depth()["asks"] == []  # a pending leg is not on the book
    ack = amended(engine.amend(AmendOrder("user", 80, working.order_id), 3))
    assert [r.order_id for r in ack.reports] == [working.order_id]
    assert engine.depth()["bids"] == [(9_900, 80)]
    engine.submit(NewOrder("t", SELL, LIMIT, 80, 9_900, IOC), 4)
    assert engine.depth()["asks"] == [(10_500, 40)]  # placed with its amended quantity


def test_amending_the_working_leg_to_what_it_executed_ends_the_list(
    engine: MatchingEngine,
) -> None:
    req = NewOto(NewOrder("user", BUY, LIMIT, 100, 9_900, GTC),
                 NewOrder("user", SELL, LIMIT, 100, 10_500, GTC))  # fmt: skip
    working, pending = ok(engine.submit_oto(req, 1)).orders
    engine.submit(NewOrder("t", SELL, LIMIT, 30, 9_900, IOC), 2)
    ack = amended(engine.amend(AmendOrder("user", 30, working.order_id), 3))
    ends = {r.order_id: (r.status, r.expiry_reason) for r in ack.reports}
    assert ends == {
        working.order_id: (OrderStatus.EXPIRED, ExpiryReason.NONE),
        pending.order_id: (OrderStatus.EXPIRED, ExpiryReason.OTO_PHASE_ONE_EXPIRED),
    }
    assert ack.list_statuses[-1].list_order_status is ListOrderStatus.ALL_DONE
    assert engine.ledger.balance("user", "USDT").locked == 0


def test_otoco_pending_pair_is_amended_together(engine: MatchingEngine) -> None:
    working = NewOrder("user", BUY, LIMIT, 100, 9_900, GTC)
    req = NewOtoco(working, SELL, 100, ListLeg(MAKER, price=11_000), ListLeg(SL, stop_price=9_000))
    _, above, below = ok(engine.submit_otoco(req, 1)).orders
    ack = amended(engine.amend(AmendOrder("user", 25, below.order_id), 2))
    assert {r.order_id: r.orig_qty for r in ack.reports} == {above.order_id: 25,
                                                             below.order_id: 25}  # fmt: skip
    engine.submit(NewOrder("t", SELL, LIMIT, 100, 9_900, IOC), 3)
    assert engine.depth()["asks"] == [(11_000, 25)]
    assert engine.ledger.balance("user", "TEST").locked == 25 * engine.instrument.base_per_lot


def test_a_waiting_market_buy_stop_releases_its_lock_in_proportion(
    engine: MatchingEngine,
) -> None:
    usdt = engine.ledger.balance("user", "USDT")
    stop = engine.submit(NewOrder("user", BUY, SL, 100, stop_price=11_000), 1)
    assert isinstance(stop, Ack)
    per = engine.instrument.quote_per_ticklot
    assert usdt.locked == 11_000 * 100 * per
    amended(engine.amend(AmendOrder("user", 30, stop.order_id), 2))
    assert usdt.locked == 11_000 * 30 * per


def test_amend_response_of_a_list_leg_carries_the_list() -> None:
    instrument = Instrument.compile(simple_spec(orderTypes=TYPES))
    venue = Venue({"TESTUSDT": instrument}, backend=current())
    venue.deposit("user", "USDT", "100000")
    params = {"symbol": "TESTUSDT", "workingType": "LIMIT", "workingSide": "BUY",
              "workingPrice": "99.00", "workingQuantity": "1", "workingTimeInForce": "GTC",
              "pendingType": "LIMIT", "pendingSide": "SELL", "pendingPrice": "105.00",
              "pendingQuantity": "1", "pendingTimeInForce": "GTC",
              "listClientOrderId": "in-out"}  # fmt: skip
    placed = venue.place_list("oto", "user", params, 1)
    working_id = placed["orders"][0]["orderId"]
    body = venue.amend_order("user", {"symbol": "TESTUSDT", "orderId": working_id,
                                      "newQty": "0.5", "newClientOrderId": "w2"}, 2)  # fmt: skip
    assert body["amendedOrder"]["orderListId"] == placed["orderListId"]
    assert body["amendedOrder"]["qty"] == "0.50000000"
    assert body["listStatus"] == {
        "orderListId": placed["orderListId"], "contingencyType": "OTO",
        "listOrderStatus": "EXECUTING", "listClientOrderId": "in-out", "symbol": "TESTUSDT",
        "orders": [{"symbol": "TESTUSDT", "orderId": working_id, "clientOrderId": "w2"},
                   placed["orders"][1]],
    }  # fmt: skip
