"""A venue of several symbols sharing one ledger, with the venue's string-parameter edge.

`Venue` routes each request to its symbol's `MatchingEngine`, refuses unknown symbols with
-1121, converts Decimal deposits to ledger units, and answers in the venue's JSON shapes
(`place`, `cancel_order`) for callers that speak Binance's REST parameters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from bot4.core import errors
from bot4.core.accounts import Ledger
from bot4.core.enums import Side
from bot4.core.errors import VenueError
from bot4.core.events import FEE_ASSET_UNIT, ExecutionReport, commission_unit
from bot4.core.fees import FeeSchedule
from bot4.core.filters import ExchangeFilter
from bot4.core.instruments import Instrument
from bot4.core.money import Number, format_units, parse_decimal, to_units
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.results import Ack, CancelReplaceResult, ListAck
from bot4.venue.engine import MatchingEngine
from bot4.venue.feebook import FeeBook
from bot4.venue.limits import ExchangeLimits
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
    ) -> None:
        """`fees` is the commission schedule (VIP tiers, BNB discount); without one every
        account pays each symbol's makerCommission/takerCommission. `exchange_filters` are
        exchangeInfo's exchangeFilters, counted per account over every symbol."""
        self.ledger = Ledger()
        self.exchange = ExchangeLimits.from_filters(exchange_filters)
        self.fees = FeeBook(fees, self.ledger)
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
        self.engines = {
            name: MatchingEngine(
                inst,
                self.ledger,
                reference_price=refs.get(name),
                on_events=on_events,
                fees=self.fees,
                exchange=self.exchange,
            )
            for name, inst in self.instruments.items()
        }

    # ------------------------------------------------------------------ engine units

    def engine(self, symbol: str) -> MatchingEngine | VenueError:
        engine = self.engines.get(symbol) if isinstance(symbol, str) else None
        return errors.BAD_SYMBOL if engine is None else engine

    def submit(self, symbol: str, order: NewOrder, now: int) -> Ack | VenueError:
        engine = self.engine(symbol)
        return engine if isinstance(engine, VenueError) else engine.submit(order, now)

    def cancel(self, symbol: str, request: CancelOrder, now: int) -> Ack | VenueError:
        engine = self.engine(symbol)
        return engine if isinstance(engine, VenueError) else engine.cancel(request, now)

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
        call: Callable[[MatchingEngine, Q], R | VenueError],
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
        return _rates_text(self.fees.commission_rates(account, engine.instrument))

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
        return _rates_text(out)


def _rates_text(rates: dict[str, Any]) -> dict[str, Any]:
    """Decimal rates as the venue prints them: at least 8 decimal places."""
    out: dict[str, Any] = {}
    for key, value in rates.items():
        if isinstance(value, dict):
            out[key] = _rates_text(value)
        elif isinstance(value, Decimal):
            text = f"{value:.8f}"
            out[key] = text if Decimal(text) == value else format(value.normalize(), "f")
        else:
            out[key] = value
    return out


def amend_response(
    inst: Instrument, ack: Ack, engine: MatchingEngine | None = None
) -> dict[str, Any]:
    """The venue's amend keep-priority response; with `listStatus` for an order-list leg."""
    report = next(r for r in ack.reports if r.order_id == ack.order_id)
    body: dict[str, Any] = {
        "transactTime": ack.transact_time,
        "executionId": report.seq,
        "amendedOrder": {
            "symbol": inst.symbol,
            "orderId": ack.order_id,
            "orderListId": report.order_list_id,
            "origClientOrderId": report.orig_client_order_id,
            "clientOrderId": report.client_order_id,
            "price": format_units(report.price, inst.tick),
            "qty": format_units(report.orig_qty, inst.step),
            "executedQty": format_units(report.cum_qty, inst.step),
            "preventedQty": format_units(report.prevented_qty, inst.step),
            "quoteOrderQty": format_units(report.quote_order_qty, inst.quote_unit),
            "cumulativeQuoteQty": format_units(report.cum_quote, inst.tick * inst.step),
            "status": report.status.value,
            "timeInForce": report.time_in_force.value if report.time_in_force else "GTC",
            "type": report.type.value,
            "side": report.side.value,
            "workingTime": report.working_time,
            "selfTradePreventionMode": report.stp_mode.value,
        },
    }
    list_id = report.order_list_id
    if list_id >= 0:
        status = engine.list_status(list_id, ack.transact_time) if engine is not None else None
        if status is None:  # the amend ended the list: its last event says how it stands
            status = next(s for s in reversed(ack.list_statuses) if s.order_list_id == list_id)
        body["listStatus"] = {
            "orderListId": list_id,
            "contingencyType": status.contingency_type.value,
            "listOrderStatus": status.list_order_status.value,
            "listClientOrderId": status.list_client_order_id,
            "symbol": inst.symbol,
            "orders": [
                {"symbol": inst.symbol, "orderId": i, "clientOrderId": c} for i, c in status.orders
            ],
        }
    return body


def cancel_replace_response(
    inst: Instrument, result: CancelReplaceResult, fee_unit: Decimal = FEE_ASSET_UNIT
) -> dict[str, Any]:
    """The venue's cancel-replace response: both halves, under `data` when one failed."""
    halves: dict[str, Any] = {
        "cancelResult": "SUCCESS" if isinstance(result.cancel, Ack) else "FAILURE",
        "newOrderResult": (
            "NOT_ATTEMPTED"
            if result.new is None
            else "SUCCESS"
            if isinstance(result.new, Ack)
            else "FAILURE"
        ),
        "cancelResponse": _body(inst, result.cancel, fee_unit),
        "newOrderResponse": None if result.new is None else _body(inst, result.new, fee_unit),
    }
    error = result.error
    if error is None:
        return halves
    return {**error.as_dict(), "data": halves}


def list_response(inst: Instrument, ack: ListAck) -> dict[str, Any]:
    """The venue's order-list response: the list, its legs, and each leg's report."""
    status_type = (
        ack.list_statuses[-1].list_status_type.value if ack.list_statuses else "EXEC_STARTED"
    )
    return {
        "orderListId": ack.order_list_id,
        "contingencyType": ack.contingency_type.value,
        "listStatusType": status_type,
        "listOrderStatus": ack.list_order_status.value,
        "listClientOrderId": ack.list_client_order_id,
        "transactionTime": ack.transact_time,
        "symbol": inst.symbol,
        "orders": [
            {"symbol": inst.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id}
            for o in ack.orders
        ],
        "orderReports": [
            {
                "symbol": inst.symbol,
                "orderId": o.order_id,
                "orderListId": ack.order_list_id,
                "clientOrderId": o.client_order_id,
                "transactTime": ack.transact_time,
                "price": format_units(o.price, inst.tick),
                "origQty": format_units(o.orig_qty, inst.step),
                "executedQty": format_units(o.executed_qty, inst.step),
                "cummulativeQuoteQty": format_units(o.cum_quote, inst.tick * inst.step),
                "status": o.status.value,
                "timeInForce": o.time_in_force.value if o.time_in_force else "GTC",
                "type": o.type.value,
                "side": o.side.value,
                "stopPrice": format_units(o.stop_price, inst.tick),
                "workingTime": o.working_time,
                "selfTradePreventionMode": o.stp_mode.value,
            }
            for o in ack.orders
        ],
    }


def _body(inst: Instrument, result: Ack | VenueError, fee_unit: Decimal) -> dict[str, Any]:
    if isinstance(result, VenueError):
        return result.as_dict()
    return order_response(inst, result, fee_unit)


def order_response(
    inst: Instrument, ack: Ack, fee_unit: Decimal = FEE_ASSET_UNIT
) -> dict[str, Any]:
    """The venue's FULL new-order response (or cancel response) for an `Ack`.

    `fee_unit` is the unit of a commission paid in the fee asset (BNB)."""
    first: ExecutionReport = ack.reports[0]
    ticklot = inst.tick * inst.step
    fills = []
    for r in ack.reports:
        if r.trade_id >= 0 and r.order_id == ack.order_id:
            unit = commission_unit(inst, r.commission_asset, fee_unit)
            fills.append(
                {
                    "price": format_units(r.last_price, inst.tick),
                    "qty": format_units(r.last_qty, inst.step),
                    "commission": format_units(r.commission, unit),
                    "commissionAsset": r.commission_asset,
                    "tradeId": r.trade_id,
                }
            )
    body: dict[str, Any] = {
        "symbol": inst.symbol,
        "orderId": ack.order_id,
        "orderListId": first.order_list_id,
        "clientOrderId": first.client_order_id,
        "transactTime": ack.transact_time,
        "price": format_units(first.price, inst.tick),
        "origQty": format_units(first.orig_qty, inst.step),
        "executedQty": format_units(ack.executed_qty, inst.step),
        "origQuoteOrderQty": format_units(first.quote_order_qty, inst.quote_unit),
        "cummulativeQuoteQty": format_units(ack.cum_quote, ticklot),
        "status": ack.status.value,
        "timeInForce": first.time_in_force.value if first.time_in_force else "GTC",
        "type": first.type.value,
        "side": first.side.value,
        "workingTime": first.working_time,
        "fills": fills,
    }
    body["selfTradePreventionMode"] = first.stp_mode.value
    if first.stop_price:
        body["stopPrice"] = format_units(first.stop_price, inst.tick)
    if first.trailing_delta:
        body["trailingDelta"] = first.trailing_delta
    if first.orig_client_order_id:
        body["origClientOrderId"] = first.orig_client_order_id
        del body["fills"]
        return body
    prevented: dict[int, dict[str, Any]] = {}
    last = first
    for r in ack.reports:
        if r.order_id == ack.order_id:
            last = r
        if r.prevented_match_id < 0:
            continue
        taker_side = r.order_id == ack.order_id
        entry = prevented.setdefault(
            r.prevented_match_id,
            {
                "preventedMatchId": r.prevented_match_id,
                "makerOrderId": r.counter_order_id if taker_side else r.order_id,
                "price": format_units(r.prevented_price, inst.tick),
            },
        )
        key = "takerPreventedQuantity" if taker_side else "makerPreventedQuantity"
        entry[key] = format_units(r.last_prevented_qty, inst.step)
    if prevented:
        body["preventedMatches"] = [prevented[k] for k in sorted(prevented)]
    if last.prevented_qty:
        body["preventedQuantity"] = format_units(last.prevented_qty, inst.step)
    return body
