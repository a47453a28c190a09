"""Spot commission: VIP tiers, the BNB discount, per-symbol promotions, tax and special rates.

Formula (binance_spot.md 9.1, the Commission FAQ). For each of standard, tax and special:

    part = received x (role rate + side rate)

where role is maker or taker and side is buyer or seller. `received` is the base quantity
for a BUY and the quote notional (price x qty) for a SELL. By default the commission is
charged in that received asset and deducted from it.

Rounding. This module has ONE rule: each part is computed exactly (a `Fraction` of the
charged asset's smallest unit), the parts are added, and the sum is rounded UP once to a
whole unit (ceil). That is the engine's current rule. A non-zero rate on a non-zero amount
therefore always costs at least one unit. The FAQ does not state a rule. Its USDT tax figure
0.04022988 (exact 0.040229875) is what ceil or half-up gives at 8 dp; floor would give
0.04022987.

BNB path. The discount must be enabled for the schedule, for the symbol and for the account,
and the caller must give a BNB price. Then standard x discount factor, tax and special are
each converted to BNB units exactly, added, and rounded up once. Only the standard part is
discounted. If the account's BNB balance is below that amount, the FULL commission (standard
not discounted, plus tax and special) is charged in the received asset instead.

Money never passes through float. Rates are `fractions.Fraction`, and amounts are `int` units.
"""

from __future__ import annotations

import tomllib
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from bot4.core.filters import ExactDecimal
from bot4.core.money import to_units

DAY_MS = 86_400_000
"""Milliseconds in one UTC day. Days are counted as `ts_ms // DAY_MS`, from the Unix epoch."""


def _no_float(value: object) -> object:
    if isinstance(value, float):
        raise ValueError(f'write rates as strings (got the float {value!r}), e.g. "0.001"')
    return value


FeeRate = Annotated[Decimal, BeforeValidator(_no_float), Field(ge=0, lt=1, allow_inf_nan=False)]
"""A commission rate: a decimal string in [0, 1), e.g. "0.001" for 0.1 %."""
DiscountRate = Annotated[
    Decimal, BeforeValidator(_no_float), Field(ge=0, le=1, allow_inf_nan=False)
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RateSet(_Model):
    """One commission kind's four rates (as in `account/commission`). Any rate left out is 0."""

    maker: FeeRate = Decimal(0)
    taker: FeeRate = Decimal(0)
    buyer: FeeRate = Decimal(0)
    seller: FeeRate = Decimal(0)


class SideRates(_Model):
    """Standard commission's buyer/seller add-ons. The tier supplies maker and taker."""

    buyer: FeeRate = Decimal(0)
    seller: FeeRate = Decimal(0)


class TierSpec(_Model):
    """One VIP level (binance_spot.md 9.2). `min_bnb_balance` is in BNB; leave it out if unused."""

    level: int = Field(ge=0)
    name: str = ""
    min_volume_usd: ExactDecimal
    min_bnb_balance: ExactDecimal | None = None
    maker: FeeRate
    taker: FeeRate


class DiscountSpec(_Model):
    """The BNB discount on the standard commission.

    `mode` says how to read `discount` (d):
      * "reduce_by": pay standard x (1 - d). With d = 0.25 that is 25 % off. This is the
        default. It matches the REST docs ("standard commission is reduced by this rate"),
        the VIP table's "with BNB" columns (0.1000 % -> 0.0750 %) and real behaviour.
      * "multiply_by": pay standard x d. This is the Commission FAQ's worked example read
        literally (x 0.25, i.e. 75 % off). It is kept to reproduce the FAQ's figures.
    """

    enabled: bool = True
    asset: str = Field(default="BNB", pattern=r"^[A-Z0-9]{1,20}$")
    precision: int = Field(default=8, ge=0, le=18)
    discount: DiscountRate = Decimal("0.25")
    mode: Literal["reduce_by", "multiply_by"] = "reduce_by"

    @property
    def factor(self) -> Fraction:
        """What the standard commission is multiplied by when it is paid in BNB."""
        d = Fraction(self.discount)
        return 1 - d if self.mode == "reduce_by" else d


class SymbolFees(_Model):
    """Per-symbol rates (zero-fee promotions etc.). Any kind given replaces the default for that
    symbol at every tier. A `standard` here replaces both the tier's maker/taker and the
    buyer/seller add-ons."""

    symbol: str = Field(pattern=r"^[A-Z0-9_.-]{1,20}$")
    standard: RateSet | None = None
    tax: RateSet | None = None
    special: RateSet | None = None
    discount_enabled: bool = True


class FeesFile(_Model):
    """configs/fees.toml. Decimals are strings; an error names the bad field."""

    volume_precision: int = Field(default=8, ge=0, le=18)
    volume_window_days: int = Field(default=30, ge=1, le=365)
    usd_assets: tuple[Annotated[str, Field(pattern=r"^[A-Z0-9]{1,20}$")], ...] = (
        "USDT",
        "USDC",
        "FDUSD",
        "TUSD",
    )
    tier_rule: Literal["volume_and_bnb", "volume_or_bnb"] = "volume_and_bnb"
    tiers: tuple[TierSpec, ...] = Field(min_length=1)
    standard: SideRates = SideRates()
    tax: RateSet = RateSet()
    special: RateSet = RateSet()
    discount: DiscountSpec = DiscountSpec()
    symbols: tuple[SymbolFees, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> FeesFile:
        first = self.tiers[0]
        if first.min_volume_usd != 0 or (first.min_bnb_balance or 0) != 0:
            raise ValueError(
                "tiers: the first tier must have min_volume_usd 0 and no min_bnb_balance, "
                "so that every account has a tier"
            )
        volume_unit = Decimal(1).scaleb(-self.volume_precision)
        bnb_unit = Decimal(1).scaleb(-self.discount.precision)
        for i, (lo, hi) in enumerate(zip(self.tiers, self.tiers[1:], strict=False), start=1):
            if hi.level <= lo.level:
                raise ValueError(
                    f"tiers.{i}.level: levels must increase ({lo.level} then {hi.level})"
                )
            if hi.min_volume_usd < lo.min_volume_usd:
                raise ValueError(f"tiers.{i}.min_volume_usd must not be below the previous tier's")
            if (
                hi.min_bnb_balance is not None
                and lo.min_bnb_balance is not None
                and hi.min_bnb_balance < lo.min_bnb_balance
            ):
                raise ValueError(f"tiers.{i}.min_bnb_balance must not be below the previous tier's")
        for i, tier in enumerate(self.tiers):
            if to_units(tier.min_volume_usd, volume_unit) is None:
                raise ValueError(
                    f"tiers.{i}.min_volume_usd {tier.min_volume_usd} is finer than "
                    f"volume_precision {self.volume_precision}"
                )
            if (
                tier.min_bnb_balance is not None
                and to_units(tier.min_bnb_balance, bnb_unit) is None
            ):
                raise ValueError(
                    f"tiers.{i}.min_bnb_balance {tier.min_bnb_balance} is finer than "
                    f"discount.precision {self.discount.precision}"
                )
        names = [s.symbol for s in self.symbols]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"symbols listed twice: {', '.join(dupes)}")
        # The three kinds together must never take more than what is received.
        for i, tier in enumerate(self.tiers):
            for where, sym in [
                ("", None),
                *((f" with symbols.{j}", s) for j, s in enumerate(self.symbols)),
            ]:
                std, tax, spc = _kinds(self, tier, sym)
                worst = max(_sum(std, tax, spc, m, b) for m in (True, False) for b in (True, False))
                if worst > 1:
                    raise ValueError(
                        f"tiers.{i}{where}: standard + tax + special rates add up to "
                        f"{worst} > 1 of the received amount"
                    )
        return self


def _kinds(cfg: FeesFile, tier: TierSpec, sym: SymbolFees | None) -> tuple[RateSet, ...]:
    std = RateSet(
        maker=tier.maker, taker=tier.taker, buyer=cfg.standard.buyer, seller=cfg.standard.seller
    )
    if sym is None:
        return std, cfg.tax, cfg.special
    return (sym.standard or std, sym.tax or cfg.tax, sym.special or cfg.special)


def _pick(r: RateSet, is_maker: bool, is_buyer: bool) -> Fraction:
    role = r.maker if is_maker else r.taker
    side = r.buyer if is_buyer else r.seller
    return Fraction(role) + Fraction(side)


def _sum(std: RateSet, tax: RateSet, spc: RateSet, is_maker: bool, is_buyer: bool) -> Fraction:
    return sum((_pick(k, is_maker, is_buyer) for k in (std, tax, spc)), Fraction(0))


@dataclass(frozen=True, slots=True)
class FeeTier:
    """A compiled VIP level: volume in `volume_precision` units, BNB in BNB units."""

    level: int
    name: str
    min_volume_units: int
    min_bnb_units: int | None
    maker: Fraction
    taker: Fraction


@dataclass(frozen=True, slots=True)
class Rates:
    """One trade's effective rates (role + side already added), as exact fractions.

    `discount` is the factor on `standard` when paid in BNB, or None if BNB cannot be used.
    """

    standard: Fraction
    tax: Fraction
    special: Fraction
    discount: Fraction | None
    is_maker: bool
    is_buyer: bool
    total: Fraction = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", self.standard + self.tax + self.special)


class FeeSchedule:
    """Compiled fee config: tier lookup and per-trade rates, all exact."""

    __slots__ = ("_table", "bnb_asset", "bnb_unit", "config", "tier_rule", "tiers", "volume_unit")

    def __init__(self, config: FeesFile) -> None:
        """Compile a validated config. Every (symbol, tier, role, side) rate is computed here."""
        self.config = config
        self.tier_rule = config.tier_rule
        self.volume_unit = Decimal(1).scaleb(-config.volume_precision)
        self.bnb_asset = config.discount.asset
        self.bnb_unit = Decimal(1).scaleb(-config.discount.precision)
        tiers = []
        for t in config.tiers:
            vol = to_units(t.min_volume_usd, self.volume_unit)
            bnb = None if t.min_bnb_balance is None else to_units(t.min_bnb_balance, self.bnb_unit)
            assert vol is not None and (t.min_bnb_balance is None or bnb is not None)
            tiers.append(FeeTier(t.level, t.name, vol, bnb, Fraction(t.maker), Fraction(t.taker)))
        self.tiers: tuple[FeeTier, ...] = tuple(tiers)
        factor = config.discount.factor
        self._table: dict[tuple[str | None, int], tuple[Rates, ...]] = {}
        for sym in (None, *config.symbols):
            on = config.discount.enabled and (sym is None or sym.discount_enabled)
            for t in config.tiers:
                kinds = _kinds(config, t, sym)
                row = []
                for bnb_ok in (False, True):
                    for is_maker in (False, True):
                        for is_buyer in (False, True):
                            std, tax, spc = (_pick(k, is_maker, is_buyer) for k in kinds)
                            disc = factor if (on and bnb_ok) else None
                            row.append(Rates(std, tax, spc, disc, is_maker, is_buyer))
                self._table[(None if sym is None else sym.symbol, t.level)] = tuple(row)

    @classmethod
    def compile(cls, config: FeesFile) -> FeeSchedule:
        """Same as `FeeSchedule(config)`."""
        return cls(config)

    def tier_for(self, volume_30d_usd_units: int, bnb_balance_units: int = 0) -> FeeTier:
        """The highest tier the account qualifies for. Both thresholds count when reached (>=).

        "volume_and_bnb" (default; Binance's 2021-12 VIP terms) needs the volume AND the BNB
        balance, where the tier has a BNB threshold. "volume_or_bnb" needs either one.
        """
        for tier in reversed(self.tiers):
            vol_ok = volume_30d_usd_units >= tier.min_volume_units
            if tier.min_bnb_units is None:
                ok = vol_ok
            elif self.tier_rule == "volume_and_bnb":
                ok = vol_ok and bnb_balance_units >= tier.min_bnb_units
            else:
                ok = vol_ok or bnb_balance_units >= tier.min_bnb_units
            if ok:
                return tier
        return self.tiers[0]  # pragma: no cover - the first tier has no thresholds

    def rate_sets(self, level: int, symbol: str) -> tuple[RateSet, RateSet, RateSet]:
        """(standard, tax, special) for one tier and symbol, each rate separate, as
        `account/commission` reports them. An unknown tier level raises KeyError."""
        tier = next((t for t in self.config.tiers if t.level == level), None)
        if tier is None:
            raise KeyError(f"no fee tier with level {level}")
        sym = next((s for s in self.config.symbols if s.symbol == symbol), None)
        std, tax, spc = _kinds(self.config, tier, sym)
        return std, tax, spc

    def discount_for_symbol(self, symbol: str) -> bool:
        """Whether commission on `symbol` may be paid in BNB at a discount."""
        if not self.config.discount.enabled:
            return False
        sym = next((s for s in self.config.symbols if s.symbol == symbol), None)
        return sym is None or sym.discount_enabled

    def rows(self) -> list[tuple[tuple[str | None, int], tuple[Rates, ...]]]:
        """Every compiled row: ((symbol, or None for the defaults; level), the eight rates
        at 4 * bnb_enabled + 2 * is_maker + is_buyer), as `rates` reads them."""
        return list(self._table.items())

    def rates(
        self,
        account_tier: FeeTier | int,
        symbol: str,
        is_maker: bool,
        is_buyer: bool,
        *,
        bnb_enabled: bool = True,
    ) -> Rates:
        """Exact rates for one trade. `bnb_enabled` is the account's "pay fees with BNB" switch.

        A symbol listed in `symbols` uses its own rates; any other symbol uses the defaults.
        An unknown tier level raises KeyError.
        """
        level = account_tier if isinstance(account_tier, int) else account_tier.level
        row = self._table.get((symbol, level)) or self._table.get((None, level))
        if row is None:
            raise KeyError(f"no fee tier with level {level}")
        return row[4 * bnb_enabled + 2 * is_maker + is_buyer]


def load_fees(path: str | Path) -> FeeSchedule:
    """Load, validate and compile a fees TOML file. pydantic's error names the bad field."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return FeeSchedule(FeesFile.model_validate(data))


def bnb_price_units(
    price_per_bnb: Decimal | Fraction | int, asset_unit: Decimal, bnb_unit: Decimal
) -> Fraction:
    """Units of an asset worth one BNB unit. 260 USDT per BNB, both at 1e-8, gives 260."""
    if isinstance(price_per_bnb, float | bool) or not isinstance(
        price_per_bnb, Decimal | Fraction | int
    ):
        raise TypeError("price_per_bnb must be a Decimal, Fraction or int, never a float")
    price = Fraction(price_per_bnb)
    if price <= 0:
        raise ValueError("price_per_bnb must be positive")
    return price * Fraction(bnb_unit) / Fraction(asset_unit)


def ceil_fraction(value: Fraction) -> int:
    """The smallest whole number that is at least `value` (the module's one rounding rule)."""
    return -((-value.numerator) // value.denominator)


@dataclass(frozen=True, slots=True)
class Commission:
    """A commission in whole units of the charged asset: BNB if `in_bnb`, else the received one.

    `standard`, `tax` and `special` are the exact parts before rounding, in the same units.
    The standard part is already discounted when `in_bnb`. `units == ceil(exact)`.
    """

    units: int
    in_bnb: bool
    standard: Fraction
    tax: Fraction
    special: Fraction

    @property
    def exact(self) -> Fraction:
        """The unrounded total."""
        return self.standard + self.tax + self.special


def commission(
    received_units: int,
    rates: Rates,
    *,
    bnb_price: Fraction | None = None,
    bnb_balance_units: int = 0,
) -> Commission:
    """The commission on `received_units` of the received asset.

    `bnb_price` is received-asset units per BNB unit (see `bnb_price_units`). If it is given,
    `rates.discount` is not None and `bnb_balance_units` covers the rounded BNB amount, the
    commission is charged in BNB. Otherwise the full commission is charged in the received
    asset. Either way the exact sum is rounded up once. With `rates.total <= 1` (the config
    validator checks this), a received-asset commission is never more than `received_units`.
    """
    if received_units < 0:
        raise ValueError("received_units must not be negative")
    if bnb_price is not None and rates.discount is not None:
        if bnb_price <= 0:
            raise ValueError("bnb_price must be positive")
        std = received_units * rates.standard * rates.discount / bnb_price
        tax = received_units * rates.tax / bnb_price
        spc = received_units * rates.special / bnb_price
        units = ceil_fraction(std + tax + spc)
        if units <= bnb_balance_units:
            return Commission(units, True, std, tax, spc)
    std = received_units * rates.standard
    tax = received_units * rates.tax
    spc = received_units * rates.special
    return Commission(ceil_fraction(std + tax + spc), False, std, tax, spc)


class FeeAsset(Enum):
    """Which asset a trade's commission is charged in."""

    BASE = "BASE"
    QUOTE = "QUOTE"
    BNB = "BNB"


@dataclass(frozen=True, slots=True)
class TradeFee:
    """A trade's commission: `units` of `asset` (the base, quote or BNB unit)."""

    units: int
    asset: FeeAsset
    detail: Commission


def trade_commission(
    rates: Rates,
    base_units: int,
    quote_units: int,
    *,
    bnb_price_quote: Fraction | None = None,
    bnb_balance_units: int = 0,
) -> TradeFee:
    """One fill's commission: BUY pays in base (of `base_units`), SELL in quote (of the notional).

    `bnb_price_quote` is quote units per BNB unit. The BNB amount is computed from the quote
    notional for both sides. A BUY's base commission is worth the same fraction of the notional
    at the trade's own price, so no base/BNB price is needed.
    """
    if bnb_price_quote is not None and rates.discount is not None:
        paid = commission(
            quote_units, rates, bnb_price=bnb_price_quote, bnb_balance_units=bnb_balance_units
        )
        if paid.in_bnb:
            return TradeFee(paid.units, FeeAsset.BNB, paid)
    received = base_units if rates.is_buyer else quote_units
    paid = commission(received, rates)
    return TradeFee(paid.units, FeeAsset.BASE if rates.is_buyer else FeeAsset.QUOTE, paid)


@dataclass(slots=True)
class _Window:
    days: deque[list[int]]  # [utc_day, units], days strictly increasing
    total: int = 0


class VolumeTracker:
    """Per-account rolling 30-day traded notional in integer USD units, bucketed by UTC day.

    Times are passed in (ms since the epoch); there is no clock. `record` is O(1) amortised.
    It keeps at most `window_days + 1` day buckets per account.

    Window for `volume(account, now_ms)`, where N is now's UTC day and W is `window_days`:
      * default (`include_current_day=False`): days N-W .. N-1. These are the W complete days
        before today, as in Binance's daily 00:00 UTC re-evaluation. The figure is stable
        within a day, and a trade first counts on the next UTC day.
      * `include_current_day=True`: days N-W+1 .. N (today counts at once).
    A day older than the window is excluded. Queries are exact for any `now_ms` on or after
    the newest recorded trade's day (the engine's time only moves forward). A trade more than
    W days older than the newest one is dropped, because no such query can count it.
    """

    __slots__ = ("_accounts", "include_current_day", "window_days")

    def __init__(self, window_days: int = 30, *, include_current_day: bool = False) -> None:
        """`window_days` >= 1."""
        if window_days < 1:
            raise ValueError("window_days must be at least 1")
        self.window_days = window_days
        self.include_current_day = include_current_day
        self._accounts: dict[str, _Window] = {}

    def record(self, account: str, ts_ms: int, notional_usd_units: int) -> None:
        """Add one trade's notional to its UTC day. Late trades go to their own day."""
        if notional_usd_units < 0:
            raise ValueError("notional_usd_units must not be negative")
        if notional_usd_units == 0:
            return
        day = ts_ms // DAY_MS
        w = self._accounts.get(account)
        if w is None:
            w = self._accounts[account] = _Window(deque())
        days = w.days
        if not days or day > days[-1][0]:
            days.append([day, notional_usd_units])
        elif day == days[-1][0]:
            days[-1][1] += notional_usd_units
        else:
            if day < days[-1][0] - self.window_days:
                return
            i = len(days) - 1
            while i >= 0 and days[i][0] > day:
                i -= 1
            if i >= 0 and days[i][0] == day:
                days[i][1] += notional_usd_units
            else:
                days.insert(i + 1, [day, notional_usd_units])
        w.total += notional_usd_units
        horizon = days[-1][0] - self.window_days
        while days[0][0] < horizon:
            w.total -= days.popleft()[1]

    def volume(self, account: str, now_ms: int) -> int:
        """The account's traded notional over the window ending at `now_ms` (0 if none)."""
        w = self._accounts.get(account)
        if w is None:
            return 0
        now_day = now_ms // DAY_MS
        hi = now_day if self.include_current_day else now_day - 1
        lo = hi - self.window_days + 1
        days = w.days
        if days[0][0] >= lo and days[-1][0] <= hi:
            return w.total
        return sum(units for day, units in days if lo <= day <= hi)
