"""A venue of several symbols sharing one ledger, with the venue's string-parameter edge.

`Venue` routes each request to its symbol's `MatchingEngine`, refuses unknown symbols with
-1121, converts Decimal deposits to ledger units, and answers in the venue's JSON shapes
(`place`, `cancel_order`, ...) for callers that speak Binance's REST parameters: `requests`
parses them, `responses` renders the answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from bot4.core import errors
from bot4.core.enums import Side
from bot4.core.errors import VenueError
from bot4.core.events import FEE_ASSET_UNIT
from bot4.core.fees import FeeSchedule
from bot4.core.filters import ExchangeFilter
from bot4.core.instruments import Instrument
from bot4.core.money import Number, format_units, parse_decimal, to_units
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.results import Ack, ListAck
from bot4.venue.backends import (
    DEFAULT_BACKEND,
    Backend,
    check_backend,
    new_engine,
    new_fee_book,
    new_ledger,
)
from bot4.venue.engine import MatchingEngine
from bot4.venue.limits import ExchangeLimits
from bot4.venue.native import NativeEngine
from bot4.venue.nativeledger import NativeLedger
from bot4.venue.requests import (
    parse_amend,
    parse_cancel,
    parse_cancel_list,
    parse_cancel_replace,
    parse_new_order,
    parse_oco,
    parse_oto,
    parse_otoco,
)
from bot4.venue.responses import (
    amend_response,
    cancel_replace_response,
    list_response,
    order_response,
    rates_text,
)
from bot4.venue.rules import EventSink

Q = TypeVar("Q")
R = TypeVar("R")


class Venue:
    """Matching engines for a set of symbols over one shared ledger."""

    def __init__(
        self,
        instruments: Mapping[str, Instrument],
        *,
        reference_prices: Mapping[str, int] | None = None,
        on_events: EventSink | None = None,
        fees: FeeSchedule | None = None,
        exchange_filters: Iterable[ExchangeFilter] = (),
        backend: Backend = DEFAULT_BACKEND,
    ) -> None:
        """`fees` is the commission schedule (VIP tiers, BNB discount); without one every
        account pays each symbol's makerCommission/takerCommission. `exchange_filters` are
        exchangeInfo's exchangeFilters, counted per account over every symbol. `backend`
        picks the engines' implementation ("python" or "native", `bot4.venue.backends`)."""
        self.backend = check_backend(backend)
        self.ledger = new_ledger(self.backend)
        self.exchange = ExchangeLimits.from_filters(exchange_filters)
        self.fees = new_fee_book(fees, self.ledger)
        self.instruments = dict(instruments)
        self._asset_units: dict[str, Decimal] = {}
        if fees is not None:
            self._asset_units[fees.bnb_asset] = fees.bnb_unit
        fee_unit = fees.bnb_unit if fees is not None else FEE_ASSET_UNIT
        self._order_response = partial(order_response, fee_unit=fee_unit)
        self._cancel_replace_response = partial(cancel_replace_response, fee_unit=fee_unit)
        for inst in self.instruments.values():
            for asset, unit in ((inst.base, inst.base_unit), (inst.quote, inst.quote_unit)):
                known = self._asset_units.setdefault(asset, unit)
                if known != unit:
                    raise ValueError(
                        f"{inst.symbol}: {asset} precision {unit} disagrees with {known}"
                    )
        refs = reference_prices or {}
        self.engines: dict[str, MatchingEngine | NativeEngine] = {
            name: new_engine(
                inst,
                self.ledger,
                backend=self.backend,
                reference_price=refs.get(name),
                on_events=on_events,
                fees=self.fees,
                exchange=self.exchange,
            )
            for name, inst in self.instruments.items()
        }

    # ------------------------------------------------------------------ engine units

    def engine(self, symbol: str) -> MatchingEngine | NativeEngine | VenueError:
        engine = self.engines.get(symbol) if isinstance(symbol, str) else None
        return errors.BAD_SYMBOL if engine is None else engine

    def submit(self, symbol: str, order: NewOrder, now: int) -> Ack | VenueError:
        engine = self.engine(symbol)
        return engine if isinstance(engine, VenueError) else engine.submit(order, now)

    def cancel(self, symbol: str, request: CancelOrder, now: int) -> Ack | VenueError:
        engine = self.engine(symbol)
        return engine if isinstance(engine, VenueError) else engine.cancel(request, now)

    def exchange_counts(self) -> dict[str, dict[str, int]]:
        """What each account has open over every symbol, as the exchange filters count it:
        {"orders": {account: n}, "algo": {...}, "lists": {...}} (empty without filters)."""
        out: dict[str, dict[str, int]] = {"orders": {}, "algo": {}, "lists": {}}
        if self.exchange is None:
            return out
        if isinstance(self.ledger, NativeLedger):
            for account, *counts in self.ledger.core.exchange_counts():
                for kind, n in zip(out, counts, strict=True):
                    if n:
                        out[kind][account] = n
            return out
        ex = self.exchange
        return {"orders": dict(ex.orders), "algo": dict(ex.algo), "lists": dict(ex.lists)}

    # ------------------------------------------------------------------ money edge

    def unit(self, asset: str) -> Decimal:
        """The ledger unit of an asset (10^-precision)."""
        unit = self._asset_units.get(asset)
        if unit is None:
            raise KeyError(f"no symbol trades {asset}")
        return unit

    def deposit(self, account: str, asset: str, amount: Number) -> None:
        """Credit an exact decimal amount; raises `Bot4Error` for malformed or off-grid values."""
        value = parse_decimal(amount, "amount")
        if isinstance(value, VenueError):
            raise value.exception()
        units = to_units(value, self.unit(asset))
        if units is None:
            raise errors.bad_precision("amount").exception()
        self.ledger.deposit(account, asset, units)

    def balances(self, account: str) -> dict[str, tuple[str, str]]:
        """Every non-empty balance of an account as (free, locked) decimal strings."""
        out = {}
        for owner, asset, bal in self.ledger.items():
            if owner == account:
                unit = self.unit(asset)
                out[asset] = (format_units(bal.free, unit), format_units(bal.locked, unit))
        return out

    def state_digest(self) -> str:
        """One hash over every symbol's state and the ledger."""
        h = hashlib.sha256()
        for name in sorted(self.engines):
            h.update(f"{name}:{self.engines[name].state_digest()}\n".encode())
        h.update(f"fees:{self.fees.digest()}\n".encode())
        return h.hexdigest()

    # ------------------------------------------------------------------ venue JSON edge

    def _endpoint(
        self,
        params: Mapping[str, object],
        parse: Callable[[Instrument], Q | VenueError],
        call: Callable[[MatchingEngine | NativeEngine, Q], R | VenueError],
        render: Callable[[Instrument, R], dict[str, Any]],
    ) -> dict[str, Any]:
        """One REST call: route by `symbol`, parse, run, render; any error as the venue's JSON."""
        engine = self.engine(str(params.get("symbol", "")))
        if isinstance(engine, VenueError):
            return engine.as_dict()
        request = parse(engine.instrument)
        if isinstance(request, VenueError):
            return request.as_dict()
        result = call(engine, request)
        if isinstance(result, VenueError):
            return result.as_dict()
        return render(engine.instrument, result)

    def place(self, account: str, params: Mapping[str, object], now: int) -> dict[str, Any]:
        """POST /api/v3/order: Binance parameters in, Binance's FULL response (or error) out."""
        return self._endpoint(
            params,
            lambda inst: parse_new_order(inst, account, params),
            lambda engine, request: engine.submit(request, now),
            self._order_response,
        )

    def cancel_order(self, account: str, params: Mapping[str, object], now: int) -> dict[str, Any]:
        """DELETE /api/v3/order: Binance parameters in, the cancelled order (or error) out."""
        return self._endpoint(
            params,
            lambda _: parse_cancel(account, params),
            lambda engine, request: engine.cancel(request, now),
            self._order_response,
        )

    def amend_order(self, account: str, params: Mapping[str, object], now: int) -> dict[str, Any]:
        """PUT /api/v3/order/amend/keepPriority: the amended order (or error)."""
        return self._endpoint(
            params,
            lambda inst: parse_amend(inst, account, params),
            lambda engine, request: engine.amend(request, now),
            lambda inst, ack: amend_response(inst, ack, self.engines[inst.symbol]),
        )

    def cancel_replace(
        self, account: str, params: Mapping[str, object], now: int
    ) -> dict[str, Any]:
        """POST /api/v3/order/cancelReplace: both results, or -2021/-2022 with them in `data`."""
        return self._endpoint(
            params,
            lambda inst: parse_cancel_replace(inst, account, params),
            lambda engine, request: engine.cancel_replace(request, now),
            self._cancel_replace_response,
        )

    def cancel_open_orders(
        self, account: str, params: Mapping[str, object], now: int
    ) -> list[dict[str, Any]] | dict[str, Any]:
        """DELETE /api/v3/openOrders: every open order of the account on the symbol, cancelled."""
        engine = self.engine(str(params.get("symbol", "")))
        if isinstance(engine, VenueError):
            return engine.as_dict()
        acks = engine.cancel_all(account, now)
        if isinstance(acks, VenueError):
            return acks.as_dict()
        return [self._order_response(engine.instrument, ack) for ack in acks]

    def place_list(
        self, kind: str, account: str, params: Mapping[str, object], now: int
    ) -> dict[str, Any]:
        """POST /api/v3/orderList/{oco,oto,otoco}: the list response (or error)."""
        engine = self.engine(str(params.get("symbol", "")))
        if isinstance(engine, VenueError):
            return engine.as_dict()
        fields = {k: v for k, v in params.items() if k != "symbol"}
        inst = engine.instrument
        result: ListAck | VenueError
        if kind == "oco":
            oco = parse_oco(inst, account, fields)
            result = oco if isinstance(oco, VenueError) else engine.submit_oco(oco, now)
        elif kind == "oto":
            oto = parse_oto(inst, account, fields)
            result = oto if isinstance(oto, VenueError) else engine.submit_oto(oto, now)
        elif kind == "otoco":
            otoco = parse_otoco(inst, account, fields)
            result = otoco if isinstance(otoco, VenueError) else engine.submit_otoco(otoco, now)
        else:
            raise ValueError(f"unknown order list kind {kind!r}: oco, oto or otoco")
        return result.as_dict() if isinstance(result, VenueError) else list_response(inst, result)

    def cancel_list(self, account: str, params: Mapping[str, object], now: int) -> dict[str, Any]:
        """DELETE /api/v3/orderList: the cancelled list (or error)."""
        fields = {k: v for k, v in params.items() if k != "symbol"}
        return self._endpoint(
            params,
            lambda _: parse_cancel_list(account, fields),
            lambda engine, request: engine.cancel_list(request, now),
            list_response,
        )

    # ------------------------------------------------------------------ commission

    def account_commission(self, account: str, params: Mapping[str, object]) -> dict[str, Any]:
        """GET /api/v3/account/commission: the account's rates on one symbol."""
        engine = self.engine(str(params.get("symbol", "")))
        if isinstance(engine, VenueError):
            return engine.as_dict()
        for name in params:
            if name != "symbol":
                return errors.unknown_param(name).as_dict()
        return rates_text(self.fees.commission_rates(account, engine.instrument))

    def test_order(self, account: str, params: Mapping[str, object], now: int) -> dict[str, Any]:
        """POST /api/v3/order/test: check an order without placing it.

        The request's shape and the symbol's filters are checked; balances and order-count
        limits are not (the order never reaches the book). With `computeCommissionRates=true`
        the answer holds the rates its trades would pay, buyer/seller already added.
        """
        engine = self.engine(str(params.get("symbol", "")))
        if isinstance(engine, VenueError):
            return engine.as_dict()
        raw = params.get("computeCommissionRates", "false")
        text = str(raw).lower() if isinstance(raw, str | bool) else ""
        if text not in ("true", "false"):
            return errors.invalid_parameter("computeCommissionRates").as_dict()
        fields = {k: v for k, v in params.items() if k not in ("symbol", "computeCommissionRates")}
        inst = engine.instrument
        request = parse_new_order(inst, account, fields)
        if isinstance(request, VenueError):
            return request.as_dict()
        error = engine.check(request, now)
        if error is not None:
            return error.as_dict()
        if text == "false":
            return {}
        rates = self.fees.commission_rates(account, inst)
        side = "buyer" if request.side is Side.BUY else "seller"
        out: dict[str, Any] = {}
        for kind, name in (
            ("standardCommission", "standardCommissionForOrder"),
            ("specialCommission", "specialCommissionForOrder"),
            ("taxCommission", "taxCommissionForOrder"),
        ):
            r = rates[kind]
            out[name] = {"maker": r["maker"] + r[side], "taker": r["taker"] + r[side]}
        out["discount"] = rates["discount"]
        return rates_text(out)
