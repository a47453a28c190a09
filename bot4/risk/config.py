"""Risk configuration (configs/risk.toml): limits per account and per symbol, compiled to ints.

Precedence, field by field (a field left out inherits):

    accounts.NAME.symbols.SYMBOL  >  symbols.SYMBOL  >  [symbol]      (per-symbol limits)
    accounts.NAME                 >  [account]                       (account-wide limits)

Money is a decimal string in the valuation asset (`valuation_asset`, the symbols' quote asset),
quantities are decimal strings of the base asset. A float is refused: write "0.5", not 0.5.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot4.core.filters import ExactDecimal
from bot4.core.instruments import Instrument
from bot4.core.money import ceil_units, floor_units
from bot4.risk.breakers import BreakerConfig
from bot4.risk.buckets import TokenBucket

_UNITS_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_INTERVAL = re.compile(r"^([1-9][0-9]*)([smhd])$")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RateLimitSpec(_Model):
    """`limit` new orders per `interval` ("10s", "1m", "1h", "1d"), like the venue's ORDERS."""

    interval: str = Field(pattern=_INTERVAL.pattern)
    limit: int = Field(gt=0, strict=True)

    @property
    def interval_ms(self) -> int:
        match = _INTERVAL.match(self.interval)
        assert match is not None
        return int(match.group(1)) * _UNITS_MS[match.group(2)]


class SymbolLimitsSpec(_Model):
    """Per-symbol limits; any left out inherit (see the module docstring)."""

    max_order_qty: ExactDecimal | None = None  # base asset
    max_order_notional: ExactDecimal | None = None  # valuation asset
    price_band_pct: ExactDecimal | None = None  # |price - reference| / reference, percent
    max_open_orders: int | None = Field(default=None, gt=0, strict=True)


class AccountLimitsSpec(_Model):
    """Account-wide limits; any left out inherit from `[account]`."""

    max_open_orders: int | None = Field(default=None, gt=0, strict=True)
    max_position: dict[str, ExactDecimal] = {}  # asset -> largest absolute net position
    max_gross_exposure: ExactDecimal | None = None  # sum of |position| x mark, valuation asset
    max_daily_loss: ExactDecimal | None = None  # realised + unrealised since 00:00 UTC
    max_drawdown: ExactDecimal | None = None  # from the peak of realised + unrealised profit
    on_breach: Literal["REDUCE_ONLY", "HALTED"] | None = None
    order_rate: tuple[RateLimitSpec, ...] | None = None
    symbols: dict[str, SymbolLimitsSpec] = {}


class RiskFile(_Model):
    """configs/risk.toml."""

    valuation_asset: str = Field(default="USDT", pattern=r"^[A-Z0-9]{1,20}$")
    account: AccountLimitsSpec = AccountLimitsSpec()
    symbol: SymbolLimitsSpec = SymbolLimitsSpec()
    symbols: dict[str, SymbolLimitsSpec] = {}
    accounts: dict[str, AccountLimitsSpec] = {}
    breaker: BreakerConfig | None = None  # each platform symbol actor's circuit breaker

    def symbol_spec(self, account: str, symbol: str) -> SymbolLimitsSpec:
        """The merged per-symbol limits of one account."""
        merged = self.symbol.model_dump(exclude_unset=True)
        if symbol in self.symbols:
            merged.update(self.symbols[symbol].model_dump(exclude_unset=True))
        acct = self.accounts.get(account)
        if acct is not None and symbol in acct.symbols:
            merged.update(acct.symbols[symbol].model_dump(exclude_unset=True))
        return SymbolLimitsSpec(**merged)

    def account_spec(self, account: str) -> AccountLimitsSpec:
        """The merged account-wide limits of one account."""
        merged = self.account.model_dump(exclude_unset=True, exclude={"symbols"})
        acct = self.accounts.get(account)
        if acct is not None:
            merged.update(acct.model_dump(exclude_unset=True, exclude={"symbols"}))
        return AccountLimitsSpec(**merged)


def load_risk(path: str | Path) -> RiskFile:
    """Load and validate a risk TOML file; pydantic's error names the bad field."""
    with open(path, "rb") as fh:
        return RiskFile.model_validate(tomllib.load(fh))


@dataclass(frozen=True, slots=True)
class SymbolLimits:
    """One account's limits on one symbol, in the engine's integers (None: no limit)."""

    max_qty: int | None  # lots
    max_notional: int | None  # tick-lots
    band: tuple[int, int] | None  # price band as a fraction num/den of the reference
    max_open: int | None
    max_position: int | None  # units of the base asset, over every symbol that trades it

    @classmethod
    def compile(cls, spec: SymbolLimitsSpec, account: AccountLimitsSpec, inst: Instrument
                ) -> SymbolLimits:  # fmt: skip
        band = None
        if spec.price_band_pct is not None:
            num, den = (spec.price_band_pct / 100).as_integer_ratio()
            band = (num, den)
        position = account.max_position.get(inst.base)
        ticklot = inst.tick * inst.step
        return cls(
            max_qty=None if spec.max_order_qty is None else floor_units(spec.max_order_qty,
                                                                         inst.step),
            max_notional=(
                None if spec.max_order_notional is None
                else floor_units(spec.max_order_notional, ticklot)
            ),
            band=band,
            max_open=spec.max_open_orders,
            max_position=None if position is None else floor_units(position, inst.base_unit),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class AccountLimits:
    """One account's account-wide limits in integers of the valuation asset's unit."""

    max_open: int | None
    max_exposure: int | None  # valuation units
    max_daily_loss: int | None
    max_drawdown: int | None
    on_breach: Literal["REDUCE_ONLY", "HALTED"]
    rates: tuple[tuple[int, int, str], ...]  # (limit, interval_ms, label)

    @classmethod
    def compile(cls, spec: AccountLimitsSpec, unit: Decimal) -> AccountLimits:
        def units(value: Decimal | None) -> int | None:
            return None if value is None else floor_units(value, unit)

        return cls(
            max_open=spec.max_open_orders,
            max_exposure=units(spec.max_gross_exposure),
            max_daily_loss=None if spec.max_daily_loss is None else ceil_units(
                spec.max_daily_loss, unit),
            max_drawdown=None if spec.max_drawdown is None else ceil_units(
                spec.max_drawdown, unit),
            on_breach=spec.on_breach or "REDUCE_ONLY",
            rates=tuple((r.limit, r.interval_ms, r.interval) for r in spec.order_rate or ()),
        )  # fmt: skip

    def buckets(self) -> list[TokenBucket]:
        """Fresh token buckets for these rate limits."""
        return [TokenBucket(limit, ms, label) for limit, ms, label in self.rates]
