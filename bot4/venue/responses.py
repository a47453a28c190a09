"""The venue's JSON answers (the REST edge's rendering, beside `requests`' parsing): an
`Ack`, a `ListAck`, an amend and a cancel-replace as Binance Spot prints them, amounts in the
instrument's decimals, and commission rates to at least 8 places."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot4.core.errors import VenueError
from bot4.core.events import FEE_ASSET_UNIT, ExecutionReport, commission_unit
from bot4.core.instruments import Instrument
from bot4.core.money import format_units
from bot4.core.results import Ack, CancelReplaceResult, ListAck
from bot4.venue.engine import MatchingEngine
from bot4.venue.native import NativeEngine


def rates_text(rates: dict[str, Any]) -> dict[str, Any]:
    """Decimal rates as the venue prints them: at least 8 decimal places."""
    out: dict[str, Any] = {}
    for key, value in rates.items():
        if isinstance(value, dict):
            out[key] = rates_text(value)
        elif isinstance(value, Decimal):
            text = f"{value:.8f}"
            out[key] = text if Decimal(text) == value else format(value.normalize(), "f")
        else:
            out[key] = value
    return out


def amend_response(
    inst: Instrument, ack: Ack, engine: MatchingEngine | NativeEngine | None = None
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
