"""Fixtures of the order path's tests: what an engine answers, for the wire codecs."""

from __future__ import annotations

from typing import Any

import pytest

from bot4.core.enums import CancelReplaceMode, OrderType, Side, StpMode, TimeInForce
from bot4.core.instruments import Instrument
from bot4.core.orders import CancelOrder, CancelReplace, ListLeg, NewOco, NewOrder
from tests.conftest import funded_engine

BUY, SELL, GTC, IOC = Side.BUY, Side.SELL, TimeInForce.GTC, TimeInForce.IOC
LIMIT = OrderType.LIMIT
PRICE = 3_000_000  # 30000.00 in ticks


@pytest.fixture()
def results(btc: Instrument) -> list[Any]:
    """What an engine answers: resting, filled (taker with the maker's report), rejected,
    cancelled, self-trade-prevented, an OCO list, a fill of an OCO leg, a cancel-replace,
    a cancel-all and a deposit's None."""
    spec = btc.spec.model_copy(update={"orderTypes": list(OrderType)})
    engine = funded_engine(Instrument.compile(spec), reference_price=PRICE)
    oco = NewOco("alice", SELL, 100, ListLeg(OrderType.LIMIT_MAKER, PRICE + 1_000),
                 ListLeg(OrderType.STOP_LOSS_LIMIT, PRICE - 2_000, PRICE - 1_000,
                         time_in_force=GTC))  # fmt: skip
    replace = CancelReplace(CancelOrder("alice", orig_client_order_id="r2"),
                            NewOrder("alice", SELL, LIMIT, 500, PRICE + 10, GTC),
                            CancelReplaceMode.ALLOW_FAILURE)  # fmt: skip
    return [
        engine.submit(NewOrder("alice", SELL, LIMIT, 1_000, PRICE, GTC, client_order_id="r"), 1),
        engine.submit(NewOrder("bob", BUY, LIMIT, 400, PRICE, IOC), 2),
        engine.submit(NewOrder("bob", BUY, OrderType.MARKET, 10**9), 3),
        engine.submit(NewOrder("bob", BUY, LIMIT, 1, 1, GTC), 3),
        engine.cancel(CancelOrder("alice", orig_client_order_id="r"), 4),
        engine.submit_oco(oco, 5),
        engine.submit(NewOrder("bob", BUY, LIMIT, 100, PRICE + 1_000, IOC), 6),
        engine.submit(NewOrder("alice", SELL, LIMIT, 500, PRICE, GTC, client_order_id="r2"), 7),
        engine.cancel_replace(replace, 8),
        engine.submit(
            NewOrder("alice", BUY, LIMIT, 500, PRICE + 10, GTC, stp_mode=StpMode.EXPIRE_MAKER), 9
        ),
        engine.cancel_all("alice", 10),
        None,
    ]
