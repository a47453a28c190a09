"""The matching engine's shared rules and shorthands: the client-id pattern, the status,
type and STP aliases its hot paths read as globals, and the refusals of bad references."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot4.core import errors
from bot4.core.enums import (
    CancelReplaceMode,
    CancelRestriction,
    ExecutionType,
    ExpiryReason,
    OrderStatus,
    OrderType,
    Side,
    StpMode,
    SymbolStatus,
    TimeInForce,
)
from bot4.core.errors import VenueError
from bot4.core.events import ExecutionReport
from bot4.core.orders import CancelOrder, CancelReplace, NewOrder
from bot4.core.results import Ack, CancelReplaceResult

CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
CLIENT_ID_PATTERN = CLIENT_ID_RE.pattern

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET, LIMIT_MAKER = OrderType.LIMIT, OrderType.MARKET, OrderType.LIMIT_MAKER
STOP_LOSS, TAKE_PROFIT = OrderType.STOP_LOSS, OrderType.TAKE_PROFIT
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
NEW, PARTIAL, FILLED = OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED
CANCELED, EXPIRED = OrderStatus.CANCELED, OrderStatus.EXPIRED
X_NEW, X_TRADE = ExecutionType.NEW, ExecutionType.TRADE
X_CANCELED, X_EXPIRED = ExecutionType.CANCELED, ExecutionType.EXPIRED
X_REPLACED, X_REJECTED = ExecutionType.REPLACED, ExecutionType.REJECTED
X_PREVENTED, EXPIRED_IN_MATCH = ExecutionType.TRADE_PREVENTION, OrderStatus.EXPIRED_IN_MATCH
STP_NONE, EXPIRE_MAKER, EXPIRE_TAKER = StpMode.NONE, StpMode.EXPIRE_MAKER, StpMode.EXPIRE_TAKER
EXPIRE_BOTH, TRANSFER, DECREMENT = StpMode.EXPIRE_BOTH, StpMode.TRANSFER, StpMode.DECREMENT
NO_STP = (-1, 0, -1)  # no prevented match: (prevented_match_id, last_prevented, counter order)
NO_EXPIRY = ExpiryReason.NONE
NO_LIQUIDITY = ExpiryReason.INSUFFICIENT_LIQUIDITY
FOK_EXPIRED = ExpiryReason.UNFILLED_FOK_ORDER_EXPIRED
IOC_EXPIRED = ExpiryReason.UNFILLED_IOC_QUANTITY_EXPIRED
TRADING = SymbolStatus.TRADING
ONLY_NEW = CancelRestriction.ONLY_NEW
ONLY_PARTIAL = CancelRestriction.ONLY_PARTIALLY_FILLED

_TYPE_NAMES = {
    OrderType.LIMIT: "Limit orders",
    OrderType.MARKET: "Market orders",
    OrderType.LIMIT_MAKER: "Limit maker orders",
    OrderType.STOP_LOSS: "Stop loss orders",
    OrderType.STOP_LOSS_LIMIT: "Stop loss limit orders",
    OrderType.TAKE_PROFIT: "Take profit orders",
    OrderType.TAKE_PROFIT_LIMIT: "Take profit limit orders",
}

_new_tuple = tuple.__new__


EventSink = Callable[[list[ExecutionReport]], None]


def _bad_client_id(name: str, value: object) -> VenueError:
    if type(value) is not str:
        return errors.invalid_parameter(name)
    if value == "":
        return errors.EMPTY_NEW_CL_ORD_ID
    return errors.illegal_chars(name, CLIENT_ID_PATTERN)


def _bad_reference(account: object, order_id: object, client_order_id: object) -> VenueError | None:
    """In-process callers can put anything in a request: an account that is not a string, an
    orderId that is not an int (a float 1.0 would find order 1), a client id that is not a
    string is refused with a typed error, never a TypeError."""
    if type(account) is not str:
        return errors.UNKNOWN_ACCOUNT
    if order_id is not None and type(order_id) is not int:
        return errors.invalid_parameter("orderId")
    if client_order_id is not None and type(client_order_id) is not str:
        return errors.invalid_parameter("origClientOrderId")
    return None


def cancel_replace(
    allowed: bool,
    check: Callable[[NewOrder, int], VenueError | None],
    cancel: Callable[[CancelOrder, int], Ack | VenueError],
    submit: Callable[[NewOrder, int], Ack | VenueError],
    req: CancelReplace,
    now: int,
) -> CancelReplaceResult | VenueError:
    """Cancel an order, then place a new one (STOP_ON_FAILURE or ALLOW_FAILURE), on an engine
    given by its `check` (shape and filters), `cancel` and `submit`: both backends' front.

    The new order's shape and filters are checked first: a request that fails them does
    nothing and gets that error. The new order goes to the back of its price level.
    """
    if not allowed:
        return errors.CANCEL_REPLACE_NOT_SUPPORTED
    mode: object = req.mode
    if not isinstance(mode, CancelReplaceMode):
        return errors.invalid_parameter("cancelReplaceMode")
    if req.cancel.account != req.new.account:
        return errors.invalid_parameter("account")
    error = check(req.new, now)
    if error is not None:
        return error
    cancelled = cancel(req.cancel, now)
    if isinstance(cancelled, VenueError) and mode is CancelReplaceMode.STOP_ON_FAILURE:
        return CancelReplaceResult(cancelled, None)
    return CancelReplaceResult(cancelled, submit(req.new, now))
