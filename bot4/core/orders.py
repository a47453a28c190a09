"""Order requests (immutable, in integers) and the live order state the engine keeps."""

from __future__ import annotations

from typing import NamedTuple

from bot4.core.accounts import Balance
from bot4.core.enums import (
    CancelReplaceMode,
    CancelRestriction,
    OrderStatus,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)


class NewOrder(NamedTuple):
    """A new-order request in engine units.

    `price` is in ticks (0 for MARKET), `quantity` in lots (0 for a MARKET order sized by
    `quote_order_qty`, which is in quote-asset units). `client_order_id` None lets the engine
    assign one.
    """

    account: str
    side: Side
    type: OrderType
    quantity: int = 0
    price: int = 0
    time_in_force: TimeInForce | None = None
    quote_order_qty: int = 0
    client_order_id: str | None = None
    stp_mode: StpMode | None = None  # None: the symbol's defaultSelfTradePreventionMode
    stop_price: int = 0  # ticks; stop and take-profit types
    trailing_delta: int = 0  # basis points; stop and take-profit types


class CancelOrder(NamedTuple):
    """Cancel by `order_id`, by `orig_client_order_id`, or both (then they must agree)."""

    account: str
    order_id: int | None = None
    orig_client_order_id: str | None = None
    new_client_order_id: str | None = None
    restriction: CancelRestriction | None = None


class AmendOrder(NamedTuple):
    """Amend keep-priority: lower an open order's quantity to `new_qty` lots, keeping its place.

    The order gets `new_client_order_id`, or a generated id when None, as on the venue.
    """

    account: str
    new_qty: int
    order_id: int | None = None
    orig_client_order_id: str | None = None
    new_client_order_id: str | None = None


class ListLeg(NamedTuple):
    """One leg of an OCO pair (the list gives side and quantity)."""

    type: OrderType
    price: int = 0
    stop_price: int = 0
    trailing_delta: int = 0
    time_in_force: TimeInForce | None = None
    client_order_id: str | None = None


class NewOco(NamedTuple):
    """One-cancels-the-other: an `above` and a `below` leg for the same side and quantity."""

    account: str
    side: Side
    quantity: int
    above: ListLeg
    below: ListLeg
    list_client_order_id: str | None = None
    stp_mode: StpMode | None = None


class NewOto(NamedTuple):
    """One-triggers-the-other: `pending` is placed once `working` (LIMIT/LIMIT_MAKER) fills."""

    working: NewOrder
    pending: NewOrder
    list_client_order_id: str | None = None


class NewOtoco(NamedTuple):
    """One-triggers-one-cancels-the-other: an OCO pair placed once `working` fills."""

    working: NewOrder
    pending_side: Side
    pending_quantity: int
    above: ListLeg
    below: ListLeg
    list_client_order_id: str | None = None


class CancelOrderList(NamedTuple):
    """Cancel a whole list by orderListId and/or listClientOrderId."""

    account: str
    order_list_id: int | None = None
    list_client_order_id: str | None = None
    new_client_order_id: str | None = None


class CancelReplace(NamedTuple):
    """Cancel an order and place a new one on the same symbol (not atomic: priority is lost)."""

    cancel: CancelOrder
    new: NewOrder
    mode: CancelReplaceMode = CancelReplaceMode.STOP_ON_FAILURE


_NEW = OrderStatus.NEW


class Order:
    """An accepted order as the engine tracks it (mutable, owned by one engine).

    `leaves` is the quantity still working (qty - executed - prevented while open); `locked`
    the asset units still locked for it (quote for a BUY, base for a SELL). cum_quote is in
    tick-lots (price ticks x lots).
    `base_bal`/`quote_bal` are the owner's live balances, so a fill touches no lookup table.
    """

    __slots__ = (
        "account",
        "amends",
        "base_bal",
        "client_order_id",
        "created",
        "cum_qty",
        "cum_quote",
        "head",
        "leaves",
        "list_id",
        "locked",
        "order_id",
        "prevented",
        "price",
        "qty",
        "quote_bal",
        "quote_order_qty",
        "side",
        "status",
        "stop_price",
        "stp_key",
        "stp_mode",
        "tif",
        "trail_ref",
        "trailing_delta",
        "trailing_time",
        "type",
        "working_time",
    )

    def __init__(
        self,
        order_id: int,
        client_order_id: str,
        account: str,
        side: Side,
        type_: OrderType,
        tif: TimeInForce | None,
        price: int,
        qty: int,
        quote_order_qty: int,
        created: int,
        symbol: str,
        base_bal: Balance,
        quote_bal: Balance,
        stp_mode: StpMode = StpMode.NONE,
        stp_key: str | int = "",
        stop_price: int = 0,
        trailing_delta: int = 0,
        list_id: int = -1,
    ) -> None:
        self.order_id = order_id
        self.client_order_id = client_order_id
        self.account = account
        self.side = side
        self.type = type_
        self.tif = tif
        self.price = price
        self.qty = qty
        self.quote_order_qty = quote_order_qty
        self.leaves = qty
        self.cum_qty = 0
        self.cum_quote = 0
        self.locked = 0
        self.status = _NEW
        self.created = created
        self.working_time = created
        self.base_bal = base_bal
        self.quote_bal = quote_bal
        self.stp_mode = stp_mode
        self.stp_key = stp_key  # the account, or its tradeGroupId: equal keys self-trade
        self.prevented = 0  # quantity removed by self-trade prevention
        self.amends = 0
        self.stop_price = stop_price
        self.trailing_delta = trailing_delta
        self.trail_ref: int | None = None  # a trailing order's low (BUY) or high (SELL)
        self.trailing_time = -1
        self.list_id = list_id  # orderListId, -1 when not in a list
        # the leading fields of every report about this order (see events.ExecutionReport)
        self.head = (
            symbol, account, order_id, client_order_id, side, type_, tif, price, qty,
            quote_order_qty, created, created, stp_mode, stop_price, trailing_delta, list_id,
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"Order(id={self.order_id}, {self.side.value} {self.type.value} "
            f"{self.qty}@{self.price}, leaves={self.leaves}, {self.status.value})"
        )


class OrderView(NamedTuple):
    """A read-only snapshot of an order, as a query returns it."""

    order_id: int
    client_order_id: str
    account: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce | None
    price: int
    orig_qty: int
    executed_qty: int
    cum_quote: int
    quote_order_qty: int
    status: OrderStatus
    time: int
    working_time: int
    stp_mode: StpMode
    prevented_qty: int
    stop_price: int
    trailing_delta: int
    trailing_time: int
    order_list_id: int = -1  # -1 when not in a list

    @classmethod
    def of(cls, order: Order) -> OrderView:
        return cls(
            order.order_id,
            order.client_order_id,
            order.account,
            order.side,
            order.type,
            order.tif,
            order.price,
            order.qty,
            order.cum_qty,
            order.cum_quote,
            order.quote_order_qty,
            order.status,
            order.created,
            order.working_time,
            order.stp_mode,
            order.prevented,
            order.stop_price,
            order.trailing_delta,
            order.trailing_time,
            order.list_id,
        )


class RestingOrder(NamedTuple):
    """An order resting on the book (level 3): what is left of it at its price."""

    order_id: int
    account: str
    side: Side
    price: int  # ticks
    leaves: int  # lots
