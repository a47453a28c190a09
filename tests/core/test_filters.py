"""Each symbol filter of filters.md, at and around its edges: '-1013 Filter failure: NAME'."""

from __future__ import annotations

import pytest

from bot4.core import errors
from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import VenueError
from bot4.core.instruments import Instrument
from bot4.core.orders import NewOrder
from bot4.core.results import Ack
from bot4.venue.avgprice import AveragePrice
from bot4.venue.engine import MatchingEngine
from tests.conftest import funded_engine, simple_spec

BUY, SELL = Side.BUY, Side.SELL
GTC = TimeInForce.GTC
PRICE = {
    "filterType": "PRICE_FILTER",
    "minPrice": "1.00",
    "maxPrice": "1000.00",
    "tickSize": "0.01",
}
LOT = {"filterType": "LOT_SIZE", "minQty": "0.010", "maxQty": "100", "stepSize": "0.001"}


def engine_with(*extra: dict[str, object], reference: int | None = None) -> MatchingEngine:
    spec = simple_spec(filters=[PRICE, LOT, *extra])
    return funded_engine(Instrument.compile(spec), reference_price=reference)


def buy(price: int, qty: int) -> NewOrder:
    return NewOrder("alice", BUY, OrderType.LIMIT, qty, price, GTC)


def sell(price: int, qty: int) -> NewOrder:
    return NewOrder("alice", SELL, OrderType.LIMIT, qty, price, GTC)


def market(side: Side, qty: int = 0, quote: int = 0) -> NewOrder:
    return NewOrder("bob", side, OrderType.MARKET, qty, 0, None, quote)


def refused(result: Ack | VenueError, name: str) -> bool:
    return isinstance(result, VenueError) and (result.code, result.msg) == (
        -1013,
        f"Filter failure: {name}",
    )


def test_price_filter_bounds_inclusive() -> None:
    engine = engine_with()
    assert isinstance(engine.submit(buy(100, 10), 1), Ack)  # minPrice 1.00 exactly
    assert isinstance(engine.submit(sell(100_000, 10), 1), Ack)  # maxPrice 1000.00 exactly
    assert refused(engine.submit(buy(99, 10), 1), "PRICE_FILTER")
    assert refused(engine.submit(sell(100_001, 10), 1), "PRICE_FILTER")


def test_lot_size_bounds_inclusive() -> None:
    engine = engine_with()
    assert isinstance(engine.submit(buy(100, 10), 1), Ack)
    assert isinstance(engine.submit(buy(100, 100_000), 1), Ack)
    assert refused(engine.submit(buy(100, 9), 1), "LOT_SIZE")
    assert refused(engine.submit(buy(100, 100_001), 1), "LOT_SIZE")


def test_market_lot_size_applies_to_market_orders_only() -> None:
    mls = {"filterType": "MARKET_LOT_SIZE", "minQty": "0.020", "maxQty": "5", "stepSize": "0.010"}
    engine = engine_with(mls)
    engine.submit(sell(200, 10_000), 1)
    assert isinstance(engine.submit(buy(100, 15), 1), Ack)  # limit orders ignore it
    assert refused(engine.submit(market(BUY, 15), 1), "MARKET_LOT_SIZE")  # off its 0.010 step
    assert refused(engine.submit(market(BUY, 10), 1), "MARKET_LOT_SIZE")  # below 0.020
    assert refused(engine.submit(market(BUY, 5_010), 1), "MARKET_LOT_SIZE")  # above 5
    assert refused(engine.submit(market(BUY, 9), 1), "LOT_SIZE")  # LOT_SIZE comes first
    assert isinstance(engine.submit(market(BUY, 5_000), 1), Ack)


def test_notional_min_and_max_for_limit_orders() -> None:
    notional = {
        "filterType": "NOTIONAL",
        "minNotional": "5",
        "applyMinToMarket": False,
        "maxNotional": "50",
        "applyMaxToMarket": False,
        "avgPriceMins": 5,
    }
    engine = engine_with(notional)
    assert isinstance(engine.submit(buy(1_000, 500), 1), Ack)  # 10.00 x 0.5 = 5 exactly
    assert refused(engine.submit(buy(1_000, 499), 1), "NOTIONAL")
    assert isinstance(engine.submit(sell(10_000, 500), 1), Ack)  # 50 exactly
    assert refused(engine.submit(sell(10_000, 501), 1), "NOTIONAL")
    # not applied to market orders
    assert isinstance(engine.submit(market(BUY, 10), 1), Ack)


def test_notional_for_market_orders_uses_the_average_price() -> None:
    notional = {
        "filterType": "NOTIONAL",
        "minNotional": "5",
        "applyMinToMarket": True,
        "maxNotional": "50",
        "applyMaxToMarket": True,
        "avgPriceMins": 5,
    }
    engine = engine_with(notional, reference=1_000)  # 10.00
    for _ in range(4):
        assert isinstance(engine.submit(sell(1_000, 5_000), 1), Ack)  # 50 each, the maximum
    assert refused(engine.submit(market(BUY, 499), 1), "NOTIONAL")
    assert isinstance(engine.submit(market(BUY, 500), 1), Ack)
    assert refused(engine.submit(market(BUY, 5_001), 1), "NOTIONAL")
    # by quoteOrderQty the notional is the amount itself (quote units, 8 decimals)
    assert refused(engine.submit(market(BUY, quote=499_999_999), 1), "NOTIONAL")
    assert isinstance(engine.submit(market(BUY, quote=500_000_000), 1), Ack)
    assert refused(engine.submit(market(BUY, quote=5_000_000_001), 1), "NOTIONAL")


def test_market_notional_without_reference_price_is_refused() -> None:
    notional = {
        "filterType": "NOTIONAL",
        "minNotional": "5",
        "applyMinToMarket": True,
        "maxNotional": "50",
        "applyMaxToMarket": False,
        "avgPriceMins": 5,
    }
    engine = engine_with(notional)
    assert isinstance(engine.submit(sell(1_000, 5_000), 1), Ack)
    result = engine.submit(market(BUY, 500), 1)
    assert result is errors.NO_REFERENCE_PRICE and result.code == -2043


def test_min_notional_legacy_filter() -> None:
    legacy = {
        "filterType": "MIN_NOTIONAL",
        "minNotional": "10",
        "applyToMarket": True,
        "avgPriceMins": 1,
    }
    engine = engine_with(legacy, reference=2_000)
    assert refused(engine.submit(buy(1_000, 999), 1), "MIN_NOTIONAL")
    assert isinstance(engine.submit(buy(1_000, 1_000), 1), Ack)
    engine.submit(sell(2_000, 10_000), 1)
    assert refused(engine.submit(market(BUY, 499), 1), "MIN_NOTIONAL")
    assert isinstance(engine.submit(market(BUY, 500), 1), Ack)
    assert refused(engine.submit(market(BUY, quote=999_999_999), 1), "MIN_NOTIONAL")
    off = {
        "filterType": "MIN_NOTIONAL",
        "minNotional": "10",
        "applyToMarket": False,
        "avgPriceMins": 1,
    }
    engine = engine_with(off)
    engine.submit(sell(2_000, 10_000), 1)
    assert isinstance(engine.submit(market(BUY, 10), 1), Ack)


def test_percent_price_against_the_average_price() -> None:
    band = {
        "filterType": "PERCENT_PRICE",
        "multiplierUp": "1.1",
        "multiplierDown": "0.9",
        "avgPriceMins": 5,
    }
    engine = engine_with(band, reference=10_000)  # 100.00
    assert isinstance(engine.submit(buy(11_000, 10), 1), Ack)  # exactly 1.1 x
    assert refused(engine.submit(buy(11_001, 10), 1), "PERCENT_PRICE")
    assert isinstance(engine.submit(sell(9_000, 10), 1), Ack)  # exactly 0.9 x
    assert refused(engine.submit(sell(8_999, 10), 1), "PERCENT_PRICE")


def test_percent_price_is_skipped_before_any_reference_exists() -> None:
    band = {
        "filterType": "PERCENT_PRICE",
        "multiplierUp": "1.1",
        "multiplierDown": "0.9",
        "avgPriceMins": 5,
    }
    engine = engine_with(band)
    assert isinstance(engine.submit(buy(50_000, 10), 1), Ack)


def test_percent_price_by_side_has_separate_bid_and_ask_bands() -> None:
    band = {
        "filterType": "PERCENT_PRICE_BY_SIDE",
        "bidMultiplierUp": "1.2",
        "bidMultiplierDown": "0.2",
        "askMultiplierUp": "5",
        "askMultiplierDown": "0.8",
        "avgPriceMins": 5,
    }
    engine = engine_with(band, reference=10_000)
    assert isinstance(engine.submit(buy(12_000, 10), 1), Ack)
    assert refused(engine.submit(buy(12_001, 10), 1), "PERCENT_PRICE_BY_SIDE")
    assert isinstance(engine.submit(buy(2_000, 10), 1), Ack)
    assert refused(engine.submit(buy(1_999, 10), 1), "PERCENT_PRICE_BY_SIDE")
    assert isinstance(engine.submit(sell(50_000, 10), 1), Ack)
    assert refused(engine.submit(sell(50_001, 10), 1), "PERCENT_PRICE_BY_SIDE")
    assert refused(engine.submit(sell(7_999, 10), 1), "PERCENT_PRICE_BY_SIDE")


def test_average_price_is_a_volume_weighted_window_of_trades() -> None:
    band = {
        "filterType": "PERCENT_PRICE",
        "multiplierUp": "1.1",
        "multiplierDown": "0.9",
        "avgPriceMins": 1,
    }
    engine = engine_with(band, reference=10_000)
    engine.submit(sell(10_000, 100), 0)
    engine.submit(NewOrder("bob", BUY, OrderType.LIMIT, 100, 10_000, GTC), 0)  # trade at 100
    engine.submit(sell(10_500, 300), 1_000)
    engine.submit(NewOrder("bob", BUY, OrderType.LIMIT, 300, 10_500, GTC), 1_000)  # at 105
    # VWAP = (100x100 + 105x300) / 400 = 103.75: 1.1 x 103.75 = 114.125
    assert engine.avg_price.reference(1_000) == (10_000 * 100 + 10_500 * 300, 400)
    assert isinstance(engine.submit(buy(11_412, 10), 1_000), Ack)
    assert refused(engine.submit(buy(11_413, 10), 1_000), "PERCENT_PRICE")
    # a minute after the first trade only the second remains in the window
    assert engine.avg_price.reference(60_000) == (10_500 * 300, 300)
    # with no trade in the window the last trade price stands in
    assert engine.avg_price.reference(200_000) == (10_500, 1)


def test_average_price_with_zero_minutes_is_the_last_trade() -> None:
    avg = AveragePrice(0, seed_price=None)
    assert avg.reference(0) is None
    avg.record(5, 123, 10)
    avg.record(6, 125, 1)
    assert avg.reference(10**9) == (125, 1)


def test_max_num_orders_counts_open_orders_per_account() -> None:
    engine = engine_with({"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 2})
    assert isinstance(engine.submit(buy(100, 10), 1), Ack)
    assert isinstance(engine.submit(buy(101, 10), 1), Ack)
    assert refused(engine.submit(buy(102, 10), 1), "MAX_NUM_ORDERS")
    other = NewOrder("bob", BUY, OrderType.LIMIT, 10, 100, GTC)
    assert isinstance(engine.submit(other, 1), Ack)  # bob has his own count
    # a fill frees a slot
    engine.submit(NewOrder("bob", SELL, OrderType.LIMIT, 10, 101, TimeInForce.IOC), 2)
    assert isinstance(engine.submit(buy(102, 10), 3), Ack)


@pytest.mark.parametrize("name", ["PRICE_FILTER", "LOT_SIZE", "NOTIONAL", "MAX_NUM_ORDERS"])
def test_filter_failures_are_validation_errors(name: str) -> None:
    error = errors.filter_failure(name)
    assert error.category is errors.Category.VALIDATION and not error.retryable
