"""Amend keep-priority, cancel-replace, cancel restrictions and cancel-all."""

from __future__ import annotations

import pytest

from bot4.core import errors
from bot4.core.enums import (
    CancelReplaceMode,
    CancelRestriction,
    ExecutionType,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from bot4.core.errors import VenueError
from bot4.core.instruments import Instrument
from bot4.core.orders import AmendOrder, CancelOrder, CancelReplace, NewOrder
from bot4.core.results import Ack
from bot4.venue.engine import MatchingEngine
from bot4.venue.exchange import Venue
from tests.conftest import funded_engine, simple_spec
from tests.support.backends import current

BUY, SELL, GTC = Side.BUY, Side.SELL, TimeInForce.GTC


def bid(account: str, qty: int, price: int = 8_700_000, cid: str | None = None) -> NewOrder:
    return NewOrder(account, BUY, OrderType.LIMIT, qty, price, GTC, client_order_id=cid)


def ok(result: Ack | VenueError) -> Ack:
    assert isinstance(result, Ack), result
    return result


@pytest.fixture()
def faq_book() -> MatchingEngine:
    """The FAQ's book: BUY 87,000 with A 1.00, YOU 5.50, B 4.00; C 2.00 at 86,999."""
    spec = simple_spec(
        filters=[
            {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000",
             "tickSize": "0.01"},
            {"filterType": "LOT_SIZE", "minQty": "0.01", "maxQty": "1000", "stepSize": "0.01"},
            {"filterType": "MAX_NUM_ORDER_AMENDS", "maxNumOrderAmends": 2},
        ]
    )  # fmt: skip
    engine = funded_engine(Instrument.compile(spec), ("A", "YOU", "B", "C"))
    ok(engine.submit(bid("A", 100), 1))
    ok(engine.submit(bid("YOU", 550, cid="mine"), 2))
    ok(engine.submit(bid("B", 400), 3))
    ok(engine.submit(bid("C", 200, price=8_699_900), 4))
    return engine


def queue(engine: MatchingEngine) -> list[tuple[str, int]]:
    return [(o.account, o.leaves) for o in engine.book_orders(Side.BUY)]


def test_faq_amend_keeps_the_place_in_the_queue(faq_book: MatchingEngine) -> None:
    ack = ok(faq_book.amend(AmendOrder("YOU", 500, orig_client_order_id="mine"), 5))
    (report,) = ack.reports
    assert report.execution_type is ExecutionType.REPLACED and report.order_id == 2
    assert report.orig_qty == 500 and report.status is OrderStatus.NEW and report.is_working
    assert report.orig_client_order_id == "mine" and report.client_order_id == "bot4-2-a1"
    assert queue(faq_book) == [("A", 100), ("YOU", 500), ("B", 400), ("C", 200)]
    assert faq_book.depth(1)["bids"] == [(8_700_000, 1_000)]
    # the 0.50 no longer wanted is unlocked: 87,000 x 5.00 stays locked
    per = faq_book.instrument.quote_per_ticklot
    assert faq_book.ledger.balance("YOU", "USDT").locked == 8_700_000 * 500 * per


def test_faq_cancel_replace_goes_to_the_back(faq_book: MatchingEngine) -> None:
    result = faq_book.cancel_replace(
        CancelReplace(CancelOrder("YOU", order_id=2), bid("YOU", 500, cid="mine-2")), 5
    )
    assert not isinstance(result, VenueError) and result.error is None
    assert isinstance(result.cancel, Ack) and result.cancel.status is OrderStatus.CANCELED
    assert isinstance(result.new, Ack) and result.new.order_id == 5
    assert queue(faq_book) == [("A", 100), ("B", 400), ("YOU", 500), ("C", 200)]


def test_amend_refusals(faq_book: MatchingEngine) -> None:
    assert faq_book.amend(AmendOrder("YOU", 550, 2), 5) is errors.AMEND_NO_CHANGE
    assert faq_book.amend(AmendOrder("YOU", 600, 2), 5) is errors.AMEND_QTY_INCREASE
    assert faq_book.amend(AmendOrder("YOU", 0, 2), 5) == errors.filter_failure("LOT_SIZE")
    assert faq_book.amend(AmendOrder("YOU", 100, 1), 5) is errors.AMEND_UNKNOWN_ORDER  # A's
    assert faq_book.amend(AmendOrder("YOU", 100, 99), 5) is errors.AMEND_UNKNOWN_ORDER
    assert isinstance(faq_book.amend(AmendOrder("YOU", 100), 5), VenueError)
    assert faq_book.amend(AmendOrder("nobody", 100, 2), 5) is errors.UNKNOWN_ACCOUNT
    assert faq_book.amend(AmendOrder("YOU", 1.5, 2), 5) == errors.invalid_parameter("newQty")  # type: ignore[arg-type]
    bad_id = faq_book.amend(AmendOrder("YOU", 100, 2, new_client_order_id="a b"), 5)
    assert isinstance(bad_id, VenueError) and bad_id.code == -1100
    ok(faq_book.submit(bid("YOU", 100, price=8_600_000, cid="taken"), 5))
    taken = faq_book.amend(AmendOrder("YOU", 100, 2, new_client_order_id="taken"), 5)
    assert taken is errors.AMEND_DUPLICATE and taken.code == -2038
    assert queue(faq_book)[1] == ("YOU", 550)


def test_amend_limit_and_keeping_the_client_id(faq_book: MatchingEngine) -> None:
    ok(faq_book.amend(AmendOrder("YOU", 540, 2, new_client_order_id="mine"), 5))
    ok(faq_book.amend(AmendOrder("YOU", 530, None, "mine", new_client_order_id="mine"), 6))
    assert faq_book.amend(AmendOrder("YOU", 520, 2), 7) is errors.AMEND_TOO_MANY
    view = faq_book.get_order("YOU", order_id=2)
    assert not isinstance(view, VenueError) and view.client_order_id == "mine"


def test_amend_below_what_executed_ends_the_order(faq_book: MatchingEngine) -> None:
    ok(faq_book.submit(NewOrder("C", SELL, OrderType.LIMIT, 400, 8_700_000, GTC), 5))
    # A's 1.00 filled, YOU's 5.50 has 3.00 executed and 2.50 working
    ack = ok(faq_book.amend(AmendOrder("YOU", 300, 2), 6))
    assert ack.status is OrderStatus.EXPIRED and ack.executed_qty == 300
    assert not ack.reports[0].is_working
    assert queue(faq_book) == [("B", 400), ("C", 200)]
    assert faq_book.ledger.balance("YOU", "USDT").locked == 0


def test_amend_a_partly_filled_order(faq_book: MatchingEngine) -> None:
    ok(faq_book.submit(NewOrder("C", SELL, OrderType.LIMIT, 400, 8_700_000, GTC), 5))
    ack = ok(faq_book.amend(AmendOrder("YOU", 400, 2), 6))
    assert ack.status is OrderStatus.PARTIALLY_FILLED
    assert queue(faq_book)[0] == ("YOU", 100)


def test_amend_and_cancel_replace_can_be_switched_off() -> None:
    inst = Instrument.compile(simple_spec(amendAllowed=False, cancelReplaceAllowed=False))
    engine = funded_engine(inst)
    ok(engine.submit(bid("alice", 10, price=100), 1))
    assert engine.amend(AmendOrder("alice", 5, 1), 2) is errors.AMEND_NOT_SUPPORTED
    replace = CancelReplace(CancelOrder("alice", 1), bid("alice", 5, price=100))
    assert engine.cancel_replace(replace, 2) is errors.CANCEL_REPLACE_NOT_SUPPORTED


@pytest.fixture()
def engine() -> MatchingEngine:
    engine = funded_engine(Instrument.compile(simple_spec()))
    ok(engine.submit(bid("alice", 1_000, price=10_000), 1))  # order 1
    ok(engine.submit(NewOrder("bob", SELL, OrderType.LIMIT, 1_000, 11_000, GTC), 2))
    return engine


def test_cancel_replace_stop_on_failure_does_not_place(engine: MatchingEngine) -> None:
    result = engine.cancel_replace(
        CancelReplace(CancelOrder("alice", 42), bid("alice", 500, price=10_001)), 3
    )
    assert not isinstance(result, VenueError)
    assert result.cancel is errors.UNKNOWN_ORDER and result.new is None
    assert result.error is errors.CANCEL_REPLACE_FAILED and result.error.code == -2022
    assert engine.last_order_id == 2


def test_cancel_replace_allow_failure_places_anyway(engine: MatchingEngine) -> None:
    request = CancelReplace(
        CancelOrder("alice", 42), bid("alice", 500, price=10_001), CancelReplaceMode.ALLOW_FAILURE
    )
    result = engine.cancel_replace(request, 3)
    assert not isinstance(result, VenueError) and isinstance(result.new, Ack)
    assert result.error is errors.CANCEL_REPLACE_PARTIALLY_FAILED and result.error.code == -2021


def test_cancel_replace_new_order_fails_after_the_cancel(engine: MatchingEngine) -> None:
    maker = NewOrder("alice", BUY, OrderType.LIMIT_MAKER, 500, 11_000)  # would take: refused
    result = engine.cancel_replace(CancelReplace(CancelOrder("alice", 1), maker), 3)
    assert not isinstance(result, VenueError)
    assert isinstance(result.cancel, Ack) and result.new is errors.WOULD_MATCH
    assert result.error is errors.CANCEL_REPLACE_PARTIALLY_FAILED
    both = engine.cancel_replace(
        CancelReplace(CancelOrder("alice", 1), maker, CancelReplaceMode.ALLOW_FAILURE), 4
    )
    assert not isinstance(both, VenueError) and both.error is errors.CANCEL_REPLACE_FAILED


def test_cancel_replace_checks_filters_before_cancelling(engine: MatchingEngine) -> None:
    tiny = bid("alice", 0, price=10_001)
    assert engine.cancel_replace(CancelReplace(CancelOrder("alice", 1), tiny), 3) == (
        errors.filter_failure("LOT_SIZE")
    )
    assert engine.is_open(1)
    bad = CancelReplace(CancelOrder("alice", 1), bid("alice", 5), "SOMETIMES")  # type: ignore[arg-type]
    assert engine.cancel_replace(bad, 3) == errors.invalid_parameter("cancelReplaceMode")
    other = CancelReplace(CancelOrder("alice", 1), bid("bob", 5, price=10_001))
    assert engine.cancel_replace(other, 3) == errors.invalid_parameter("account")


def test_cancel_replace_reuses_the_funds_it_frees() -> None:
    inst = Instrument.compile(simple_spec())
    engine = MatchingEngine(inst)
    engine.ledger.deposit("alice", "USDT", 10_000 * 500 * inst.quote_per_ticklot)  # 50 USDT
    everything = 500
    ok(engine.submit(bid("alice", everything, price=10_000), 1))
    replace = CancelReplace(CancelOrder("alice", 1), bid("alice", everything, price=9_999))
    result = engine.cancel_replace(replace, 2)
    assert not isinstance(result, VenueError) and result.error is None


def test_cancel_restrictions(engine: MatchingEngine) -> None:
    only_partial = CancelOrder("alice", 1, restriction=CancelRestriction.ONLY_PARTIALLY_FILLED)
    refused = engine.cancel(only_partial, 3)
    assert refused is errors.CANCEL_RESTRICTED and refused.code == -2011
    bad = CancelOrder("alice", 1, restriction="ALWAYS")  # type: ignore[arg-type]
    assert engine.cancel(bad, 3) is errors.INVALID_CANCEL_RESTRICTIONS
    ok(engine.submit(NewOrder("bob", SELL, OrderType.LIMIT, 100, 10_000, TimeInForce.IOC), 4))
    only_new = CancelOrder("alice", 1, restriction=CancelRestriction.ONLY_NEW)
    assert engine.cancel(only_new, 5) is errors.CANCEL_RESTRICTED
    assert isinstance(engine.cancel(only_partial, 5), Ack)


def test_cancel_all_open_orders_of_an_account(engine: MatchingEngine) -> None:
    ok(engine.submit(bid("alice", 10, price=9_000), 3))
    acks = engine.cancel_all("alice", 4)
    assert isinstance(acks, list) and [a.order_id for a in acks] == [1, 3]
    assert all(a.status is OrderStatus.CANCELED for a in acks)
    assert engine.cancel_all("alice", 5) is errors.UNKNOWN_ORDER
    assert engine.cancel_all("nobody", 5) is errors.UNKNOWN_ACCOUNT
    assert [o.account for o in engine.open_orders()] == ["bob"]


# --------------------------------------------------------------------------- the venue's edge


@pytest.fixture()
def venue() -> Venue:
    venue = Venue(
        {"BTCUSDT": Instrument.compile(simple_spec(symbol="BTCUSDT", baseAsset="BTC"))},
        backend=current(),
    )
    venue.deposit("alice", "USDT", "100000")
    venue.deposit("bob", "BTC", "100")
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
              "price": "100", "quantity": "2", "newClientOrderId": "bid"}  # fmt: skip
    venue.place("alice", params, 1)
    return venue


def test_amend_over_the_edge(venue: Venue) -> None:
    body = venue.amend_order(
        "alice", {"symbol": "BTCUSDT", "origClientOrderId": "bid", "newQty": "1.5",
                  "newClientOrderId": "bid"}, 2)  # fmt: skip
    amended = body["amendedOrder"]
    assert (amended["qty"], amended["status"], amended["clientOrderId"]) == (
        "1.50000000",
        "NEW",
        "bid",
    )
    assert amended["origClientOrderId"] == "bid" and body["executionId"] == 2
    assert venue.amend_order("alice", {"symbol": "BTCUSDT", "orderId": 1, "newQty": "3"}, 3) == {
        "code": -2038, "msg": "Order amend (quantity increase) is not supported."}  # fmt: skip
    assert venue.amend_order("alice", {"symbol": "BTCUSDT", "orderId": 1}, 3)["code"] == -1102
    assert (
        venue.amend_order("alice", {"symbol": "X", "orderId": 1, "newQty": "1"}, 3)["code"] == -1121
    )
    assert venue.amend_order("alice", {"symbol": "BTCUSDT", "newQty": "1"}, 3)["code"] == -1102
    assert venue.amend_order("alice", {"symbol": "BTCUSDT", "orderId": 1, "newQty": "1.0001"}, 3)[
        "code"] == -1013  # fmt: skip
    assert (
        venue.amend_order("alice", {"symbol": "BTCUSDT", "orderId": 1, "x": "1"}, 3)["code"]
        == -1103
    )


def test_cancel_replace_over_the_edge(venue: Venue) -> None:
    params = {"symbol": "BTCUSDT", "cancelReplaceMode": "STOP_ON_FAILURE", "cancelOrderId": 1,
              "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "101",
              "quantity": "1"}  # fmt: skip
    body = venue.cancel_replace("alice", params, 2)
    assert body["cancelResult"] == "SUCCESS" and body["newOrderResult"] == "SUCCESS"
    assert body["cancelResponse"]["status"] == "CANCELED"
    assert body["newOrderResponse"]["orderId"] == 2
    failed = venue.cancel_replace("alice", params, 3)  # order 1 is gone now
    assert failed == {
        "code": -2022, "msg": "Order cancel-replace failed.",
        "data": {"cancelResult": "FAILURE", "newOrderResult": "NOT_ATTEMPTED",
                 "cancelResponse": {"code": -2011, "msg": "Unknown order sent."},
                 "newOrderResponse": None},
    }  # fmt: skip
    partial = venue.cancel_replace("alice", {**params, "cancelReplaceMode": "ALLOW_FAILURE"}, 4)
    assert partial["code"] == -2021 and partial["data"]["newOrderResult"] == "SUCCESS"
    for broken, code in [
        ({"cancelReplaceMode": None}, -1102),
        ({"cancelReplaceMode": "MAYBE"}, -1130),
        ({"cancelOrderId": None}, -1102),
        ({"cancelRestrictions": "NEVER"}, -1145),
        ({"side": "UP"}, -1117),
        ({"symbol": "NOPE"}, -1121),
        ({"quantity": "0"}, -1013),
    ]:
        assert venue.cancel_replace("alice", {**params, **broken}, 5)["code"] == code, broken


def test_cancel_restrictions_and_cancel_all_over_the_edge(venue: Venue) -> None:
    restricted = venue.cancel_order(
        "alice",
        {"symbol": "BTCUSDT", "orderId": 1, "cancelRestrictions": "ONLY_PARTIALLY_FILLED"},
        2,
    )
    assert restricted == {
        "code": -2011,
        "msg": "Order was not canceled due to cancel restrictions.",
    }
    bad = venue.cancel_order(
        "alice", {"symbol": "BTCUSDT", "orderId": 1, "cancelRestrictions": "X"}, 2
    )
    assert bad["code"] == -1145
    cancelled = venue.cancel_open_orders("alice", {"symbol": "BTCUSDT"}, 3)
    assert isinstance(cancelled, list) and [c["status"] for c in cancelled] == ["CANCELED"]
    assert venue.cancel_open_orders("alice", {"symbol": "BTCUSDT"}, 4) == {
        "code": -2011, "msg": "Unknown order sent."}  # fmt: skip
    assert venue.cancel_open_orders("alice", {"symbol": "NOPE"}, 4)["code"] == -1121
