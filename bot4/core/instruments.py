"""Symbol specifications (validated config) and their compiled integer form.

`SymbolSpec` is what configs/ and exchangeInfo describe, in decimals; `Instrument` is the same
symbol compiled to integers (ticks, lots, asset units) for the engine's hot path.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from bot4.core import filters as f
from bot4.core.enums import OrderType, StpMode, SymbolStatus
from bot4.core.money import ceil_units, floor_units, to_units

Fraction = tuple[int, int]
T = TypeVar("T", bound=BaseModel)


def _exact_rate(value: object) -> object:
    if isinstance(value, float):
        raise ValueError(f'write rates as strings (got the float {value!r}), e.g. "0.001"')
    return value


Rate = Annotated[Decimal, BeforeValidator(_exact_rate), Field(ge=0, lt=1, allow_inf_nan=False)]


class SymbolSpec(BaseModel):
    """One symbol as exchangeInfo describes it (the fields bot4 uses), plus its fee rates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str = Field(pattern=r"^[A-Z0-9_.-]{1,20}$")
    status: SymbolStatus = SymbolStatus.TRADING
    baseAsset: str = Field(pattern=r"^[A-Z0-9]{1,20}$")
    quoteAsset: str = Field(pattern=r"^[A-Z0-9]{1,20}$")
    baseAssetPrecision: int = Field(default=8, ge=0, le=18)
    quoteAssetPrecision: int = Field(default=8, ge=0, le=18)
    orderTypes: tuple[OrderType, ...] = (OrderType.LIMIT, OrderType.LIMIT_MAKER, OrderType.MARKET)
    quoteOrderQtyMarketAllowed: bool = True
    cancelReplaceAllowed: bool = True
    amendAllowed: bool = True
    allowTrailingStop: bool = True
    ocoAllowed: bool = True
    otoAllowed: bool = True
    defaultSelfTradePreventionMode: StpMode = StpMode.NONE
    allowedSelfTradePreventionModes: tuple[StpMode, ...] = tuple(StpMode)
    makerCommission: Rate = Decimal("0.001")
    takerCommission: Rate = Decimal("0.001")
    filters: tuple[f.SymbolFilter, ...]

    @model_validator(mode="after")
    def _check(self) -> SymbolSpec:
        seen: set[str] = set()
        for flt in self.filters:
            if flt.filterType in seen:
                raise ValueError(f"filters: {flt.filterType} is listed twice")
            seen.add(flt.filterType)
        for required in ("PRICE_FILTER", "LOT_SIZE"):
            if required not in seen:
                raise ValueError(f"filters: {required} is required")
        if self.defaultSelfTradePreventionMode not in self.allowedSelfTradePreventionModes:
            raise ValueError(
                "defaultSelfTradePreventionMode must be one of allowedSelfTradePreventionModes"
            )
        if self.baseAsset == self.quoteAsset:
            raise ValueError("baseAsset and quoteAsset must differ")
        tick = self.filter(f.PriceFilter).tickSize
        step = self.filter(f.LotSize).stepSize
        base_unit = Decimal(1).scaleb(-self.baseAssetPrecision)
        quote_unit = Decimal(1).scaleb(-self.quoteAssetPrecision)
        if to_units(step, base_unit) is None:
            raise ValueError(
                f"filters: LOT_SIZE.stepSize {step} is finer than baseAssetPrecision "
                f"{self.baseAssetPrecision}"
            )
        if to_units(tick * step, quote_unit) is None:
            raise ValueError(
                f"filters: tickSize x stepSize ({tick} x {step}) is finer than "
                f"quoteAssetPrecision {self.quoteAssetPrecision}"
            )
        market = self.find(f.MarketLotSize)
        if market is not None and market.stepSize and to_units(market.stepSize, step) is None:
            raise ValueError("filters: MARKET_LOT_SIZE.stepSize must be a multiple of LOT_SIZE's")
        windows = {
            flt.avgPriceMins
            for flt in self.filters
            if isinstance(flt, f.PercentPrice | f.PercentPriceBySide | f.MinNotional | f.Notional)
        }
        if len(windows) > 1:
            raise ValueError(f"filters: avgPriceMins must agree across filters, got {windows}")
        return self

    def find(self, kind: type[T]) -> T | None:
        """The filter of that kind, if the symbol has one."""
        for flt in self.filters:
            if isinstance(flt, kind):
                return flt
        return None

    def filter(self, kind: type[T]) -> T:
        """The filter of that kind; the validator guarantees PRICE_FILTER and LOT_SIZE."""
        found = self.find(kind)
        if found is None:
            raise KeyError(kind.__name__)
        return found


def _ratio(value: Decimal) -> Fraction:
    return value.as_integer_ratio()


@dataclass(frozen=True, slots=True)
class Instrument:
    """A symbol compiled to integers: prices in ticks, quantities in lots, amounts in units.

    A notional `price * quantity` in ticks x lots is called a "tick-lot" amount; one tick-lot is
    `quote_per_ticklot` units of the quote asset.
    """

    spec: SymbolSpec
    symbol: str
    base: str
    quote: str
    tick: Decimal
    step: Decimal
    base_unit: Decimal
    quote_unit: Decimal
    base_per_lot: int
    quote_per_ticklot: int
    min_price: int
    max_price: int  # 0: no maximum
    min_qty: int
    max_qty: int
    market_min_qty: int
    market_max_qty: int  # 0: no maximum
    market_step: int
    min_notional: int | None  # NOTIONAL, tick-lots
    min_notional_market: bool
    max_notional: int | None
    max_notional_market: bool
    legacy_min_notional: int | None  # MIN_NOTIONAL, tick-lots
    legacy_min_notional_market: bool
    percent_filter: str | None
    bid_up: Fraction
    bid_down: Fraction
    ask_up: Fraction
    ask_down: Fraction
    avg_price_mins: int
    max_num_orders: int | None
    max_num_amends: int | None
    max_num_algo_orders: int | None
    max_num_order_lists: int | None
    trailing_above: tuple[int, int] | None  # TRAILING_DELTA (min, max) bips, stop above market
    trailing_below: tuple[int, int] | None
    maker_rate: Fraction
    taker_rate: Fraction

    @classmethod
    def compile(cls, spec: SymbolSpec) -> Instrument:
        """Turn a validated spec into the engine's integer rules."""
        pf = spec.filter(f.PriceFilter)
        lot = spec.filter(f.LotSize)
        tick, step = pf.tickSize, lot.stepSize
        base_unit = Decimal(1).scaleb(-spec.baseAssetPrecision)
        quote_unit = Decimal(1).scaleb(-spec.quoteAssetPrecision)
        ticklot = tick * step
        base_per_lot = to_units(step, base_unit)
        quote_per_ticklot = to_units(ticklot, quote_unit)
        assert base_per_lot is not None and quote_per_ticklot is not None
        market = spec.find(f.MarketLotSize)
        notional = spec.find(f.Notional)
        legacy = spec.find(f.MinNotional)
        by_side = spec.find(f.PercentPriceBySide)
        plain = spec.find(f.PercentPrice)
        one: Fraction = (1, 1)
        if by_side is not None:
            percent: str | None = "PERCENT_PRICE_BY_SIDE"
            bands = tuple(
                _ratio(m)
                for m in (
                    by_side.bidMultiplierUp,
                    by_side.bidMultiplierDown,
                    by_side.askMultiplierUp,
                    by_side.askMultiplierDown,
                )
            )
        elif plain is not None:
            percent = "PERCENT_PRICE"
            up, down = _ratio(plain.multiplierUp), _ratio(plain.multiplierDown)
            bands = (up, down, up, down)
        else:
            percent, bands = None, (one, one, one, one)
        windows = [
            flt.avgPriceMins
            for flt in spec.filters
            if isinstance(flt, f.PercentPrice | f.PercentPriceBySide | f.MinNotional | f.Notional)
        ]
        max_orders = spec.find(f.MaxNumOrders)
        max_amends = spec.find(f.MaxNumOrderAmends)
        max_algo = spec.find(f.MaxNumAlgoOrders)
        max_lists = spec.find(f.MaxNumOrderLists)
        trailing = spec.find(f.TrailingDelta)
        return cls(
            spec=spec,
            symbol=spec.symbol,
            base=spec.baseAsset,
            quote=spec.quoteAsset,
            tick=tick,
            step=step,
            base_unit=base_unit,
            quote_unit=quote_unit,
            base_per_lot=base_per_lot,
            quote_per_ticklot=quote_per_ticklot,
            min_price=ceil_units(pf.minPrice, tick),
            max_price=floor_units(pf.maxPrice, tick),
            min_qty=ceil_units(lot.minQty, step),
            max_qty=floor_units(lot.maxQty, step),
            market_min_qty=ceil_units(market.minQty, step) if market else 0,
            market_max_qty=floor_units(market.maxQty, step) if market else 0,
            market_step=(to_units(market.stepSize, step) or 1 if market and market.stepSize else 1),
            min_notional=ceil_units(notional.minNotional, ticklot) if notional else None,
            min_notional_market=bool(notional and notional.applyMinToMarket),
            max_notional=floor_units(notional.maxNotional, ticklot) if notional else None,
            max_notional_market=bool(notional and notional.applyMaxToMarket),
            legacy_min_notional=ceil_units(legacy.minNotional, ticklot) if legacy else None,
            legacy_min_notional_market=bool(legacy and legacy.applyToMarket),
            percent_filter=percent,
            bid_up=bands[0],
            bid_down=bands[1],
            ask_up=bands[2],
            ask_down=bands[3],
            avg_price_mins=windows[0] if windows else 0,
            max_num_orders=max_orders.maxNumOrders if max_orders else None,
            max_num_amends=max_amends.maxNumOrderAmends if max_amends else None,
            max_num_algo_orders=max_algo.maxNumAlgoOrders if max_algo else None,
            max_num_order_lists=max_lists.maxNumOrderLists if max_lists else None,
            trailing_above=(
                (trailing.minTrailingAboveDelta, trailing.maxTrailingAboveDelta)
                if trailing
                else None
            ),
            trailing_below=(
                (trailing.minTrailingBelowDelta, trailing.maxTrailingBelowDelta)
                if trailing
                else None
            ),
            maker_rate=_ratio(spec.makerCommission),
            taker_rate=_ratio(spec.takerCommission),
        )

    @property
    def needs_reference_price(self) -> bool:
        """Whether any filter compares against the average price."""
        return self.percent_filter is not None or (
            self.min_notional_market or self.max_notional_market or self.legacy_min_notional_market
        )


class SymbolsFile(BaseModel):
    """configs/symbols.toml: a list of `[[symbols]]` tables."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbols: tuple[SymbolSpec, ...] = Field(min_length=1)
    exchangeFilters: tuple[f.ExchangeFilter, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> SymbolsFile:
        names = [s.symbol for s in self.symbols]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"symbols listed twice: {', '.join(dupes)}")
        return self


def load_symbols_file(path: str | Path) -> SymbolsFile:
    """Load and validate a symbols TOML file; pydantic's error names the bad field."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return SymbolsFile.model_validate(data)


def load_symbols(path: str | Path) -> dict[str, Instrument]:
    """The compiled symbols of a symbols TOML file."""
    return {spec.symbol: Instrument.compile(spec) for spec in load_symbols_file(path).symbols}
