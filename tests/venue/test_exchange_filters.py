"""Exchange-level filters: EXCHANGE_MAX_NUM_ORDERS, _ALGO_ORDERS and _ORDER_LISTS per account
over every symbol of a venue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import VenueError
from bot4.core.filters import ExchangeFilter
from bot4.core.instruments import Instrument, load_symbols_file
from bot4.core.orders import CancelOrder, ListLeg, NewOco, NewOrder, NewOto
from bot4.core.results import Ack, ListAck
from bot4.venue.exchange import Venue
from bot4.venue.limits import ExchangeLimits
from tests.conftest import SYMBOLS_FILE, simple_spec
from tests.support.backends import current
from tests.venue.test_lists import TYPES

BUY, SELL, GTC, IOC = Side.BUY, Side.SELL, TimeInForce.GTC, TimeInForce.IOC
LIMIT = OrderType.LIMIT
FILTERS = TypeAdapter(tuple[ExchangeFilter, ...])


def venue_with(**limits: int) -> Venue:
    names = {"orders": ("EXCHANGE_MAX_NUM_ORDERS", "maxNumOrders"),
             "algo": ("EXCHANGE_MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders"),
             "lists": ("EXCHANGE_MAX_NUM_ORDER_LISTS", "maxNumOrderLists")}  # fmt: skip
    filters = FILTERS.validate_python(
        [{"filterType": names[k][0], names[k][1]: v} for k, v in limits.items()]
    )
    instruments = {
        s: Instrument.compile(simple_spec(symbol=s, baseAsset=s[:-4], orderTypes=TYPES))
        for s in ("AAAUSDT", "BBBUSDT")
    }
    venue = Venue(instruments, reference_prices={"AAAUSDT": 10_000, "BBBUSDT": 10_000},
                  exchange_filters=filters, backend=current())  # fmt: skip
    for account in ("u", "m"):
        venue.deposit(account, "USDT", "1000000")
        venue.deposit(account, "AAA", "1000")
        venue.deposit(account, "BBB", "1000")
    return venue


def bid(venue: Venue, symbol: str, price: int = 9_000, account: str = "u") -> Any:
    return venue.submit(symbol, NewOrder(account, BUY, LIMIT, 1, price, GTC), 1)


def refused(result: object, name: str) -> None:
    assert isinstance(result, VenueError), result
    assert (result.code, result.msg) == (-1013, f"Filter failure: {name}")


def test_open_orders_are_counted_over_every_symbol() -> None:
    venue = venue_with(orders=3)
    first = bid(venue, "AAAUSDT")
    bid(venue, "AAAUSDT")
    bid(venue, "BBBUSDT")
    before = venue.state_digest()
    refused(bid(venue, "BBBUSDT"), "EXCHANGE_MAX_NUM_ORDERS")
    refused(bid(venue, "AAAUSDT"), "EXCHANGE_MAX_NUM_ORDERS")
    assert venue.state_digest() == before
    assert isinstance(bid(venue, "AAAUSDT", account="m"), Ack)  # another account's own count
    venue.cancel("AAAUSDT", CancelOrder("u", first.order_id), 2)
    assert isinstance(bid(venue, "BBBUSDT"), Ack)
    assert venue.exchange_counts()["orders"] == {"u": 3, "m": 1}


def test_an_order_that_fills_at_once_frees_its_place() -> None:
    venue = venue_with(orders=1)
    venue.submit("AAAUSDT", NewOrder("m", SELL, LIMIT, 1, 10_000, GTC), 1)
    took = venue.submit("AAAUSDT", NewOrder("u", BUY, LIMIT, 1, 10_000, GTC), 1)
    assert isinstance(took, Ack) and took.executed_qty == 1
    assert isinstance(bid(venue, "BBBUSDT"), Ack)


def test_waiting_stops_are_counted_as_algo_orders() -> None:
    venue = venue_with(algo=1)
    stop = NewOrder("u", SELL, OrderType.STOP_LOSS, 1, stop_price=9_000)
    assert isinstance(venue.submit("AAAUSDT", stop, 1), Ack)
    refused(venue.submit("BBBUSDT", stop, 1), "EXCHANGE_MAX_NUM_ALGO_ORDERS")
    # the stop triggers (a trade at 90.00) and stops waiting
    venue.submit("AAAUSDT", NewOrder("m", SELL, LIMIT, 1, 9_000, GTC), 2)
    venue.submit("AAAUSDT", NewOrder("m", BUY, LIMIT, 1, 9_000, IOC), 2)
    assert isinstance(venue.submit("BBBUSDT", stop, 3), Ack)


def oco(qty: int = 1) -> NewOco:
    return NewOco("u", SELL, qty, ListLeg(OrderType.LIMIT_MAKER, price=11_000),
                  ListLeg(OrderType.STOP_LOSS, stop_price=9_000))  # fmt: skip


def test_order_lists_are_counted_and_their_legs_are_orders() -> None:
    venue = venue_with(lists=1, orders=4, algo=5)
    placed = venue.engines["AAAUSDT"].submit_oco(oco(), 1)
    assert isinstance(placed, ListAck)
    oto = NewOto(
        NewOrder("u", BUY, LIMIT, 1, 9_500, GTC), NewOrder("u", SELL, LIMIT, 1, 10_500, GTC)
    )
    refused(venue.engines["BBBUSDT"].submit_oto(oto, 1), "EXCHANGE_MAX_NUM_ORDER_LISTS")
    venue.cancel("AAAUSDT", CancelOrder("u", placed.orders[0].order_id), 2)  # ends the list
    first = bid(venue, "BBBUSDT")
    bid(venue, "BBBUSDT")
    bid(venue, "AAAUSDT")
    refused(venue.engines["BBBUSDT"].submit_oto(oto, 3), "EXCHANGE_MAX_NUM_ORDERS")  # 3 + 2 > 4
    venue.cancel("BBBUSDT", CancelOrder("u", first.order_id), 4)
    assert isinstance(venue.engines["BBBUSDT"].submit_oto(oto, 5), ListAck)
    assert venue.exchange is not None
    counts = venue.exchange_counts()
    assert (counts["orders"], counts["lists"]) == ({"u": 4}, {"u": 1})


def test_filters_load_from_the_symbols_file(tmp_path: Path) -> None:
    assert load_symbols_file(SYMBOLS_FILE).exchangeFilters == ()
    text = SYMBOLS_FILE.read_text().replace(
        "exchangeFilters = []",
        'exchangeFilters = [{ filterType = "EXCHANGE_MAX_NUM_ORDERS", maxNumOrders = 1000 },\n'
        '  { filterType = "EXCHANGE_MAX_NUM_ICEBERG_ORDERS", maxNumIcebergOrders = 10000 }]',
    )
    path = tmp_path / "symbols.toml"
    path.write_text(text)
    limits = ExchangeLimits.from_filters(load_symbols_file(path).exchangeFilters)
    assert limits is not None and (limits.max_orders, limits.max_algo) == (1000, None)
    iceberg_only = FILTERS.validate_python(
        [{"filterType": "EXCHANGE_MAX_NUM_ICEBERG_ORDERS", "maxNumIcebergOrders": 1}]
    )
    assert ExchangeLimits.from_filters(iceberg_only) is None  # bot4 places no icebergs
    path.write_text(text.replace("maxNumOrders = 1000", "maxNumOrders = 0"))
    with pytest.raises(ValidationError, match="maxNumOrders"):
        load_symbols_file(path)
