"""Self-trade prevention: each scenario of the venue's STP FAQ, then the edges around it.

The FAQ's scenarios run on a BTCUSDT-like symbol with tick 0.01 and lot 0.001 through the
venue's string edge, so the responses can be compared field by field with the FAQ's JSON.
Order ids start at 1 here (the FAQ's ids are whatever its account had reached).
"""

from __future__ import annotations

from typing import Any

import pytest

from bot4.core import errors
from bot4.core.enums import ExecutionType, OrderStatus, OrderType, Side, StpMode, TimeInForce
from bot4.core.events import ExecutionReport, to_venue
from bot4.core.instruments import Instrument
from bot4.core.orders import NewOrder
from bot4.core.results import Ack
from bot4.venue.exchange import Venue
from tests.conftest import funded_engine, simple_spec
from tests.support.backends import current

SPEC = {"symbol": "BTCUSDT", "baseAsset": "BTC", "quoteAsset": "USDT"}


@pytest.fixture()
def venue() -> Venue:
    venue = Venue({"BTCUSDT": Instrument.compile(simple_spec(**SPEC))}, backend=current())
    for account in ("user", "other"):
        venue.deposit(account, "BTC", "20000")
        venue.deposit(account, "USDT", "20000")
    return venue


def limit(side: str, qty: str, price: str, mode: str = "NONE") -> dict[str, object]:
    return {"symbol": "BTCUSDT", "side": side, "type": "LIMIT", "timeInForce": "GTC",
            "quantity": qty, "price": price, "selfTradePreventionMode": mode}  # fmt: skip


def order(venue: Venue, account: str, order_id: int) -> dict[str, Any]:
    view = venue.engines["BTCUSDT"].get_order(account, order_id=order_id)
    assert not isinstance(view, errors.VenueError)
    return {"status": view.status.value, "executed": view.executed_qty,
            "prevented": view.prevented_qty}  # fmt: skip


def test_scenario_a_none_trades_normally(venue: Venue) -> None:
    venue.place("user", limit("BUY", "1", "1"), 1)
    taker = venue.place("user", limit("SELL", "1", "1"), 2)
    assert taker["status"] == "FILLED" and taker["executedQty"] == "1.00000000"
    assert "preventedMatches" not in taker and "preventedQuantity" not in taker
    assert order(venue, "user", 1)["status"] == "FILLED"


def _three_bids(venue: Venue) -> None:
    venue.place("user", limit("BUY", "1.2", "1.2"), 1)
    venue.place("user", limit("BUY", "1.3", "1.1"), 2)
    venue.place("user", limit("BUY", "8.1", "1"), 3)


def test_scenario_b_expire_maker_sweeps_the_users_bids_and_rests(venue: Venue) -> None:
    _three_bids(venue)
    taker = venue.place("user", limit("SELL", "3", "1", "EXPIRE_MAKER"), 4)
    assert taker["status"] == "NEW" and taker["executedQty"] == "0.00000000"
    assert taker["fills"] == [] and "preventedQuantity" not in taker
    assert taker["preventedMatches"] == [
        {"preventedMatchId": 0, "makerOrderId": 1, "price": "1.20000000",
         "makerPreventedQuantity": "1.20000000"},
        {"preventedMatchId": 1, "makerOrderId": 2, "price": "1.10000000",
         "makerPreventedQuantity": "1.30000000"},
        {"preventedMatchId": 2, "makerOrderId": 3, "price": "1.00000000",
         "makerPreventedQuantity": "8.10000000"},
    ]  # fmt: skip
    for oid, prevented in ((1, 1200), (2, 1300), (3, 8100)):  # the maker's whole 8.1 expires
        assert order(venue, "user", oid) == {
            "status": "EXPIRED_IN_MATCH",
            "executed": 0,
            "prevented": prevented,
        }
    engine = venue.engines["BTCUSDT"]
    assert engine.depth() == {"bids": [], "asks": [(100, 3000)]}
    assert venue.balances("user")["USDT"] == ("20000.00000000", "0.00000000")


def test_scenario_c_expire_taker_leaves_the_makers(venue: Venue) -> None:
    _three_bids(venue)
    log: list[ExecutionReport] = []
    venue.engines["BTCUSDT"].on_events = log.extend
    taker = venue.place("user", limit("SELL", "3", "1", "EXPIRE_TAKER"), 4)
    assert taker["status"] == "EXPIRED_IN_MATCH" and taker["executedQty"] == "0.00000000"
    assert taker["preventedQuantity"] == "3.00000000"
    assert taker["preventedMatches"] == [
        {"preventedMatchId": 0, "makerOrderId": 1, "price": "1.20000000",
         "takerPreventedQuantity": "3.00000000"}
    ]  # fmt: skip
    assert [order(venue, "user", i)["status"] for i in (1, 2, 3)] == ["NEW"] * 3
    report = to_venue(log[-1], venue.instruments["BTCUSDT"])
    assert (report["x"], report["X"], report["v"], report["A"], report["B"], report["U"]) == (
        "TRADE_PREVENTION", "EXPIRED_IN_MATCH", 0, "3.00000000", "3.00000000", 1
    )  # fmt: skip
    assert (report["l"], report["L"], report["pl"], report["pL"]) == (
        "0.00000000", "0.00000000", "3.00000000", "1.20000000"
    )  # fmt: skip
    assert venue.balances("user")["BTC"] == ("20000.00000000", "0.00000000")


def test_scenario_d_expire_both(venue: Venue) -> None:
    venue.place("user", limit("BUY", "1", "1"), 1)
    taker = venue.place("user", limit("SELL", "3", "1", "EXPIRE_BOTH"), 2)
    assert taker["status"] == "EXPIRED_IN_MATCH" and taker["fills"] == []
    assert taker["preventedQuantity"] == "3.00000000"
    assert taker["preventedMatches"] == [
        {"preventedMatchId": 0, "makerOrderId": 1, "price": "1.00000000",
         "takerPreventedQuantity": "3.00000000", "makerPreventedQuantity": "1.00000000"}
    ]  # fmt: skip
    assert order(venue, "user", 1) == {
        "status": "EXPIRED_IN_MATCH",
        "executed": 0,
        "prevented": 1000,
    }


def test_scenario_e_the_takers_mode_decides(venue: Venue) -> None:
    venue.place("user", limit("BUY", "1", "1", "EXPIRE_MAKER"), 1)
    taker = venue.place("user", limit("SELL", "1", "1", "EXPIRE_TAKER"), 2)
    assert taker["status"] == "EXPIRED_IN_MATCH" and taker["preventedQuantity"] == "1.00000000"
    assert taker["preventedMatches"] == [
        {"preventedMatchId": 0, "makerOrderId": 1, "price": "1.00000000",
         "takerPreventedQuantity": "1.00000000"}
    ]  # fmt: skip
    assert order(venue, "user", 1)["status"] == "NEW"


def test_scenario_f_market_taker_expires_for_lack_of_liquidity(venue: Venue) -> None:
    venue.place("user", limit("BUY", "1", "1"), 1)
    params = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "1",
              "selfTradePreventionMode": "EXPIRE_MAKER"}  # fmt: skip
    taker = venue.place("user", params, 2)
    assert taker["status"] == "EXPIRED" and taker["executedQty"] == "0.00000000"
    assert "preventedQuantity" not in taker
    assert taker["preventedMatches"] == [
        {"preventedMatchId": 0, "makerOrderId": 1, "price": "1.00000000",
         "makerPreventedQuantity": "1.00000000"}
    ]  # fmt: skip
    assert order(venue, "user", 1)["status"] == "EXPIRED_IN_MATCH"


def test_scenario_g_decrement_expires_the_smaller_order(venue: Venue) -> None:
    venue.place("user", limit("BUY", "6", "2"), 1)
    taker = venue.place("user", limit("SELL", "2", "2", "DECREMENT"), 2)
    assert taker["status"] == "EXPIRED_IN_MATCH" and taker["preventedQuantity"] == "2.00000000"
    assert taker["preventedMatches"] == [
        {"preventedMatchId": 0, "makerOrderId": 1, "price": "2.00000000",
         "takerPreventedQuantity": "2.00000000", "makerPreventedQuantity": "2.00000000"}
    ]  # fmt: skip
    assert order(venue, "user", 1) == {"status": "NEW", "executed": 0, "prevented": 2000}
    engine = venue.engines["BTCUSDT"]
    assert engine.depth()["bids"] == [(200, 4000)]  # 6 - 0 - 2 = 4 still available
    # the maker locked 6 x 2 = 12 USDT; 2 x 2 = 4 of it is free again
    assert venue.balances("user")["USDT"] == ("19992.00000000", "8.00000000")


def test_scenario_h_transfer_between_two_accounts_of_one_group(venue: Venue) -> None:
    venue.ledger.set_trade_group("user", 1)
    venue.ledger.set_trade_group("other", 1)
    venue.place("user", limit("BUY", "0.6", "0.2", "TRANSFER"), 1)
    taker = venue.place("other", limit("SELL", "0.2", "0.2", "TRANSFER"), 2)
    assert taker["status"] == "EXPIRED_IN_MATCH" and taker["fills"] == []
    assert taker["preventedMatches"] == [
        {"preventedMatchId": 0, "makerOrderId": 1, "price": "0.20000000",
         "takerPreventedQuantity": "0.20000000", "makerPreventedQuantity": "0.20000000"}
    ]  # fmt: skip
    assert order(venue, "user", 1) == {"status": "NEW", "executed": 0, "prevented": 200}
    assert venue.balances("user") == {
        "BTC": ("20000.20000000", "0.00000000"),
        "USDT": ("19999.88000000", "0.08000000"),
    }
    assert venue.balances("other") == {
        "BTC": ("19999.80000000", "0.00000000"),
        "USDT": ("20000.04000000", "0.00000000"),
    }
    assert venue.ledger.fees == {}


def test_transfer_within_one_account_is_decrement(venue: Venue) -> None:
    venue.place("user", limit("BUY", "0.6", "0.2", "TRANSFER"), 1)
    venue.place("user", limit("SELL", "0.2", "0.2", "TRANSFER"), 2)
    assert venue.balances("user") == {
        "BTC": ("20000.00000000", "0.00000000"),
        "USDT": ("19999.92000000", "0.08000000"),
    }


def test_transfer_needs_transfer_on_both_sides(venue: Venue) -> None:
    venue.ledger.set_trade_group("user", 7)
    venue.ledger.set_trade_group("other", 7)
    venue.place("user", limit("BUY", "0.6", "0.2", "NONE"), 1)
    venue.place("other", limit("SELL", "0.2", "0.2", "TRANSFER"), 2)  # acts as DECREMENT
    assert venue.balances("other")["BTC"] == ("20000.00000000", "0.00000000")
    assert order(venue, "user", 1)["prevented"] == 200


def test_trade_groups_decide_who_self_trades(venue: Venue) -> None:
    venue.place("user", limit("BUY", "1", "1"), 1)
    # different accounts, no group: they trade
    assert venue.place("other", limit("SELL", "0.5", "1", "EXPIRE_TAKER"), 2)["status"] == "FILLED"
    venue.ledger.set_trade_group("user", 3)
    venue.ledger.set_trade_group("other", 3)
    # orders placed from now on carry the group; the old bid still carries the account
    venue.place("user", limit("BUY", "1", "0.99"), 3)
    assert venue.place("other", limit("SELL", "0.5", "0.99", "EXPIRE_TAKER"), 4)["status"] == (
        "FILLED"
    )
    venue.place("user", limit("BUY", "1", "1.01"), 5)
    sell = venue.place("other", limit("SELL", "0.5", "1.01", "EXPIRE_TAKER"), 6)
    assert sell["status"] == "EXPIRED_IN_MATCH"
    venue.ledger.set_trade_group("other", -1)
    assert venue.ledger.stp_key("other") == "other"
    with pytest.raises(ValueError, match="tradeGroupId"):
        venue.ledger.set_trade_group("other", -5)


def test_modes_a_symbol_does_not_allow_are_refused(venue: Venue) -> None:
    spec = simple_spec(
        **SPEC,
        defaultSelfTradePreventionMode="NONE",
        allowedSelfTradePreventionModes=["NONE", "EXPIRE_TAKER", "EXPIRE_BOTH"],
    )
    strict = Venue({"BTCUSDT": Instrument.compile(spec)}, backend=current())
    strict.deposit("user", "USDT", "100")
    body = strict.place("user", limit("BUY", "1", "1", "EXPIRE_MAKER"), 1)
    assert body == {
        "code": -1013,
        "msg": "This symbol does not allow the specified self-trade prevention mode.",
    }
    assert strict.place("user", limit("BUY", "1", "1", "SOMETIMES"), 1)["code"] == -1130
    assert strict.place("user", limit("BUY", "1", "1", "EXPIRE_BOTH"), 1)["status"] == "NEW"


def test_the_symbol_default_applies_when_no_mode_is_sent() -> None:
    spec = simple_spec(**SPEC, defaultSelfTradePreventionMode="EXPIRE_MAKER")
    engine = funded_engine(Instrument.compile(spec), ("user",))
    gtc = TimeInForce.GTC
    engine.submit(NewOrder("user", Side.BUY, OrderType.LIMIT, 1000, 100, gtc), 1)
    ack = engine.submit(NewOrder("user", Side.SELL, OrderType.LIMIT, 1000, 100, gtc), 2)
    assert isinstance(ack, Ack) and ack.status is OrderStatus.NEW
    assert ack.reports[0].stp_mode is StpMode.EXPIRE_MAKER
    assert ack.reports[1].execution_type is ExecutionType.TRADE_PREVENTION
    with pytest.raises(ValueError, match="defaultSelfTradePreventionMode"):
        simple_spec(
            defaultSelfTradePreventionMode="TRANSFER", allowedSelfTradePreventionModes=["NONE"]
        )


def test_expire_maker_skips_own_orders_and_keeps_matching(venue: Venue) -> None:
    venue.place("user", limit("SELL", "1", "10"), 1)
    venue.place("other", limit("SELL", "1", "11"), 2)
    buy = venue.place("user", limit("BUY", "1.5", "11", "EXPIRE_MAKER"), 3)
    assert buy["status"] == "PARTIALLY_FILLED" and buy["executedQty"] == "1.00000000"
    assert buy["fills"][0]["price"] == "11.00000000"
    assert venue.engines["BTCUSDT"].depth() == {"bids": [(1100, 500)], "asks": []}


def test_market_buy_lock_covers_the_deeper_book_it_reaches(venue: Venue) -> None:
    """EXPIRE_MAKER skips the user's cheap ask, so the MARKET BUY pays the other's dearer one."""
    venue.deposit("poor", "USDT", "11")
    venue.ledger.set_trade_group("poor", 9)
    venue.ledger.set_trade_group("user", 9)
    venue.place("user", limit("SELL", "1", "10"), 1)
    venue.place("other", limit("SELL", "1", "11"), 2)
    market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1",
              "selfTradePreventionMode": "EXPIRE_MAKER"}  # fmt: skip
    body = venue.place("poor", market, 3)
    assert body["status"] == "FILLED" and body["cummulativeQuoteQty"] == "11.00000000"
    assert venue.balances("poor") == {"BTC": ("0.99900000", "0.00000000")}
    venue.place("user", limit("SELL", "1", "10"), 4)
    venue.place("other", limit("SELL", "1", "11"), 5)
    venue.deposit("poor", "USDT", "10.5")
    assert venue.place("poor", market, 6)["code"] == -2010  # 11 > 10.5, though 10 would do


def test_quote_order_qty_buy_with_expire_maker_stays_within_its_quote(venue: Venue) -> None:
    venue.place("user", limit("SELL", "1", "10"), 1)
    venue.place("other", limit("SELL", "1", "20"), 2)
    market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quoteOrderQty": "15",
              "selfTradePreventionMode": "EXPIRE_MAKER"}  # fmt: skip
    body = venue.place("user", market, 3)
    assert body["executedQty"] == "0.75000000" and body["cummulativeQuoteQty"] == "15.00000000"
    expire_taker = dict(market, selfTradePreventionMode="EXPIRE_TAKER")
    venue.place("user", limit("SELL", "1", "5"), 4)
    # sized by its quote as if its own ask would trade; it meets that ask first and expires
    body = venue.place("user", expire_taker, 5)
    assert body["status"] == "EXPIRED_IN_MATCH" and body["executedQty"] == "0.00000000"


def test_fok_cannot_fill_through_a_prevented_match(venue: Venue) -> None:
    venue.place("user", limit("SELL", "1", "10"), 1)
    venue.place("other", limit("SELL", "1", "10"), 2)
    fok = dict(limit("BUY", "2", "10", "DECREMENT"), timeInForce="FOK")
    assert venue.place("user", fok, 3)["status"] == "EXPIRED"
    fok_maker = dict(fok, selfTradePreventionMode="EXPIRE_MAKER", quantity="1")
    filled = venue.place("user", fok_maker, 4)
    assert filled["status"] == "FILLED" and filled["fills"][0]["tradeId"] == 1
    # EXPIRE_MAKER expired the user's own ask on the way, then the FOK filled on the other's
    assert order(venue, "user", 1)["status"] == "EXPIRED_IN_MATCH"


def test_decrement_on_a_partly_filled_maker_keeps_its_priority(venue: Venue) -> None:
    venue.place("user", limit("SELL", "5", "10"), 1)
    venue.place("other", limit("SELL", "5", "10"), 2)
    venue.place("other", limit("BUY", "1", "10"), 3)  # user's ask: 1 filled, 4 left
    venue.place("user", limit("BUY", "1.5", "10", "DECREMENT"), 4)  # 1.5 prevented on both
    assert order(venue, "user", 1) == {
        "status": "PARTIALLY_FILLED",
        "executed": 1000,
        "prevented": 1500,
    }
    fill = venue.place("other", limit("BUY", "1", "10"), 5)
    assert fill["fills"][0]["tradeId"] == 2
    assert order(venue, "user", 1)["executed"] == 2000  # still first in the queue
    engine = venue.engines["BTCUSDT"]
    assert engine.depth()["asks"] == [(1000, 1500 + 5000)]  # 5 - 2 executed - 1.5 prevented
