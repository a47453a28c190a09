"""Symbol filters as exchangeInfo lists them (filters.md), validated by pydantic.

Field names are the venue's own camelCase, so an exchangeInfo filter object loads as it is.
Decimals must be written as strings or integers: a float has already lost its exact value.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


def _exact_decimal(value: object) -> object:
    if isinstance(value, float):
        raise ValueError(f'write decimals as strings (got the float {value!r}), e.g. "0.01"')
    return value


ExactDecimal = Annotated[Decimal, BeforeValidator(_exact_decimal), Field(ge=0, allow_inf_nan=False)]
Multiplier = Annotated[Decimal, BeforeValidator(_exact_decimal), Field(gt=0, allow_inf_nan=False)]


class _Filter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PriceFilter(_Filter):
    """price >= minPrice, price <= maxPrice (0 disables either), price a multiple of tickSize."""

    filterType: Literal["PRICE_FILTER"]
    minPrice: ExactDecimal
    maxPrice: ExactDecimal
    tickSize: ExactDecimal

    @model_validator(mode="after")
    def _check(self) -> PriceFilter:
        if self.tickSize <= 0:
            raise ValueError("tickSize must be positive: bot4 keeps prices on a tick grid")
        if self.maxPrice and self.maxPrice < self.minPrice:
            raise ValueError("maxPrice must not be below minPrice")
        return self


class PercentPrice(_Filter):
    """ref * multiplierDown <= price <= ref * multiplierUp, ref = average price."""

    filterType: Literal["PERCENT_PRICE"]
    multiplierUp: Multiplier
    multiplierDown: Multiplier
    avgPriceMins: int = Field(ge=0)


class PercentPriceBySide(_Filter):
    """As PERCENT_PRICE with separate bounds for bids (BUY) and asks (SELL)."""

    filterType: Literal["PERCENT_PRICE_BY_SIDE"]
    bidMultiplierUp: Multiplier
    bidMultiplierDown: Multiplier
    askMultiplierUp: Multiplier
    askMultiplierDown: Multiplier
    avgPriceMins: int = Field(ge=0)


class LotSize(_Filter):
    """minQty <= quantity <= maxQty, quantity a multiple of stepSize."""

    filterType: Literal["LOT_SIZE"]
    minQty: ExactDecimal
    maxQty: ExactDecimal
    stepSize: ExactDecimal

    @model_validator(mode="after")
    def _check(self) -> LotSize:
        if self.stepSize <= 0:
            raise ValueError("stepSize must be positive: bot4 keeps quantities on a lot grid")
        if self.maxQty < self.minQty:
            raise ValueError("maxQty must not be below minQty")
        return self


class MarketLotSize(_Filter):
    """LOT_SIZE's rules for MARKET orders (stepSize 0 means LOT_SIZE's step applies)."""

    filterType: Literal["MARKET_LOT_SIZE"]
    minQty: ExactDecimal
    maxQty: ExactDecimal
    stepSize: ExactDecimal

    @model_validator(mode="after")
    def _check(self) -> MarketLotSize:
        if self.maxQty and self.maxQty < self.minQty:
            raise ValueError("maxQty must not be below minQty")
        return self


class MinNotional(_Filter):
    """price * quantity >= minNotional; MARKET orders only if applyToMarket (average price)."""

    filterType: Literal["MIN_NOTIONAL"]
    minNotional: ExactDecimal
    applyToMarket: bool
    avgPriceMins: int = Field(ge=0)


class Notional(_Filter):
    """minNotional <= price * quantity <= maxNotional, each side optionally for MARKET orders."""

    filterType: Literal["NOTIONAL"]
    minNotional: ExactDecimal
    applyMinToMarket: bool
    maxNotional: ExactDecimal
    applyMaxToMarket: bool
    avgPriceMins: int = Field(ge=0)

    @model_validator(mode="after")
    def _check(self) -> Notional:
        if self.maxNotional < self.minNotional:
            raise ValueError("maxNotional must not be below minNotional")
        return self


class MaxNumOrders(_Filter):
    """An account may have at most maxNumOrders open orders on the symbol."""

    filterType: Literal["MAX_NUM_ORDERS"]
    maxNumOrders: int = Field(gt=0)


class MaxNumOrderAmends(_Filter):
    """An order may be amended at most maxNumOrderAmends times."""

    filterType: Literal["MAX_NUM_ORDER_AMENDS"]
    maxNumOrderAmends: int = Field(gt=0)


class MaxNumAlgoOrders(_Filter):
    """An account may have at most maxNumAlgoOrders untriggered stop/take-profit orders."""

    filterType: Literal["MAX_NUM_ALGO_ORDERS"]
    maxNumAlgoOrders: int = Field(gt=0)


class MaxNumOrderLists(_Filter):
    """An account may have at most maxNumOrderLists open order lists (an OTOCO is one)."""

    filterType: Literal["MAX_NUM_ORDER_LISTS"]
    maxNumOrderLists: int = Field(gt=0)


class TrailingDelta(_Filter):
    """Bounds of trailingDelta (basis points) for orders whose stop is above / below market."""

    filterType: Literal["TRAILING_DELTA"]
    minTrailingAboveDelta: int = Field(gt=0)
    maxTrailingAboveDelta: int = Field(gt=0)
    minTrailingBelowDelta: int = Field(gt=0)
    maxTrailingBelowDelta: int = Field(gt=0)

    @model_validator(mode="after")
    def _check(self) -> TrailingDelta:
        if self.maxTrailingAboveDelta < self.minTrailingAboveDelta:
            raise ValueError("maxTrailingAboveDelta must not be below minTrailingAboveDelta")
        if self.maxTrailingBelowDelta < self.minTrailingBelowDelta:
            raise ValueError("maxTrailingBelowDelta must not be below minTrailingBelowDelta")
        return self


SymbolFilter = Annotated[
    PriceFilter
    | PercentPrice
    | PercentPriceBySide
    | LotSize
    | MarketLotSize
    | MinNotional
    | Notional
    | MaxNumOrders
    | MaxNumOrderAmends
    | MaxNumAlgoOrders
    | MaxNumOrderLists
    | TrailingDelta,
    Field(discriminator="filterType"),
]


class ExchangeMaxNumOrders(_Filter):
    """An account may have at most maxNumOrders open orders over every symbol."""

    filterType: Literal["EXCHANGE_MAX_NUM_ORDERS"]
    maxNumOrders: int = Field(gt=0)


class ExchangeMaxNumAlgoOrders(_Filter):
    """An account may have at most maxNumAlgoOrders waiting stop orders over every symbol."""

    filterType: Literal["EXCHANGE_MAX_NUM_ALGO_ORDERS"]
    maxNumAlgoOrders: int = Field(gt=0)


class ExchangeMaxNumIcebergOrders(_Filter):
    """At most maxNumIcebergOrders open iceberg orders per account. bot4 places no icebergs,
    so this limit always holds; the filter is accepted so exchangeInfo pastes in whole."""

    filterType: Literal["EXCHANGE_MAX_NUM_ICEBERG_ORDERS"]
    maxNumIcebergOrders: int = Field(gt=0)


class ExchangeMaxNumOrderLists(_Filter):
    """An account may have at most maxNumOrderLists open order lists over every symbol."""

    filterType: Literal["EXCHANGE_MAX_NUM_ORDER_LISTS"]
    maxNumOrderLists: int = Field(gt=0)


ExchangeFilter = Annotated[
    ExchangeMaxNumOrders
    | ExchangeMaxNumAlgoOrders
    | ExchangeMaxNumIcebergOrders
    | ExchangeMaxNumOrderLists,
    Field(discriminator="filterType"),
]
