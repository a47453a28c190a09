"""The edge: the venue's request parameters (strings, as Binance receives them) to engine units.

`parse_new_order` turns a POST /api/v3/order parameter map into a `NewOrder` in ticks, lots
and quote units, or the error the venue would give. Nothing is ever rounded: a value off the
tick or lot grid fails its filter, a value with more decimals than the asset allows fails with
-1111, a malformed number with -1100.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TypeVar

from bot4.core import errors
from bot4.core.enums import (
    WITH_TIME_IN_FORCE,
    WITHOUT_PRICE,
    CancelReplaceMode,
    CancelRestriction,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)
from bot4.core.errors import VenueError
from bot4.core.instruments import Instrument
from bot4.core.money import decimals_of, parse_decimal, to_units
from bot4.core.orders import (
    AmendOrder,
    CancelOrder,
    CancelOrderList,
    CancelReplace,
    ListLeg,
    NewOco,
    NewOrder,
    NewOto,
    NewOtoco,
)

NEW_ORDER_PARAMS = frozenset(
    {
        "symbol",
        "side",
        "type",
        "timeInForce",
        "quantity",
        "quoteOrderQty",
        "price",
        "newClientOrderId",
        "newOrderRespType",
        "selfTradePreventionMode",
        "stopPrice",
        "trailingDelta",
        "recvWindow",
        "timestamp",
    }
)
CANCEL_PARAMS = frozenset(
    {"symbol", "orderId", "origClientOrderId", "newClientOrderId", "cancelRestrictions",
     "recvWindow", "timestamp"}
)  # fmt: skip
AMEND_PARAMS = frozenset(
    {"symbol", "orderId", "origClientOrderId", "newClientOrderId", "newQty", "recvWindow",
     "timestamp"}
)  # fmt: skip
CANCEL_REPLACE_PARAMS = frozenset(
    {"cancelReplaceMode", "cancelOrderId", "cancelOrigClientOrderId", "cancelNewClientOrderId",
     "cancelRestrictions", "orderRateLimitExceededMode"}
)  # fmt: skip
_RESP_TYPES = frozenset({"ACK", "RESULT", "FULL"})
E = TypeVar("E", Side, OrderType, TimeInForce, StpMode)
# tuples of enums: `in` by identity, no Enum.__hash__ per request
_STOPS = (
    OrderType.STOP_LOSS,
    OrderType.STOP_LOSS_LIMIT,
    OrderType.TAKE_PROFIT,
    OrderType.TAKE_PROFIT_LIMIT,
)


def _present(params: Mapping[str, object], name: str) -> bool:
    value = params.get(name)
    return value is not None and value != ""


def _enum(kind: type[E], value: object) -> E | None:
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            return None
    return None


def _amount(
    params: Mapping[str, object], name: str, unit: Decimal, precision: int, filter_name: str
) -> int | VenueError:
    """A decimal parameter as a whole number of `unit`s, or the venue's error for it."""
    value = parse_decimal(params[name], name)
    if isinstance(value, VenueError):
        return value
    if decimals_of(value) > precision:
        return errors.bad_precision(name)
    units = to_units(value, unit)
    if units is None:
        return errors.filter_failure(filter_name)
    return units


def parse_new_order(
    instrument: Instrument, account: str, params: Mapping[str, object]
) -> NewOrder | VenueError:
    """POST /api/v3/order parameters to a `NewOrder` for `instrument`, or the venue's error."""
    for name in params:
        if name not in NEW_ORDER_PARAMS:
            return errors.unknown_param(name)
    for name in ("side", "type"):
        if not _present(params, name):
            return errors.mandatory_param(name)
    side = _enum(Side, params["side"])
    if side is None:
        return errors.INVALID_SIDE
    otype = _enum(OrderType, params["type"])
    if otype is None:
        return errors.INVALID_ORDER_TYPE
    resp_type = params.get("newOrderRespType")
    if resp_type is not None and (type(resp_type) is not str or resp_type not in _RESP_TYPES):
        return errors.invalid_parameter("newOrderRespType")
    tif: TimeInForce | None = None
    if _present(params, "timeInForce"):
        if otype not in WITH_TIME_IN_FORCE:
            return errors.TIF_NOT_REQUIRED
        tif = _enum(TimeInForce, params["timeInForce"])
        if tif is None:
            return errors.INVALID_TIF
    elif otype in WITH_TIME_IN_FORCE:
        return errors.mandatory_param("timeInForce")
    price = quantity = quote_qty = 0
    spec = instrument.spec
    if otype is OrderType.MARKET:
        if _present(params, "price"):
            return errors.param_not_required("price")
        has_qty, has_quote = _present(params, "quantity"), _present(params, "quoteOrderQty")
        if has_qty and has_quote:
            return errors.UNSUPPORTED_COMBINATION
        if not has_qty and not has_quote:
            return errors.one_of_params("quantity", "quoteOrderQty")
        if has_quote:
            parsed = _amount(
                params, "quoteOrderQty", instrument.quote_unit, spec.quoteAssetPrecision, "NOTIONAL"
            )
            if isinstance(parsed, VenueError):
                return parsed
            if parsed == 0:
                return errors.invalid_parameter("quoteOrderQty")
            quote_qty = parsed
    elif otype in WITHOUT_PRICE:
        if _present(params, "price"):
            return errors.param_not_required("price")
        if _present(params, "quoteOrderQty"):
            return errors.param_not_required("quoteOrderQty")
    else:
        if _present(params, "quoteOrderQty"):
            return errors.param_not_required("quoteOrderQty")
        if not _present(params, "price"):
            return errors.mandatory_param("price")
        parsed = _amount(params, "price", instrument.tick, spec.quoteAssetPrecision, "PRICE_FILTER")
        if isinstance(parsed, VenueError):
            return parsed
        price = parsed
    if otype is not OrderType.MARKET or _present(params, "quantity"):
        if not _present(params, "quantity"):
            return errors.mandatory_param("quantity")
        parsed = _amount(params, "quantity", instrument.step, spec.baseAssetPrecision, "LOT_SIZE")
        if isinstance(parsed, VenueError):
            return parsed
        quantity = parsed
    cid = params.get("newClientOrderId")
    if cid is not None and not isinstance(cid, str):
        return errors.invalid_parameter("newClientOrderId")
    stp: StpMode | None = None
    if _present(params, "selfTradePreventionMode"):
        stp = _enum(StpMode, params["selfTradePreventionMode"])
        if stp is None:
            return errors.invalid_parameter("selfTradePreventionMode")
    stop_price = trailing = 0
    if otype in _STOPS:
        if _present(params, "stopPrice"):
            parsed = _amount(
                params, "stopPrice", instrument.tick, spec.quoteAssetPrecision, "PRICE_FILTER"
            )
            if isinstance(parsed, VenueError):
                return parsed
            stop_price = parsed
        if _present(params, "trailingDelta"):
            raw = params["trailingDelta"]
            text = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
            if not text.isdigit() or len(text) > 9 or int(text) == 0:
                return errors.invalid_parameter("trailingDelta")
            trailing = int(text)
        if not stop_price and not trailing:
            return errors.one_of_params("stopPrice", "trailingDelta")
    else:
        for name in ("stopPrice", "trailingDelta"):
            if _present(params, name):
                return errors.param_not_required(name)
    return NewOrder(
        account, side, otype, quantity, price, tif, quote_qty, cid, stp, stop_price, trailing
    )


def _order_ref(
    params: Mapping[str, object], id_name: str, orig_name: str, new_name: str
) -> tuple[int | None, str | None, str | None] | VenueError:
    """An order named by id and/or client id, plus the new client id a request gives it."""
    order_id: int | None = None
    if _present(params, id_name):
        raw = params[id_name]
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            return errors.invalid_parameter(id_name)
        text = str(raw)
        if not text.isdigit() or len(text) > 19:
            return errors.illegal_chars(id_name, "^[0-9]{1,19}$")
        order_id = int(text)
    orig = params.get(orig_name)
    new = params.get(new_name)
    for name, value in ((orig_name, orig), (new_name, new)):
        if value is not None and not isinstance(value, str):
            return errors.invalid_parameter(name)
    if order_id is None and not orig:
        return errors.one_of_params(id_name, orig_name)
    return (
        order_id,
        orig if isinstance(orig, str) and orig else None,
        new if isinstance(new, str) else None,
    )


def _restriction(params: Mapping[str, object], name: str) -> CancelRestriction | VenueError | None:
    if not _present(params, name):
        return None
    raw = params[name]
    if isinstance(raw, CancelRestriction):
        return raw
    try:
        return CancelRestriction(raw)
    except ValueError:
        return errors.INVALID_CANCEL_RESTRICTIONS


def parse_cancel(account: str, params: Mapping[str, object]) -> CancelOrder | VenueError:
    """DELETE /api/v3/order parameters to a `CancelOrder`, or the venue's error."""
    for name in params:
        if name not in CANCEL_PARAMS:
            return errors.unknown_param(name)
    ref = _order_ref(params, "orderId", "origClientOrderId", "newClientOrderId")
    if isinstance(ref, VenueError):
        return ref
    restriction = _restriction(params, "cancelRestrictions")
    if isinstance(restriction, VenueError):
        return restriction
    return CancelOrder(account, *ref, restriction)


def parse_amend(
    instrument: Instrument, account: str, params: Mapping[str, object]
) -> AmendOrder | VenueError:
    """PUT /api/v3/order/amend/keepPriority parameters to an `AmendOrder`."""
    for name in params:
        if name not in AMEND_PARAMS:
            return errors.unknown_param(name)
    ref = _order_ref(params, "orderId", "origClientOrderId", "newClientOrderId")
    if isinstance(ref, VenueError):
        return ref
    if not _present(params, "newQty"):
        return errors.mandatory_param("newQty")
    spec = instrument.spec
    qty = _amount(params, "newQty", instrument.step, spec.baseAssetPrecision, "LOT_SIZE")
    if isinstance(qty, VenueError):
        return qty
    order_id, orig, new = ref
    return AmendOrder(account, qty, order_id, orig, new)


def parse_cancel_replace(
    instrument: Instrument, account: str, params: Mapping[str, object]
) -> CancelReplace | VenueError:
    """POST /api/v3/order/cancelReplace parameters to a `CancelReplace`."""
    cancel_part = {k: v for k, v in params.items() if k in CANCEL_REPLACE_PARAMS}
    order_part = {k: v for k, v in params.items() if k not in CANCEL_REPLACE_PARAMS}
    if not _present(params, "cancelReplaceMode"):
        return errors.mandatory_param("cancelReplaceMode")
    raw_mode = params["cancelReplaceMode"]
    try:
        mode = raw_mode if isinstance(raw_mode, CancelReplaceMode) else CancelReplaceMode(raw_mode)
    except ValueError:
        return errors.invalid_parameter("cancelReplaceMode")
    ref = _order_ref(
        cancel_part, "cancelOrderId", "cancelOrigClientOrderId", "cancelNewClientOrderId"
    )
    if isinstance(ref, VenueError):
        return ref
    restriction = _restriction(cancel_part, "cancelRestrictions")
    if isinstance(restriction, VenueError):
        return restriction
    new = parse_new_order(instrument, account, order_part)
    if isinstance(new, VenueError):
        return new
    return CancelReplace(CancelOrder(account, *ref, restriction), new, mode)


def _leg_params(
    params: Mapping[str, object], prefix: str, side: object, quantity: object
) -> dict[str, object]:
    """A list leg's prefixed parameters (aboveType, abovePrice, ...) as a new order's."""
    out: dict[str, object] = {"side": side, "quantity": quantity}
    for name, key in (
        ("type", "Type"),
        ("price", "Price"),
        ("stopPrice", "StopPrice"),
        ("trailingDelta", "TrailingDelta"),
        ("timeInForce", "TimeInForce"),
        ("newClientOrderId", "ClientOrderId"),
    ):
        value = params.get(prefix + key)
        if value is not None:
            out[name] = value
    return out


def _list_leg(
    instrument: Instrument, account: str, params: dict[str, object], prefix: str
) -> ListLeg | VenueError:
    if "type" not in params:
        return errors.mandatory_param(prefix + "Type")
    if _enum(OrderType, params["type"]) in (OrderType.LIMIT, OrderType.MARKET):
        return errors.OCO_TYPE_REJECTED
    order = parse_new_order(instrument, account, params)
    if isinstance(order, VenueError):
        return order
    return ListLeg(
        order.type, order.price, order.stop_price, order.trailing_delta, order.time_in_force,
        order.client_order_id,
    )  # fmt: skip


def _stp(params: Mapping[str, object]) -> StpMode | VenueError | None:
    if not _present(params, "selfTradePreventionMode"):
        return None
    mode = _enum(StpMode, params["selfTradePreventionMode"])
    return errors.invalid_parameter("selfTradePreventionMode") if mode is None else mode


def _list_cid(params: Mapping[str, object]) -> str | VenueError | None:
    value = params.get("listClientOrderId")
    if value is not None and not isinstance(value, str):
        return errors.invalid_parameter("listClientOrderId")
    return value


def parse_oco(
    instrument: Instrument, account: str, params: Mapping[str, object]
) -> NewOco | VenueError:
    """POST /api/v3/orderList/oco parameters to a `NewOco`."""
    for name in ("side", "quantity", "aboveType", "belowType"):
        if not _present(params, name):
            return errors.mandatory_param(name)
    side = _enum(Side, params["side"])
    if side is None:
        return errors.INVALID_SIDE
    legs = []
    for prefix in ("above", "below"):
        leg = _list_leg(
            instrument, account, _leg_params(params, prefix, params["side"], params["quantity"]),
            prefix,
        )  # fmt: skip
        if isinstance(leg, VenueError):
            return leg
        legs.append(leg)
    quantity = _amount(
        params, "quantity", instrument.step, instrument.spec.baseAssetPrecision, "LOT_SIZE"
    )
    stp, cid = _stp(params), _list_cid(params)
    if isinstance(quantity, VenueError):
        return quantity
    if isinstance(stp, VenueError):
        return stp
    if isinstance(cid, VenueError):
        return cid
    return NewOco(account, side, quantity, legs[0], legs[1], cid, stp)


def _working(
    instrument: Instrument, account: str, params: Mapping[str, object]
) -> NewOrder | VenueError:
    for name in ("workingType", "workingSide", "workingPrice", "workingQuantity"):
        if not _present(params, name):
            return errors.mandatory_param(name)
    leg = _leg_params(params, "working", params["workingSide"], params["workingQuantity"])
    return parse_new_order(instrument, account, leg)


def parse_oto(
    instrument: Instrument, account: str, params: Mapping[str, object]
) -> NewOto | VenueError:
    """POST /api/v3/orderList/oto parameters to a `NewOto`."""
    working = _working(instrument, account, params)
    if isinstance(working, VenueError):
        return working
    for name in ("pendingType", "pendingSide", "pendingQuantity"):
        if not _present(params, name):
            return errors.mandatory_param(name)
    leg = _leg_params(params, "pending", params["pendingSide"], params["pendingQuantity"])
    pending = parse_new_order(instrument, account, leg)
    if isinstance(pending, VenueError):
        return pending
    cid = _list_cid(params)
    if isinstance(cid, VenueError):
        return cid
    return NewOto(working, pending, cid)


def parse_otoco(
    instrument: Instrument, account: str, params: Mapping[str, object]
) -> NewOtoco | VenueError:
    """POST /api/v3/orderList/otoco parameters to a `NewOtoco`."""
    working = _working(instrument, account, params)
    if isinstance(working, VenueError):
        return working
    for name in ("pendingSide", "pendingQuantity", "pendingAboveType", "pendingBelowType"):
        if not _present(params, name):
            return errors.mandatory_param(name)
    side = _enum(Side, params["pendingSide"])
    if side is None:
        return errors.INVALID_SIDE
    legs = []
    for prefix in ("pendingAbove", "pendingBelow"):
        fields = _leg_params(params, prefix, params["pendingSide"], params["pendingQuantity"])
        leg = _list_leg(instrument, account, fields, prefix)
        if isinstance(leg, VenueError):
            return leg
        legs.append(leg)
    quantity = _amount(
        params, "pendingQuantity", instrument.step, instrument.spec.baseAssetPrecision, "LOT_SIZE"
    )
    cid = _list_cid(params)
    if isinstance(quantity, VenueError):
        return quantity
    if isinstance(cid, VenueError):
        return cid
    return NewOtoco(working, side, quantity, legs[0], legs[1], cid)


def parse_cancel_list(account: str, params: Mapping[str, object]) -> CancelOrderList | VenueError:
    """DELETE /api/v3/orderList parameters to a `CancelOrderList`."""
    ref = _order_ref(params, "orderListId", "listClientOrderId", "newClientOrderId")
    if isinstance(ref, VenueError):
        return ref
    return CancelOrderList(account, *ref)
