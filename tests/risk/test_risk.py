"""Pre-trade risk: every check with its own code, rate limits, positions and losses, trading
states, the kill switch end to end with the engine, and properties over random order streams."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import Category, VenueError
from bot4.core.instruments import Instrument
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.results import Ack
from bot4.risk.breakers import BreakerBoard, BreakerConfig
from bot4.risk.buckets import TokenBucket
from bot4.risk.config import RiskFile, load_risk
from bot4.risk.positions import Position
from bot4.risk.pretrade import RiskEngine, TradingState
from bot4.service.gate import RiskGate
from bot4.venue.exchange import Venue
from tests.conftest import ROOT

BUY, SELL, GTC, IOC = Side.BUY, Side.SELL, TimeInForce.GTC, TimeInForce.IOC
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
LOT = 10**5  # BTCUSDT lots per BTC (step 0.00001)
PRICE = 3_000_000  # 30000.00 in ticks


def config(**account: Any) -> RiskFile:
    base: dict[str, Any] = {
        "account": {"max_open_orders": 5, "max_position": {"BTC": "2"},
                    "order_rate": [{"interval": "10s", "limit": 20}], **account},
        "symbol": {"max_order_notional": "100000", "price_band_pct": "5", "max_open_orders": 3},
        "symbols": {"BTCUSDT": {"max_order_qty": "1.5"}},
    }  # fmt: skip
    return RiskFile.model_validate(base)


def gate_for(instruments: dict[str, Instrument], cfg: RiskFile | None = None,
             breakers: BreakerBoard | None = None) -> RiskGate:  # fmt: skip
    venue = Venue(instruments, reference_prices={"BTCUSDT": PRICE, "ETHUSDT": 200_000})
    for account in ("u", "m"):
        venue.deposit(account, "USDT", "10000000")
        venue.deposit(account, "BTC", "100")
        venue.deposit(account, "ETH", "1000")
    risk = RiskEngine(cfg or config(), instruments)
    risk.mark("BTCUSDT", PRICE, 0)
    risk.mark("ETHUSDT", 200_000, 0)
    return RiskGate(venue, risk, breakers)


def limit(side: Side, lots: int, price: int = PRICE, account: str = "u", tif: TimeInForce = GTC
          ) -> NewOrder:  # fmt: skip
    return NewOrder(account, side, LIMIT, lots, price, tif)


def code(result: object) -> int:
    assert isinstance(result, VenueError), result
    return result.code


def snapshot(gate: RiskGate, account: str = "u") -> tuple[Any, ...]:
    risk = gate.risk
    acct = risk.account(account)
    books = {s: (b.open_orders, b.open_buy, b.open_sell, b.position.lots) for s, b in
             acct.books.items()}  # fmt: skip
    books = {s: v for s, v in books.items() if any(v)}  # a book seen once is not a change
    buckets = [b.level for b in acct.buckets]
    budget = acct.budget.snapshot() if acct.budget is not None else None
    return acct.state, acct.open_orders, books, buckets, budget


# --- buckets and positions --------------------------------------------------------------------


def test_token_bucket_mirrors_the_venue_orders_limit() -> None:
    bucket = TokenBucket(100, 10_000, "10s")
    assert all(bucket.take(0) for _ in range(100))
    assert not bucket.take(0) and bucket.retry_after(0) == 100
    assert not bucket.take(99) and bucket.take(100)
    assert not bucket.take(50)  # time going backwards refills nothing
    bucket.give_back()
    assert bucket.take(100) and bucket.retry_after(100_000) == 0
    with pytest.raises(ValueError):
        TokenBucket(0, 10)


@given(st.lists(st.tuples(st.booleans(), st.integers(1, 500), st.integers(1, 10_000)),
                max_size=40), st.integers(1, 10_000))  # fmt: skip
def test_position_profit_is_exact(fills: list[tuple[bool, int, int]], mark: int) -> None:
    """realised + unrealised equals the cash it took plus the open lots at the mark, exactly."""
    pos, cash = Position(), 0
    for buy, lots, price in fills:
        pos.fill(buy, lots, lots * price)
        cash += -lots * price if buy else lots * price
    assert pos.realized + pos.unrealized(mark) == cash + pos.lots * mark
    assert pos.lots == sum(lots if buy else -lots for buy, lots, _ in fills)


def test_position_scenarios() -> None:
    pos = Position()
    assert pos.fill(True, 10, 1_000) == 0
    assert pos.fill(False, 4, 480) == 80 and (pos.lots, pos.cost) == (6, 600)
    assert pos.fill(False, 10, 1_100) == 60 and (pos.lots, pos.cost) == (-4, -440)
    assert pos.unrealized(100) == 40
    with pytest.raises(ValueError):
        pos.fill(True, 0, 1)


# --- configuration ----------------------------------------------------------------------------


def test_the_shipped_risk_config_loads_with_its_precedence() -> None:
    cfg = load_risk(ROOT / "configs" / "risk.toml")
    assert cfg.symbol_spec("acct0", "BTCUSDT").max_order_qty == Decimal(40)
    assert cfg.symbol_spec("acct9", "BTCUSDT").max_order_qty == Decimal(20)
    assert cfg.symbol_spec("acct9", "SOLUSDT").price_band_pct == Decimal(8)
    assert cfg.symbol_spec("acct9", "ETHUSDT").max_order_notional == Decimal(1_000_000)
    assert cfg.account_spec("acct0").max_gross_exposure == Decimal(10_000_000)
    assert cfg.account_spec("acct9").max_daily_loss == Decimal(100_000)


@pytest.mark.parametrize(
    "bad",
    [
        {"symbol": {"max_order_qty": 1.5}},
        {"account": {"order_rate": [{"interval": "10x", "limit": 5}]}},
        {"account": {"order_rate": [{"interval": "10s", "limit": 0}]}},
        {"account": {"on_breach": "PANIC"}},
        {"account": {"max_open_orders": 2.0}},
        {"nonsense": 1},
    ],
)
def test_bad_risk_config_names_the_field(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RiskFile.model_validate(bad)


# --- the checks, each with its own code -------------------------------------------------------


def test_each_check_refuses_with_its_own_code(instruments: dict[str, Instrument]) -> None:
    gate = gate_for(instruments)
    before = snapshot(gate)
    assert code(gate.submit("BTCUSDT", limit(BUY, 2 * LOT), 1)) == -9101  # > 1.5 BTC
    assert code(gate.submit("BTCUSDT", limit(BUY, LOT * 3 // 2, PRICE * 5 // 2), 1)) in (
        -9102, -9103)  # fmt: skip
    assert code(gate.submit("ETHUSDT", NewOrder("u", BUY, LIMIT, 600_000, 200_000, GTC), 1)) == (
        -9102
    )  # 600 ETH x 2000 = 1.2M > 100k
    assert code(gate.submit("BTCUSDT", limit(BUY, LOT, PRICE * 106 // 100), 1)) == -9103
    assert snapshot(gate) == before  # refusals change nothing
    for _ in range(3):
        assert isinstance(gate.submit("BTCUSDT", limit(BUY, LOT // 10, PRICE - 100), 1), Ack)
    assert code(gate.submit("BTCUSDT", limit(BUY, 1, PRICE - 100), 1)) == -9104  # per symbol
    gate.submit("ETHUSDT", NewOrder("u", BUY, LIMIT, 1_000, 190_000, GTC), 1)
    gate.submit("ETHUSDT", NewOrder("u", BUY, LIMIT, 1_000, 190_000, GTC), 1)
    assert code(gate.submit("ETHUSDT", NewOrder("u", BUY, LIMIT, 1_000, 190_000, GTC), 1)) == (
        -9105)  # 5 open over the account  # fmt: skip
    assert gate.risk.open_orders("u") == 5 and gate.risk.open_orders("u", "BTCUSDT") == 3


def test_position_limit_counts_open_orders_on_the_same_side(
    instruments: dict[str, Instrument],
) -> None:
    gate = gate_for(instruments)
    assert isinstance(gate.submit("BTCUSDT", limit(BUY, LOT, PRICE - 100), 1), Ack)
    # 1 BTC open to buy + 1.5 would exceed the 2 BTC position limit
    assert code(gate.submit("BTCUSDT", limit(BUY, LOT * 3 // 2, PRICE - 100), 1)) == -9106
    assert isinstance(gate.submit("BTCUSDT", limit(BUY, LOT, PRICE - 100), 1), Ack)
    assert isinstance(gate.submit("BTCUSDT", limit(SELL, LOT * 3 // 2, PRICE + 100), 1), Ack)


def test_rate_limit_gives_the_venue_code_and_a_retry_after(
    instruments: dict[str, Instrument],
) -> None:
    gate = gate_for(instruments, config(max_open_orders=100))
    gate.venue.deposit("u", "USDT", "100000000")
    sent = 0
    for i in range(20):
        result = gate.submit("BTCUSDT", limit(BUY, 100, PRICE - 100, tif=IOC), 1_000 + i)
        sent += isinstance(result, Ack)
    assert sent == 20
    refused = gate.submit("BTCUSDT", limit(BUY, 100, PRICE - 100, tif=IOC), 1_020)
    assert isinstance(refused, VenueError) and refused.code == -1015
    assert refused.category is Category.RATE_LIMIT and refused.retryable
    assert refused.msg == "Too many new orders; current limit is 20 orders per 10s."
    assert refused.retry_after_ms == 480  # one token every 500 ms, 20 ms already refilled
    assert isinstance(gate.submit("BTCUSDT", limit(BUY, 100, PRICE - 100, tif=IOC), 1_500), Ack)


def test_a_venue_refusal_rolls_the_check_back(instruments: dict[str, Instrument]) -> None:
    gate = gate_for(instruments)
    before = snapshot(gate)
    bad = gate.submit("BTCUSDT", NewOrder("u", BUY, LIMIT, LOT, PRICE, None), 1)  # no TIF
    assert code(bad) == -1102 and snapshot(gate) == before


def test_quote_order_qty_market_orders_are_valued_at_the_reference(
    instruments: dict[str, Instrument],
) -> None:
    gate = gate_for(instruments)
    big = NewOrder("u", BUY, MARKET, quote_order_qty=200_000 * 10**8)  # 200k USDT > 100k
    assert code(gate.submit("ETHUSDT", big, 2)) == -9102  # 100 ETH at the 2000 reference
    assert code(gate.submit("BTCUSDT", big, 2)) == -9101  # 6.7 BTC: the quantity goes first
    fresh = RiskEngine(config(), instruments)
    assert code(fresh.check("BTCUSDT", big, 2)) == -9112  # no reference price yet


def test_fills_move_positions_and_losses_breach_to_reduce_only(
    instruments: dict[str, Instrument],
) -> None:
    gate = gate_for(instruments, config(max_daily_loss="5000"))
    gate.submit("BTCUSDT", limit(SELL, LOT, PRICE, account="m"), 1)
    assert isinstance(gate.submit("BTCUSDT", NewOrder("u", BUY, MARKET, LOT), 2), Ack)
    assert gate.risk.position("u", "BTCUSDT").lots == LOT
    assert gate.risk.position("m", "BTCUSDT").lots == -LOT  # the maker's fill counts too
    gate.risk.mark("BTCUSDT", 2_900_000, 3)  # -1000 USDT: fine
    assert gate.risk.state("u") is TradingState.ACTIVE
    gate.risk.mark("BTCUSDT", 2_400_000, 4)  # -6000 USDT since 00:00 UTC
    assert gate.risk.state("u") is TradingState.REDUCE_ONLY
    event = gate.risk.events[-1]
    assert (event.account, event.to_state, event.reason) == (
        "u", TradingState.REDUCE_ONLY, "daily loss 600000000000 > 500000000000")  # fmt: skip
    assert code(gate.submit("BTCUSDT", limit(BUY, 1_000, 2_390_000), 5)) == -9109
    assert isinstance(gate.submit("BTCUSDT", limit(SELL, LOT // 2, 2_410_000), 5), Ack)
    gate.reset("u", 6)
    assert gate.risk.state("u") is TradingState.ACTIVE


def test_drawdown_halts_when_configured(instruments: dict[str, Instrument]) -> None:
    gate = gate_for(instruments, config(max_drawdown="3000", on_breach="HALTED"))
    gate.submit("BTCUSDT", limit(SELL, LOT, PRICE, account="m"), 1)
    gate.submit("BTCUSDT", NewOrder("u", BUY, MARKET, LOT), 2)
    gate.risk.mark("BTCUSDT", 3_100_000, 3)  # +1000: a new peak
    gate.risk.mark("BTCUSDT", 2_750_000, 4)  # -3500 from the peak
    assert gate.risk.state("u") is TradingState.HALTED
    assert code(gate.submit("BTCUSDT", limit(SELL, 1_000, 2_750_000), 5)) == -9108  # reducing too


def test_kill_switch_end_to_end(instruments: dict[str, Instrument]) -> None:
    gate = gate_for(instruments)
    gate.submit("BTCUSDT", limit(SELL, LOT, PRICE, account="m"), 1)
    gate.submit("BTCUSDT", NewOrder("u", BUY, MARKET, LOT // 2), 2)  # long 0.5 BTC
    gate.submit("BTCUSDT", limit(BUY, LOT // 10, PRICE - 500), 3)
    gate.submit("ETHUSDT", NewOrder("u", SELL, LIMIT, 1_000, 201_000, GTC), 3)
    cancelled = gate.kill("u", 4)
    assert len(cancelled) == 2 and gate.risk.open_orders("u") == 0
    assert not gate.venue.engines["BTCUSDT"].open_orders("u")
    assert not gate.venue.engines["ETHUSDT"].open_orders("u")
    assert gate.venue.balances("u")["USDT"][1] == "0.00000000"  # nothing locked any more
    assert code(gate.submit("BTCUSDT", limit(BUY, 1_000, PRICE - 500), 5)) == -9110
    assert code(gate.submit("ETHUSDT", NewOrder("u", SELL, LIMIT, 1_000, 201_000, GTC), 5)) == (
        -9110)  # no ETH position: selling would open a short  # fmt: skip
    assert isinstance(gate.submit("BTCUSDT", limit(SELL, LOT // 4, PRICE + 500), 5), Ack)
    assert gate.risk.events[-1].to_state is TradingState.KILLED
    gate.reset("u", 6)
    assert isinstance(gate.submit("BTCUSDT", limit(BUY, 1_000, PRICE - 500), 7), Ack)


def test_gross_exposure_lease(instruments: dict[str, Instrument]) -> None:
    gate = gate_for(instruments, config(max_gross_exposure="40000", max_open_orders=50))
    assert isinstance(gate.submit("BTCUSDT", limit(BUY, LOT, PRICE - 100), 1), Ack)  # ~30k
    assert code(gate.submit("ETHUSDT", NewOrder("u", BUY, LIMIT, 60_000, 199_000, GTC), 1)) == (
        -9107)  # 60 ETH ~ 12k: 42k > 40k  # fmt: skip
    assert isinstance(gate.submit("ETHUSDT", NewOrder("u", BUY, LIMIT, 40_000, 199_000, GTC), 1),
                      Ack)  # fmt: skip
    budget = gate.risk.account("u").budget
    assert budget is not None and budget.granted <= budget.limit


def test_breakers_block_the_symbol(instruments: dict[str, Instrument]) -> None:
    board = BreakerBoard(BreakerConfig(max_reject_rate=None, max_error_rate=None),
                         default=BreakerConfig(max_reject_rate=None, max_error_rate=None,
                                               price_band_bps=100))  # fmt: skip
    gate = gate_for(instruments, breakers=board)
    gate.submit("BTCUSDT", limit(SELL, LOT, PRICE, account="m"), 1)
    gate.submit("BTCUSDT", limit(SELL, LOT, PRICE + 50_000, account="m"), 1)
    gate.submit("BTCUSDT", NewOrder("u", BUY, MARKET, LOT), 2)
    gate.submit("BTCUSDT", NewOrder("u", BUY, MARKET, LOT // 2), 3)  # +1.7 % within the window
    refused = gate.submit("BTCUSDT", limit(BUY, 1, PRICE), 4)
    assert code(refused) == -9111 and "BTCUSDT" in refused.msg  # type: ignore[union-attr]
    assert isinstance(gate.submit("ETHUSDT", NewOrder("u", BUY, LIMIT, 1_000, 199_000, GTC), 4),
                      Ack)  # fmt: skip


# --- properties -------------------------------------------------------------------------------

orders = st.lists(
    st.tuples(
        st.sampled_from(["u", "v"]),
        st.booleans(),
        st.integers(1, 80_000),
        st.integers(-3_000, 3_000),
        st.booleans(),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=50,
)


SYMBOLS = {"BTCUSDT": (PRICE, LOT), "ETHUSDT": (200_000, 10_000)}  # reference, lots per coin


@given(stream=orders)
def test_no_accepted_order_breaks_a_limit(
    instruments: dict[str, Instrument], stream: list[tuple[str, bool, int, int, bool, int]]
) -> None:
    """Across two symbols: every accepted order keeps open orders, positions and the account's
    gross exposure (sum over its symbols' leases) within their limits."""
    cfg = RiskFile.model_validate({
        "account": {"max_open_orders": 6, "max_gross_exposure": "60000",
                    "max_position": {"BTC": "2", "ETH": "30"}},
        "symbol": {"max_open_orders": 4, "price_band_pct": "5"},
    })  # fmt: skip
    gate = gate_for(instruments, cfg)
    for account in ("v",):
        gate.venue.deposit(account, "USDT", "10000000")
        gate.venue.deposit(account, "BTC", "100")
        gate.venue.deposit(account, "ETH", "1000")
    now = 10
    for i, (account, buy, lots, offset, market, cancel) in enumerate(stream):
        now += 7
        symbol = "BTCUSDT" if i % 3 else "ETHUSDT"
        ref, per_coin = SYMBOLS[symbol]
        risk = gate.risk
        acct = risk.account(account)
        engine = gate.venue.engines[symbol]
        if cancel == 3 and engine.open_orders(account):
            gate.cancel(symbol, CancelOrder(account, engine.open_orders(account)[0].order_id), now)
            continue
        side = BUY if buy else SELL
        qty = lots * per_coin // LOT
        req = (NewOrder(account, side, MARKET, qty) if market
               else limit(side, qty, ref + offset * ref // PRICE, account=account))  # fmt: skip
        refused = risk.check(symbol, req, now)
        if refused is None:  # accepted: at this moment the account's budget holds
            book = acct.books[symbol]
            budget = acct.budget
            assert budget is not None and book.lease is not None
            assert book.lease.used + book.lease.reserved <= book.lease.granted or not (
                book.lease.reserved
            )  # a reducing order reserves nothing
            assert budget.granted <= budget.limit
            assert (
                sum(
                    min(b.lease.used + b.lease.reserved, b.lease.granted)
                    for b in acct.books.values()
                    if b.lease is not None
                )
                <= budget.limit
            )
            held, buying, selling = book.asset
            cap = 2 * 10**8 if symbol == "BTCUSDT" else 30 * 10**8
            reducing = (book.position.lots > 0) != buy and book.position.lots != 0
            assert (
                reducing
                or (
                    held + buying + qty * book.per_lot
                    if buy
                    else selling + qty * book.per_lot - held
                )
                <= cap
            )
            result = gate.venue.submit(symbol, req, now)
            risk.on_result(symbol, result, result.reports if isinstance(result, Ack) else (), now)
        book = acct.books[symbol]
        assert book.open_orders <= 4 and acct.open_orders <= 6
        assert book.open_orders == len(engine.open_orders(account))
        assert acct.budget is not None and acct.budget.granted <= acct.budget.limit


def test_position_limit_is_per_asset_over_every_symbol() -> None:
    from tests.conftest import simple_spec

    specs = {
        "BTCUSDT": simple_spec(symbol="BTCUSDT", baseAsset="BTC", quoteAsset="USDT"),
        "BTCFDUSD": simple_spec(symbol="BTCFDUSD", baseAsset="BTC", quoteAsset="FDUSD"),
    }
    instruments = {s: Instrument.compile(spec) for s, spec in specs.items()}
    venue = Venue(instruments)
    venue.deposit("u", "USDT", "1000000")
    venue.deposit("u", "FDUSD", "1000000")
    risk = RiskEngine(RiskFile.model_validate({"account": {"max_position": {"BTC": "2"}}}),
                      instruments)  # fmt: skip
    gate = RiskGate(venue, risk)
    per_btc = 1_000  # lots of 0.001
    buy = NewOrder("u", BUY, LIMIT, 1_500, 3_000_000, GTC)
    assert isinstance(gate.submit("BTCUSDT", buy, 1), Ack)
    assert code(gate.submit("BTCFDUSD", buy._replace(quantity=per_btc), 1)) == -9106
    assert isinstance(gate.submit("BTCFDUSD", buy._replace(quantity=per_btc // 2), 1), Ack)
    assert risk.account("u").assets["BTC"] == [0, 2 * 10**8, 0]  # 2 BTC open to buy, in units
    assert risk.equity("u") == 0  # the FDUSD book is not in the valuation asset: not counted
    with pytest.raises(ValueError, match="no symbol is quoted in EUR"):
        RiskEngine(RiskFile(valuation_asset="EUR"), instruments).account("u")


def test_leases_follow_cancels_marks_and_fills_risk_did_not_place(
    instruments: dict[str, Instrument],
) -> None:
    cfg = config(
        max_gross_exposure="100000",
        max_daily_loss="1000",
        max_open_orders=50,
        order_rate=[{"interval": "10s", "limit": 50}, {"interval": "1d", "limit": 3}],
    )
    gate = gate_for(instruments, cfg)  # fmt: skip
    risk = gate.risk
    resting = gate.submit("BTCUSDT", limit(BUY, LOT, PRICE - 100), 1)
    assert isinstance(resting, Ack)
    lease = risk.account("u").books["BTCUSDT"].lease
    assert lease is not None and lease.reserved == LOT * (PRICE - 100) * 10
    gate.cancel("BTCUSDT", CancelOrder("u", resting.order_id), 2)
    assert lease.reserved == 0
    # a maker order placed on the venue directly still moves its account's position
    risk.account("m")
    gate.venue.submit("BTCUSDT", limit(SELL, LOT // 2, PRICE, account="m"), 3)
    assert isinstance(gate.submit("BTCUSDT", NewOrder("u", BUY, MARKET, LOT // 2), 3), Ack)
    assert risk.position("m", "BTCUSDT").lots == -LOT // 2
    assert lease.used == LOT // 2 * PRICE * 10
    risk.check("ETHUSDT", NewOrder("u", BUY, LIMIT, 1_000, 199_000, GTC), 4)  # an empty book
    risk.on_result("ETHUSDT", VenueError(-1, "x", Category.INTERNAL), (), 4)
    risk.check("BTCUSDT", NewOrder("w", BUY, LIMIT, 1_000, PRICE, GTC), 4)  # w: no position
    risk.on_result("BTCUSDT", VenueError(-1, "x", Category.INTERNAL), (), 4)
    risk.mark("BTCUSDT", PRICE - 300_000, 5)  # -10 %: 0.5 BTC loses 1500 USDT
    assert lease.used == LOT // 2 * (PRICE - 300_000) * 10
    assert risk.state("u") is TradingState.REDUCE_ONLY
    risk.mark("BTCUSDT", PRICE - 400_000, 6)  # no second transition
    assert [e.to_state for e in risk.events].count(TradingState.REDUCE_ONLY) == 1
    gate.reset("u", 7)
    # the daily bucket (3) is spent: the 10-second bucket gives its token back
    assert isinstance(gate.submit("BTCUSDT", limit(BUY, LOT // 10, 2_600_000 - 100), 8), Ack)
    ten_seconds = risk.account("u").buckets[0]
    before = ten_seconds.level
    refused = gate.submit("BTCUSDT", limit(BUY, LOT // 10, 2_600_000 - 100), 9)
    assert code(refused) == -1015 and "per 1d" in refused.msg  # type: ignore[union-attr]
    assert ten_seconds.level == min(50 * 10_000, before + 50)  # refilled 1 ms, nothing spent
    assert lease.reserved == LOT // 10 * (2_600_000 - 100) * 10  # only the resting order
    risk.set_state("u", TradingState.HALTED, 10, "operator")
    assert code(gate.submit("BTCUSDT", limit(BUY, LOT // 10, 2_600_000), 11)) == -9108


def test_a_partial_fill_keeps_the_reservation_of_what_is_left(
    instruments: dict[str, Instrument],
) -> None:
    gate = gate_for(instruments, config(max_gross_exposure="100000"))
    order = gate.submit("BTCUSDT", limit(BUY, LOT, PRICE - 100), 1)
    assert isinstance(order, Ack)
    lease = gate.risk.account("u").books["BTCUSDT"].lease
    assert lease is not None
    gate.submit("BTCUSDT", limit(SELL, LOT // 4, PRICE - 100, account="m", tif=IOC), 2)
    assert gate.risk.position("u", "BTCUSDT").lots == LOT // 4
    assert lease.reserved == (LOT - LOT // 4) * (PRICE - 100) * 10
    assert lease.used == LOT // 4 * (PRICE - 100) * 10
    gate.cancel("BTCUSDT", CancelOrder("u", order.order_id), 3)
    assert lease.reserved == 0 and gate.risk.open_orders("u") == 0
