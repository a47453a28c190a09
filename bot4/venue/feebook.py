"""Which commission each account pays on each symbol: VIP tiers, the BNB switch, daily re-tiering.

A `FeeBook` is shared by the engines of one venue, as the `Ledger` is. An engine asks it for
one `FeeRef` per account it sees. The ref holds that account's rates on the engine's symbol
and the quote volume the account traded there today. When the account's tier or BNB switch
changes, the book rewrites the account's refs in place, so resting orders pay the new rates
from their next fill on.

Without a `FeeSchedule`, every account pays the symbol's `makerCommission`/`takerCommission`
(symbols.toml), there are no tiers and there is no BNB payment. With a schedule:

* Tiers. Binance re-evaluates VIP levels once a day at 00:00 UTC. The first fill of a new UTC
  day runs `roll`. Each account's quote volume from the finished day, on every symbol, is
  converted to USD and added to a `VolumeTracker`. Then every account is re-tiered from its
  volume over the last `volume_window_days` complete days and its BNB balance (free + locked)
  at that moment. An account first seen later in the day is evaluated when first seen.
  `pin_level` fixes an account's level (an agreement, or a test).
* USD. A quote asset in `usd_assets` counts 1:1. Any other quote asset is priced by the last
  trade of ASSET against a USD asset on this venue, or by a price given with `set_price`.
  Volume in an asset with no price is not counted. USD volume is floored to the volume unit.
* BNB. An account pays in BNB only when all of these hold: it turned "pay fees with BNB" on
  (`set_pay_with_bnb`, off by default); the schedule and the symbol allow the discount; the
  BNB price in the trade's quote asset is known. That price is the fill's own price on a
  BNB/quote pair; otherwise the last trade of BNB/quote (or its reference price before any
  trade), the inverse of quote/BNB, a price
  given with `set_price`, or 1 when the quote is BNB. The BNB free balance counts after the
  fill is credited, so BNB bought by a fill can pay for it.

Refs of accounts that pay maker/taker only, never in BNB, are `simple`: the engine charges
them with integer arithmetic inline. Every other fill goes through `charge`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

from bot4.core.accounts import Balance, Ledger
from bot4.core.fees import (
    DAY_MS,
    FeeAsset,
    FeeSchedule,
    Rates,
    RateSet,
    VolumeTracker,
    bnb_price_units,
    trade_commission,
)
from bot4.core.instruments import Instrument
from bot4.core.money import to_units

PriceSource = Callable[[], Fraction | None]
"""Returns the last price of one pair (quote per base, as an exact fraction), or None."""

NEVER = 1 << 62
"""`next_roll` of a book without tiers: later than any time in ms."""


class FeeRef:
    """One account's commission on one symbol, read by the engine on every fill.

    `maker`/`taker` are (numerator, denominator) of the standard rate, used when `simple`.
    `rates[2 * is_maker + is_buyer]` are the full rates. `bnb` is the account's BNB balance
    when it pays in BNB on this symbol, else None. `volume` is the quote units traded today.
    """

    __slots__ = ("account", "bnb", "instrument", "level", "maker", "rates", "simple", "taker",
                 "volume")  # fmt: skip

    def __init__(self, account: str, instrument: Instrument) -> None:
        self.account = account
        self.instrument = instrument
        self.level = 0
        self.maker: tuple[int, int] = instrument.maker_rate
        self.taker: tuple[int, int] = instrument.taker_rate
        self.rates: tuple[Rates, ...] = ()
        self.simple = True
        self.bnb: Balance | None = None
        self.volume = 0


class FeeBook:
    """Per-account fee state of one venue: tiers, 30-day volume, the BNB switch, prices."""

    def __init__(self, schedule: FeeSchedule | None = None, ledger: Ledger | None = None) -> None:
        """`ledger` must be the one the engines trade on (BNB balances are read from it)."""
        self.schedule = schedule
        self.ledger = ledger if ledger is not None else Ledger()
        cfg = schedule.config if schedule is not None else None
        self.usd_assets = frozenset(cfg.usd_assets if cfg is not None else ())
        self.volumes = VolumeTracker(cfg.volume_window_days if cfg is not None else 30)
        self.day: int | None = None  # the UTC day that the refs' `volume` belongs to
        self.next_roll = 0 if schedule is not None else NEVER
        self._refs: dict[str, list[FeeRef]] = {}
        self._levels: dict[str, int] = {}
        self._pinned: dict[str, int] = {}
        self._pay_bnb: set[str] = set()
        self._pairs: dict[tuple[str, str], PriceSource] = {}
        self._prices: dict[tuple[str, str], Fraction] = {}

    # ------------------------------------------------------------------ wiring

    def attach(self, instrument: Instrument, last_price: PriceSource) -> None:
        """Register a symbol's last-price source (for BNB and USD conversion)."""
        self._pairs[(instrument.base, instrument.quote)] = last_price

    def set_price(self, base: str, quote: str, price: Decimal) -> None:
        """A price of `base` in `quote` for a pair not traded here (e.g. pushed from elsewhere)."""
        self._prices[(base, quote)] = price_fraction(price)

    def price(self, base: str, quote: str) -> Fraction | None:
        """Quote per one `base`: a traded pair's last price, a set price, or an inverse one."""
        if base == quote:
            return Fraction(1)
        for key, invert in (((base, quote), False), ((quote, base), True)):
            source = self._pairs.get(key)
            value = source() if source is not None else None
            if value is None:
                value = self._prices.get(key)
            if value is not None:
                return 1 / value if invert else value
        return None

    def ref(self, account: str, instrument: Instrument) -> FeeRef:
        """A new ref for `account` on `instrument`, kept up to date by this book."""
        ref = FeeRef(account, instrument)
        self._refs.setdefault(account, []).append(ref)
        if self.schedule is not None:
            level = self._levels.get(account)
            if level is None:
                level = self._levels[account] = self._level_for(account)
            self._apply(ref, level)
        return ref

    # ------------------------------------------------------------------ account settings

    def set_pay_with_bnb(self, account: str, enabled: bool) -> None:
        """The account's "pay fees with BNB" switch (off by default)."""
        if enabled:
            self._pay_bnb.add(account)
        else:
            self._pay_bnb.discard(account)
        self._refresh(account)

    def pays_with_bnb(self, account: str) -> bool:
        return account in self._pay_bnb

    def pin_level(self, account: str, level: int | None) -> None:
        """Fix the account's VIP level (None: back to volume and BNB balance)."""
        check_level(self.schedule, level)
        if level is None:
            self._pinned.pop(account, None)
        else:
            self._pinned[account] = level
        self._levels[account] = self._level_for(account)
        self._refresh(account)

    def level(self, account: str) -> int:
        """The account's current VIP level (0 without a schedule)."""
        if self.schedule is None:
            return 0
        level = self._levels.get(account)
        return self._level_for(account) if level is None else level

    def record_volume(self, account: str, ts_ms: int, usd: Decimal) -> None:
        """Add traded USD volume from outside this venue (e.g. history) to the 30-day window.

        It counts from the next re-tiering (`roll`), as on the venue.
        """
        self.volumes.record(account, ts_ms, volume_units(self.schedule, usd))

    def volume(self, account: str, now_ms: int) -> int:
        """The account's USD volume (in volume units) over the window ending at `now_ms`."""
        return self.volumes.volume(account, now_ms)

    # ------------------------------------------------------------------ days

    def roll(self, now: int) -> None:
        """Close the finished UTC day's volume and re-tier every account (first fill of a day)."""
        day = now // DAY_MS
        if self.day is not None and day <= self.day:
            return
        if self.day is not None:
            start = self.day * DAY_MS
            for account, refs in self._refs.items():
                usd = sum((self._usd(ref) for ref in refs), Fraction(0))
                for ref in refs:
                    ref.volume = 0
                units = int(usd / Fraction(self.schedule.volume_unit)) if self.schedule else 0
                if units:
                    self.volumes.record(account, start, units)
        self.day = day
        self.next_roll = (day + 1) * DAY_MS
        for account in sorted(self.ledger.known | self._refs.keys() | self._pinned.keys()):
            level = self._level_for(account, now)
            if self._levels.get(account) != level:
                self._levels[account] = level
                self._refresh(account)

    def _usd(self, ref: FeeRef) -> Fraction:
        if not ref.volume:
            return Fraction(0)
        quote = ref.instrument.quote
        amount = ref.volume * Fraction(ref.instrument.quote_unit)
        if quote in self.usd_assets:
            return amount
        for usd in sorted(self.usd_assets):
            price = self.price(quote, usd)
            if price is not None:
                return amount * price
        return Fraction(0)

    def _level_for(self, account: str, now: int | None = None) -> int:
        assert self.schedule is not None
        pinned = self._pinned.get(account)
        if pinned is not None:
            return pinned
        if now is None:
            now = self.day * DAY_MS if self.day is not None else 0
        bnb = self.ledger.balance(account, self.schedule.bnb_asset)
        volume = self.volumes.volume(account, now)
        return self.schedule.tier_for(volume, bnb.free + bnb.locked).level

    def _refresh(self, account: str) -> None:
        if self.schedule is None:
            return
        level = self._levels.get(account)
        if level is None:
            level = self._levels[account] = self._level_for(account)
        for ref in self._refs.get(account, ()):
            self._apply(ref, level)

    def _apply(self, ref: FeeRef, level: int) -> None:
        schedule = self.schedule
        assert schedule is not None
        symbol, account = ref.instrument.symbol, ref.account
        bnb_on = account in self._pay_bnb
        rates = tuple(
            schedule.rates(level, symbol, is_maker, is_buyer, bnb_enabled=bnb_on)
            for is_maker in (False, True)
            for is_buyer in (False, True)
        )
        ref.level = level
        ref.rates = rates
        pays_bnb = rates[0].discount is not None
        ref.bnb = self.ledger.balance(account, schedule.bnb_asset) if pays_bnb else None
        taker_sell, taker_buy, maker_sell, maker_buy = rates
        ref.simple = (
            not pays_bnb
            and not any(r.tax or r.special for r in rates)
            and taker_sell.standard == taker_buy.standard
            and maker_sell.standard == maker_buy.standard
        )
        ref.maker = maker_sell.standard.as_integer_ratio()
        ref.taker = taker_sell.standard.as_integer_ratio()

    # ------------------------------------------------------------------ charging

    def charge(
        self,
        ref: FeeRef,
        is_maker: bool,
        is_buyer: bool,
        base_units: int,
        quote_units: int,
        received: Balance,
    ) -> tuple[int, str]:
        """Credit one fill's received asset (base to a buyer, quote to a seller) to `received`
        and take its commission. Returns (commission units, commission asset)."""
        inst = ref.instrument
        rates = ref.rates[2 * is_maker + is_buyer]
        received.free += base_units if is_buyer else quote_units
        bnb_price = None
        bnb_balance = 0
        if ref.bnb is not None and self.schedule is not None:
            bnb = self.schedule.bnb_asset
            # on a BNB/quote pair the fill's own price converts, else the book's last price
            price = (
                quote_units * Fraction(inst.quote_unit) / (base_units * Fraction(inst.base_unit))
                if inst.base == bnb
                else self.price(bnb, inst.quote)
            )
            if price is not None:
                bnb_price = bnb_price_units(price, inst.quote_unit, self.schedule.bnb_unit)
                bnb_balance = ref.bnb.free
        fee = trade_commission(
            rates, base_units, quote_units, bnb_price_quote=bnb_price, bnb_balance_units=bnb_balance
        )
        if fee.asset is FeeAsset.BNB:
            assert ref.bnb is not None and self.schedule is not None
            ref.bnb.free -= fee.units
            asset = self.schedule.bnb_asset
        else:
            received.free -= fee.units
            asset = inst.base if is_buyer else inst.quote
        fees = self.ledger.fees
        fees[asset] = fees.get(asset, 0) + fee.units
        return fee.units, asset

    # ------------------------------------------------------------------ reporting

    def commission_rates(self, account: str, instrument: Instrument) -> dict[str, Any]:
        """`GET /api/v3/account/commission` for one account and symbol (rates as Decimals)."""
        return commission_rates(
            self.schedule, instrument, self.level(account), account in self._pay_bnb
        )

    def digest(self) -> str:
        """A hash of the tier state: day, levels, switches and today's volume per ref (a book
        without a schedule has no tier state: its refs, all level 0 with no volume, which
        only say who traded where, are left out)."""
        refs = [
            (account, [(r.instrument.symbol, r.level, r.volume) for r in self._refs[account]])
            for account in (sorted(self._refs) if self.schedule is not None else ())
        ]
        return fee_digest(
            self.day, sorted(self._levels.items()), sorted(self._pinned.items()),
            sorted(self._pay_bnb), refs,
        )  # fmt: skip


# ---------------------------------------------------------------------- shared by both books


def check_level(schedule: FeeSchedule | None, level: int | None) -> None:
    """`pin_level`'s checks: the venue has a schedule and `level` is one of its tiers."""
    if schedule is None:
        raise ValueError("this venue has no fee schedule, so it has no VIP levels")
    if level is not None and all(t.level != level for t in schedule.tiers):
        raise ValueError(f"no fee tier with level {level}")


def volume_units(schedule: FeeSchedule | None, usd: Decimal) -> int:
    """`record_volume`'s USD amount in the schedule's volume units, checked."""
    if schedule is None:
        raise ValueError("this venue has no fee schedule, so volume is not tracked")
    units = to_units(usd, schedule.volume_unit)
    if units is None or units < 0:
        raise ValueError(f"volume {usd} is negative or finer than the volume unit")
    return units


def price_fraction(price: Decimal) -> Fraction:
    """`set_price`'s price as an exact fraction, checked."""
    if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
        raise ValueError("a price is a positive, finite Decimal")
    return Fraction(price)


def commission_rates(
    schedule: FeeSchedule | None, instrument: Instrument, level: int, pays_bnb: bool
) -> dict[str, Any]:
    """`GET /api/v3/account/commission` of an account at `level` on one symbol."""
    zero = RateSet()
    if schedule is None:
        (mn, md), (tn, td) = instrument.maker_rate, instrument.taker_rate
        std = RateSet(maker=Decimal(mn) / Decimal(md), taker=Decimal(tn) / Decimal(td))
        return _commission_shape(instrument.symbol, (std, zero, zero), False, False, "BNB",
                                 Decimal(0))  # fmt: skip
    std, tax, spc = schedule.rate_sets(level, instrument.symbol)
    discount = schedule.config.discount
    return _commission_shape(
        instrument.symbol,
        (std, tax, spc),
        pays_bnb,
        schedule.discount_for_symbol(instrument.symbol),
        discount.asset,
        discount.discount,
    )


def fee_digest(
    day: int | None,
    levels: list[tuple[str, int]],
    pinned: list[tuple[str, int]],
    pay_bnb: list[str],
    refs: list[tuple[str, list[tuple[str, int, int]]]],
) -> str:
    """The fee state's hash from its parts, names sorted: each account's refs as (symbol,
    level, today's volume) in the order they were made."""
    h = hashlib.sha256()
    h.update(f"{day}|{levels}|{pinned}|{pay_bnb}\n".encode())
    for account, rows in refs:
        for symbol, level, volume in rows:
            h.update(f"{account}|{symbol}|{level}|{volume}\n".encode())
    return h.hexdigest()


def _commission_shape(
    symbol: str,
    kinds: tuple[RateSet, RateSet, RateSet],
    for_account: bool,
    for_symbol: bool,
    asset: str,
    discount: Decimal,
) -> dict[str, Any]:
    names = ("standardCommission", "taxCommission", "specialCommission")
    out: dict[str, Any] = {"symbol": symbol}
    for name, kind in zip(names, kinds, strict=True):
        out[name] = {
            "maker": kind.maker,
            "taker": kind.taker,
            "buyer": kind.buyer,
            "seller": kind.seller,
        }
    out["discount"] = {
        "enabledForAccount": for_account,
        "enabledForSymbol": for_symbol,
        "discountAsset": asset,
        "discount": discount,
    }
    return out
