"""The multi-symbol venue: routing, shared balances, the venue's JSON shapes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot4.core import errors
from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import Bot4Error
from bot4.core.events import to_venue
from bot4.core.instruments import Instrument
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.results import Ack
from bot4.venue.exchange import Venue
from tests.conftest import simple_spec
from tests.support.backends import current


def gtc(side: str, price: str, quantity: str, **extra: str) -> dict[str, object]:
    """POST /api/v3/order parameters of a BTCUSDT LIMIT GTC order."""
    return {"symbol": "BTCUSDT", "side": side, "type": "LIMIT", "timeInForce": "GTC",
            "price": price, "quantity": quantity, **extra}  # fmt: skip


@pytest.fixture()
def venue(instruments: dict[str, Instrument]) -> Venue:
    venue = Venue(instruments, reference_prices={"BTCUSDT": 3_000_000}, backend=current())
    venue.deposit("maker", "BTC", "10")
    venue.deposit("maker", "USDT", Decimal("100000"))
    venue.deposit("taker", "USDT", 50_000)
    return venue


def test_full_response_of_a_taking_limit_order(venue: Venue) -> None:
    venue.place(
        "maker",
        gtc("SELL", "30000.00", "0.5", newClientOrderId="ask-1"),
        1,
    )
    body = venue.place(
        "taker",
        gtc("BUY", "30100.00", "0.2"),
        2,
    )
    assert body["status"] == "FILLED" and body["orderId"] == 2 and body["orderListId"] == -1
    assert body["executedQty"] == "0.20000000" and body["cummulativeQuoteQty"] == "6000.00000000"
    assert body["fills"] == [
        {
            "price": "30000.00000000",
            "qty": "0.20000000",
            "commission": "0.00020000",
            "commissionAsset": "BTC",
            "tradeId": 1,
        }
    ]
    assert venue.balances("taker") == {
        "BTC": ("0.19980000", "0.00000000"),
        "USDT": ("44000.00000000", "0.00000000"),
    }
    assert venue.balances("maker")["BTC"] == ("9.50000000", "0.30000000")
    cancelled = venue.cancel_order("maker", {"symbol": "BTCUSDT", "origClientOrderId": "ask-1"}, 3)
    assert cancelled["status"] == "CANCELED" and cancelled["origClientOrderId"] == "ask-1"
    assert venue.balances("maker")["BTC"] == ("9.80000000", "0.00000000")


def test_errors_come_back_as_the_venues_json(venue: Venue) -> None:
    assert venue.place("taker", {"symbol": "DOGEUSDT", "side": "BUY"}, 1) == {
        "code": -1121,
        "msg": "Invalid symbol.",
    }
    assert venue.place("taker", {"side": "BUY"}, 1)["code"] == -1121
    assert (
        venue.place("taker", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT"}, 1)["code"]
        == -1102
    )
    poor = venue.place(
        "taker",
        gtc("SELL", "30000", "1"),
        1,
    )
    assert poor == {"code": -2010, "msg": "Account has insufficient balance for requested action."}
    assert venue.cancel_order("taker", {"symbol": "ETHUSDT", "orderId": 1}, 1)["code"] == -2011
    assert venue.cancel_order("taker", {"symbol": "NOPE", "orderId": 1}, 1)["code"] == -1121
    assert venue.cancel_order("taker", {"symbol": "BTCUSDT"}, 1)["code"] == -1102


def test_engine_unit_routing(venue: Venue) -> None:
    order = NewOrder("maker", Side.SELL, OrderType.LIMIT, 100, 3_000_000, TimeInForce.GTC)
    assert venue.submit("XRPUSDT", order, 1) is errors.BAD_SYMBOL
    ack = venue.submit("BTCUSDT", order, 1)
    assert isinstance(ack, Ack)
    assert venue.cancel("ETHUSDT", CancelOrder("maker", ack.order_id), 2) is errors.UNKNOWN_ORDER
    assert venue.cancel("XRPUSDT", CancelOrder("maker", ack.order_id), 2) is errors.BAD_SYMBOL
    assert isinstance(venue.cancel("BTCUSDT", CancelOrder("maker", ack.order_id), 2), Ack)


def test_balances_are_shared_across_symbols(venue: Venue) -> None:
    # USDT locked on BTCUSDT is not available on ETHUSDT
    venue.deposit("solo", "USDT", "100")
    buy = {"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01"}
    assert "orderId" in venue.place("solo", {"symbol": "BTCUSDT", "price": "9000", **buy}, 1)
    assert venue.place("solo", {"symbol": "ETHUSDT", "price": "2000", **buy}, 1)["code"] == -2010
    assert venue.balances("solo") == {"USDT": ("10.00000000", "90.00000000")}


def test_deposits_are_exact(venue: Venue) -> None:
    with pytest.raises(Bot4Error) as info:
        venue.deposit("x", "BTC", "0.000000001")
    assert info.value.code == -1111
    with pytest.raises(Bot4Error):
        venue.deposit("x", "BTC", 1.5)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        venue.deposit("x", "XRP", "1")


def test_assets_must_agree_on_precision(instruments: dict[str, Instrument]) -> None:
    odd = Instrument.compile(simple_spec(symbol="ODDUSDT", quoteAssetPrecision=6))
    with pytest.raises(ValueError, match="precision"):
        Venue({"BTCUSDT": instruments["BTCUSDT"], "ODDUSDT": odd}, backend=current())


def test_state_digest_tracks_every_symbol(venue: Venue) -> None:
    before = venue.state_digest()
    venue.place(
        "maker",
        gtc("SELL", "31000", "0.1"),
        1,
    )
    assert venue.state_digest() != before


def test_execution_report_in_the_venues_field_names(venue: Venue) -> None:
    log: list[object] = []
    engine = venue.engines["BTCUSDT"]
    engine.on_events = log.extend
    venue.place(
        "maker",
        gtc("SELL", "30000.00", "0.1"),
        1,
    )
    venue.place(
        "taker", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quoteOrderQty": "1500"}, 2
    )
    trade = to_venue(log[2], engine.instrument)  # type: ignore[arg-type]
    assert trade["e"] == "executionReport" and trade["x"] == "TRADE" and trade["X"] == "FILLED"
    assert trade["l"] == "0.05000000" and trade["L"] == "30000.00000000"
    assert trade["Z"] == "1500.00000000" and trade["Y"] == "1500.00000000"
    assert trade["Q"] == "1500.00000000" and trade["N"] == "BTC" and trade["n"] == "0.00005000"
    assert trade["m"] is False and trade["t"] == 1 and trade["seq"] == 3
    new = to_venue(log[0], engine.instrument)  # type: ignore[arg-type]
    assert new["N"] is None and new["t"] == -1 and new["f"] == "GTC"
