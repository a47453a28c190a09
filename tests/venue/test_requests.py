"""The string edge: Binance REST parameters to engine requests, or the venue's error."""

from __future__ import annotations

import pytest

from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import VenueError
from bot4.core.instruments import Instrument
from bot4.core.orders import CancelOrder, NewOrder
from bot4.venue.requests import parse_cancel, parse_new_order

LIMIT = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "price": "30000.01",
    "quantity": "0.00150",
}


def test_a_limit_order_parses_to_ticks_and_lots(btc: Instrument) -> None:
    order = parse_new_order(btc, "alice", {**LIMIT, "newClientOrderId": "my-1"})
    assert order == NewOrder(
        "alice", Side.BUY, OrderType.LIMIT, 150, 3_000_001, TimeInForce.GTC, 0, "my-1"
    )


def test_market_orders_parse_by_quantity_or_quote(btc: Instrument) -> None:
    by_qty = parse_new_order(
        btc, "a", {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "1"}
    )
    assert isinstance(by_qty, NewOrder) and by_qty.quantity == 100_000 and by_qty.price == 0
    by_quote = parse_new_order(
        btc, "a", {"side": "BUY", "type": "MARKET", "quoteOrderQty": "100.5"}
    )
    assert isinstance(by_quote, NewOrder) and by_quote.quote_order_qty == 10_050_000_000
    maker = parse_new_order(
        btc, "a", {"side": "BUY", "type": "LIMIT_MAKER", "price": "1", "quantity": "1"}
    )
    assert isinstance(maker, NewOrder) and maker.time_in_force is None


def test_enums_may_be_passed_as_enums(btc: Instrument) -> None:
    order = parse_new_order(
        btc,
        "a",
        {**LIMIT, "side": Side.SELL, "type": OrderType.LIMIT, "timeInForce": TimeInForce.IOC},
    )
    assert isinstance(order, NewOrder) and order.side is Side.SELL


@pytest.mark.parametrize(
    ("change", "code", "needle"),
    [
        ({"price": "30000.015"}, -1013, "PRICE_FILTER"),  # off the tick grid: never rounded
        ({"quantity": "0.000015"}, -1013, "LOT_SIZE"),
        ({"quantity": "0.000000001"}, -1111, "quantity"),  # beyond 8 decimals
        ({"price": "1.000000001"}, -1111, "price"),
        ({"price": "-1"}, -1100, "price"),
        ({"quantity": "1e3"}, -1100, "quantity"),
        ({"quantity": 0.5}, -1100, "quantity"),
        ({"side": "LONG"}, -1117, "side"),
        ({"side": 1}, -1117, "side"),
        ({"type": "STOP"}, -1116, "orderType"),
        ({"timeInForce": "GTD"}, -1115, "timeInForce"),
        ({"timeInForce": None}, -1102, "timeInForce"),
        ({"price": ""}, -1102, "price"),
        ({"quantity": None}, -1102, "quantity"),
        ({"side": None}, -1102, "side"),
        ({"quoteOrderQty": "5"}, -1106, "quoteOrderQty"),
        ({"leverage": "10"}, -1103, "leverage"),
        ({"newOrderRespType": "ALL"}, -1130, "newOrderRespType"),
        ({"newClientOrderId": 5}, -1130, "newClientOrderId"),
    ],
)
def test_bad_limit_parameters(
    btc: Instrument, change: dict[str, object], code: int, needle: str
) -> None:
    error = parse_new_order(btc, "a", {**LIMIT, **change})
    assert isinstance(error, VenueError) and error.code == code and needle in error.msg


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"side": "BUY", "type": "MARKET", "quantity": "1", "price": "1"}, -1106),
        ({"side": "BUY", "type": "MARKET", "quantity": "1", "timeInForce": "GTC"}, -1114),
        ({"side": "BUY", "type": "MARKET", "quantity": "1", "quoteOrderQty": "1"}, -1014),
        ({"side": "BUY", "type": "MARKET"}, -1102),
        ({"side": "BUY", "type": "MARKET", "quoteOrderQty": "0"}, -1130),
        ({"side": "BUY", "type": "MARKET", "quoteOrderQty": "0.000000001"}, -1111),
        (
            {
                "side": "BUY",
                "type": "LIMIT_MAKER",
                "price": "1",
                "quantity": "1",
                "timeInForce": "GTC",
            },
            -1114,
        ),
    ],
)
def test_bad_market_parameters(btc: Instrument, params: dict[str, object], code: int) -> None:
    error = parse_new_order(btc, "a", params)
    assert isinstance(error, VenueError) and error.code == code


def test_cancel_parameters() -> None:
    assert parse_cancel("a", {"symbol": "X", "orderId": "12"}) == CancelOrder("a", 12, None, None)
    assert parse_cancel(
        "a", {"orderId": 12, "origClientOrderId": "c", "newClientOrderId": "n"}
    ) == CancelOrder("a", 12, "c", "n")
    for params, code in [
        ({}, -1102),
        ({"orderId": "12a"}, -1100),
        ({"orderId": "-1"}, -1100),
        ({"orderId": 1.5}, -1130),
        ({"orderId": True}, -1130),
        ({"origClientOrderId": 5}, -1130),
        ({"orderId": "1", "foo": "x"}, -1103),
    ]:
        error = parse_cancel("a", params)
        assert isinstance(error, VenueError) and error.code == code, params
