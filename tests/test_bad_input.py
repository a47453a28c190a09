"""Bad input on purpose: whatever arrives, the answer is a typed error with a code, and a
refused request leaves every piece of state exactly as it was."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import VenueError
from bot4.core.instruments import load_symbols
from bot4.core.orders import CancelOrder, NewOrder
from bot4.sim.engine import Ack
from bot4.sim.venue import Venue
from tests.conftest import SYMBOLS_FILE

INSTRUMENTS = load_symbols(SYMBOLS_FILE)

numbers = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.from_regex(r"-?[0-9]{0,25}(\.[0-9]{0,25})?", fullmatch=True),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(["0", "0.0", "-0.01", "1e5", "99999999999999999999.99999999", "30000.005"]),
)
junk = st.one_of(
    numbers, st.none(), st.booleans(), st.integers(), st.lists(st.integers(), max_size=2)
)
enum_text = st.one_of(
    st.sampled_from(
        [
            "BUY",
            "SELL",
            "buy",
            "HOLD",
            "",
            "LIMIT",
            "MARKET",
            "LIMIT_MAKER",
            "STOP_LOSS",
            "GTC",
            "IOC",
            "FOK",
            "GTD",
        ]
    ),
    junk,
)

params = st.fixed_dictionaries(
    {
        "symbol": st.one_of(st.sampled_from([*INSTRUMENTS, "BTCUSD", "btcusdt", ""]), junk),
        "side": enum_text,
        "type": enum_text,
    },
    optional={
        "timeInForce": enum_text,
        "price": numbers,
        "quantity": numbers,
        "quoteOrderQty": numbers,
        "newClientOrderId": st.one_of(st.text(max_size=40), junk),
        "bogus": junk,
    },
)


def _venue() -> Venue:
    venue = Venue(INSTRUMENTS, reference_prices={"BTCUSDT": 3_000_000, "ETHUSDT": 200_000})
    for account in ("alice", "bob"):
        for asset in ("BTC", "ETH", "BNB", "SOL"):
            venue.deposit(account, asset, "100")
        venue.deposit(account, "USDT", "1000000")
    venue.place(
        "bob",
        {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "price": "30010.00",
            "quantity": "0.5",
        },
        0,
    )
    venue.place(
        "bob",
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "price": "29990.00",
            "quantity": "0.5",
        },
        0,
    )
    return venue


@given(params)
def test_any_parameters_get_a_coded_answer_and_refusals_change_nothing(p: dict[str, Any]) -> None:
    venue = _venue()
    before = venue.state_digest()
    body = venue.place("alice", p, 1)
    if "code" in body:
        assert isinstance(body["code"], int) and body["code"] < 0
        assert isinstance(body["msg"], str) and body["msg"]
        assert venue.state_digest() == before
    else:
        assert body["status"] in {"NEW", "PARTIALLY_FILLED", "FILLED", "EXPIRED"}


@given(
    st.dictionaries(
        st.sampled_from(["symbol", "orderId", "origClientOrderId", "newClientOrderId", "x"]),
        st.one_of(junk, st.sampled_from(["BTCUSDT", "1", "2", "3"])),
    )
)
def test_any_cancel_parameters_get_a_coded_answer(p: dict[str, Any]) -> None:
    venue = _venue()
    before = venue.state_digest()
    body = venue.cancel_order("alice", p, 1)
    assert isinstance(body.get("code"), int) and body["msg"]
    assert venue.state_digest() == before


big = st.integers(min_value=-(10**40), max_value=10**40)


@given(
    side=st.sampled_from([*Side, None, "BUY"]),
    otype=st.sampled_from([*OrderType, "LIMIT"]),
    qty=st.one_of(big, st.floats(allow_nan=False), st.booleans()),
    price=st.one_of(big, st.floats(allow_nan=False)),
    tif=st.sampled_from([*TimeInForce, None, "GTC"]),
    qoq=st.one_of(st.just(0), big),
    account=st.sampled_from(["alice", "bob", "mallory"]),
    cid=st.one_of(st.none(), st.text(max_size=40)),
)
def test_engine_requests_in_engine_units_never_break_the_engine(
    side: Any, otype: Any, qty: Any, price: Any, tif: Any, qoq: Any, account: str, cid: str | None
) -> None:
    venue = _venue()
    engine = venue.engines["BTCUSDT"]
    before = venue.state_digest()
    result = engine.submit(NewOrder(account, side, otype, qty, price, tif, qoq, cid), 1)
    if isinstance(result, VenueError):
        assert result.code < 0 and result.msg
        assert venue.state_digest() == before
    else:
        assert isinstance(result, Ack) and result.reports[0].seq == 3
    for ledger_account, _asset, bal in venue.ledger.items():
        assert bal.free >= 0 and bal.locked >= 0, ledger_account


@given(order_id=st.one_of(st.none(), big), cid=st.one_of(st.none(), st.text(max_size=40)))
def test_cancel_in_engine_units(order_id: int | None, cid: str | None) -> None:
    venue = _venue()
    engine = venue.engines["BTCUSDT"]
    before = venue.state_digest()
    result = engine.cancel(CancelOrder("alice", order_id, cid), 1)
    assert isinstance(result, VenueError) and result.code in (-2011, -1100, -1118)
    assert venue.state_digest() == before
