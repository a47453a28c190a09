"""The native fee book against the Python one (bot4/venue/feebook.py, the specification).

Two venues, one per backend, get the same seeded streams on four symbols (a USDT pair, the
BNB/USDT pair, a BTC-quoted pair whose volume counts at BTC's USD price, and a BNB-quoted
pair), under fee schedules with VIP tiers, the BNB discount in both modes, tax and special
commission and a per-symbol override. Between orders the streams cross UTC days (the tiers
are re-evaluated), switch BNB payment on and off, pin levels, record outside volume, set
prices and fund BNB. After EVERY step both venues must answer the same, byte for byte, and
their state digests (books, balances, collected fees, tiers, today's volumes) must agree.
"""

from __future__ import annotations

import random
import zlib
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.fees import DAY_MS, FeeSchedule, FeesFile, load_fees
from bot4.core.instruments import Instrument
from bot4.core.orders import CancelOrder, NewOrder
from bot4.venue.exchange import Venue
from bot4.venue.nativeledger import NativeFeeBook
from tests.conftest import ROOT, simple_spec
from tests.native.test_engine import _log

T0 = 20_000 * DAY_MS + 5_000
ACCOUNTS = ("a", "b", "c", "d")

# (symbol, base, quote, mid in ticks, band in ticks); tick 0.01, lot 0.001
SYMBOLS = (
    ("BTCUSDT", "BTC", "USDT", 30_000, 40),
    ("BNBUSDT", "BNB", "USDT", 300, 6),
    ("ETHBTC", "ETH", "BTC", 50, 3),
    ("SOLBNB", "SOL", "BNB", 200, 5),
)
INSTRUMENTS = {
    name: Instrument.compile(simple_spec(symbol=name, baseAsset=base, quoteAsset=quote))
    for name, base, quote, _, _ in SYMBOLS
}


def _schedule(kind: str, rule: str) -> FeeSchedule:
    if kind == "file":
        return load_fees(ROOT / "configs" / "fees.toml")
    return FeeSchedule(
        FeesFile.model_validate(
            {
                "tier_rule": rule,
                "tiers": [
                    {"level": 0, "min_volume_usd": "0", "maker": "0.001", "taker": "0.001"},
                    {"level": 1, "min_volume_usd": "50", "min_bnb_balance": "0.5",
                     "maker": "0.0008", "taker": "0.0009"},
                    {"level": 2, "min_volume_usd": "400", "maker": "0.0002", "taker": "0.0004"},
                ],
                "standard": {"buyer": "0.0001"},
                "tax": {"taker": "0.0002", "seller": "0.00011"} if kind == "tax" else {},
                "special": {"maker": "0.0003"} if kind == "tax" else {},
                "discount": {"discount": "0.25", "mode": "multiply_by" if kind == "tax"
                             else "reduce_by"},
                "symbols": [{"symbol": "SOLBNB", "discount_enabled": False}],
            }
        )
    )  # fmt: skip


class Venues:
    """A Python venue and a native one side by side, compared after every step."""

    def __init__(self, schedule: FeeSchedule) -> None:
        self.logs: tuple[list[Any], list[Any]] = ([], [])
        self.venues = tuple(
            Venue(
                INSTRUMENTS,
                reference_prices={"BTCUSDT": 30_000, "ETHBTC": 50},
                fees=schedule,
                on_events=log.extend,
                backend=backend,
            )
            for backend, log in zip(("python", "native"), self.logs, strict=True)
        )
        assert isinstance(self.venues[1].fees, NativeFeeBook)
        self.kinds: Counter[str] = Counter()

    def both(self, call: str, *args: Any) -> None:
        answers = [getattr(venue, call)(*args) for venue in self.venues]
        assert _log(answers[0]) == _log(answers[1]), (call, args)
        self.check(call)

    def fees(self, call: str, *args: Any) -> None:
        answers = []
        for venue in self.venues:
            try:
                answers.append(repr(getattr(venue.fees, call)(*args)))
            except ValueError as exc:
                answers.append(f"ValueError: {exc}")
        assert answers[0] == answers[1], (call, args)
        self.check(call)

    def check(self, what: str) -> None:
        py, native = self.venues
        assert py.state_digest() == native.state_digest(), what
        assert py.ledger.digest() == native.ledger.digest(), what
        self.kinds[what] += 1

    def final(self) -> None:
        py, native = self.venues
        assert [_log(r) for r in self.logs[0]] == [_log(r) for r in self.logs[1]]
        for account in ACCOUNTS:
            assert py.fees.level(account) == native.fees.level(account)
            for inst in INSTRUMENTS.values():
                assert py.fees.commission_rates(account, inst) == native.fees.commission_rates(
                    account, inst
                )
        for base, quote in (("BNB", "USDT"), ("BNB", "BTC"), ("USDT", "BNB"), ("ETH", "SOL")):
            assert py.fees.price(base, quote) == native.fees.price(base, quote)
        assert py.fees.next_roll == native.fees.next_roll


def run(seed: int, n: int, kind: str, rule: str) -> Venues:
    rng = random.Random(seed)
    pair = Venues(_schedule(kind, rule))
    levels = [t.level for t in pair.venues[0].fees.schedule.tiers]  # type: ignore[union-attr]
    for account in ACCOUNTS:
        for asset, amount in (
            ("BTC", "50"),
            ("USDT", "5000000"),
            ("ETH", "500"),
            ("SOL", "500"),
            ("BNB", rng.choice(["0", "0.01", "0.6", "50"])),
        ):
            pair.both("deposit", account, asset, amount)
    now = T0
    for _ in range(n):
        roll = rng.random()
        if roll < 0.06:
            now += rng.choice([DAY_MS, DAY_MS // 3, 2 * DAY_MS + 7, 31 * DAY_MS])
            continue
        account = rng.choice(ACCOUNTS)
        if roll < 0.12:
            pair.fees("set_pay_with_bnb", account, rng.random() < 0.7)
        elif roll < 0.14:
            pair.fees("pin_level", account, rng.choice([*levels, None, None, 99]))
        elif roll < 0.16:
            usd = Decimal(rng.choice(["10", "75", "500", "0.000000001", "-1"]))
            pair.fees("record_volume", account, now - DAY_MS, usd)
        elif roll < 0.17:
            base, quote = rng.choice([("BNB", "USDT"), ("BNB", "BTC"), ("BTC", "USDT")])
            pair.fees("set_price", base, quote, Decimal(rng.choice(["250", "0.01", "0", "1e-3"])))
        elif roll < 0.19:
            pair.both("deposit", account, "BNB", rng.choice(["0.1", "1"]))
        elif roll < 0.22:
            symbol = rng.choice(SYMBOLS)[0]
            order_id = rng.randint(1, 40)
            pair.both("cancel", symbol, CancelOrder(account, order_id=order_id), now)
        else:
            symbol, _, _, mid, band = rng.choice(SYMBOLS)
            side = rng.choice([Side.BUY, Side.SELL])
            qty = rng.randint(1, 400)
            if rng.random() < 0.25:
                req = NewOrder(account, side, OrderType.MARKET, qty)
            else:
                tif = rng.choice([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC])
                price = mid + rng.randint(-band, band)
                req = NewOrder(account, side, OrderType.LIMIT, qty, price, tif)
            pair.both("submit", symbol, req, now)
        now += rng.randint(0, 60_000)
    pair.final()
    return pair


@pytest.mark.parametrize("kind", ["file", "tiers", "tax"])
@pytest.mark.parametrize("rule", ["volume_and_bnb", "volume_or_bnb"])
def test_seeded_streams_agree_with_the_python_fee_book(kind: str, rule: str) -> None:
    pair = run(seed=zlib.crc32(f"{kind}/{rule}".encode()), n=1_500, kind=kind, rule=rule)
    # the streams reach what they are for: days roll, BNB is switched, orders trade
    assert pair.kinds["submit"] > 1_000 and pair.kinds["set_pay_with_bnb"] > 50
    py = pair.venues[0]
    assert py.fees.day is not None and py.fees.day > T0 // DAY_MS
    paid = {r.commission_asset for r in pair.logs[0] if r.trade_id >= 0}
    assert {"BNB", "BTC", "USDT"} <= paid, paid


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    kind=st.sampled_from(["file", "tiers", "tax"]),
    rule=st.sampled_from(["volume_and_bnb", "volume_or_bnb"]),
)
def test_drawn_streams_agree_with_the_python_fee_book(
    seed: int, n: int, kind: str, rule: str
) -> None:
    run(seed, n, kind, rule)


def test_a_native_engine_needs_the_native_fee_book_for_a_schedule() -> None:
    from bot4.venue.feebook import FeeBook
    from bot4.venue.native import NativeEngine

    with pytest.raises(TypeError, match="NativeFeeBook"):
        NativeEngine(INSTRUMENTS["BTCUSDT"], fees=FeeBook(_schedule("tiers", "volume_and_bnb")))
    book = NativeFeeBook(_schedule("tiers", "volume_and_bnb"))
    with pytest.raises(ValueError, match="already has a fee schedule"):
        NativeFeeBook(_schedule("tax", "volume_and_bnb"), book.ledger)
    with pytest.raises(ValueError, match="ledger"):
        NativeEngine(INSTRUMENTS["BTCUSDT"], fees=book)
