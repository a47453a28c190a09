"""What the venue answers to accepted requests: `Ack`, `ListAck` and `CancelReplaceResult`."""

from __future__ import annotations

from typing import NamedTuple

from bot4.core import errors
from bot4.core.enums import ContingencyType, ListOrderStatus, OrderStatus
from bot4.core.errors import VenueError
from bot4.core.events import ExecutionReport, ListStatus
from bot4.core.orders import OrderView


class Ack(NamedTuple):
    """The answer to an accepted request: the order's state after it, and its reports."""

    order_id: int
    client_order_id: str
    status: OrderStatus
    executed_qty: int  # lots
    cum_quote: int  # tick-lots
    transact_time: int
    reports: tuple[ExecutionReport, ...]
    list_statuses: tuple[ListStatus, ...] = ()


class ListAck(NamedTuple):
    """The answer to an order-list request: the list, its legs now, and the events."""

    order_list_id: int
    list_client_order_id: str
    contingency_type: ContingencyType
    list_order_status: ListOrderStatus
    orders: tuple[OrderView, ...]
    transact_time: int
    reports: tuple[ExecutionReport, ...]
    list_statuses: tuple[ListStatus, ...]


class CancelReplaceResult(NamedTuple):
    """Both halves of a cancel-replace; `new` is None when it was not attempted."""

    cancel: Ack | VenueError
    new: Ack | VenueError | None

    @property
    def error(self) -> VenueError | None:
        """None when both succeeded, else -2021 (one failed) or -2022 (nothing was done)."""
        cancel_ok, new_ok = isinstance(self.cancel, Ack), isinstance(self.new, Ack)
        if cancel_ok and new_ok:
            return None
        if cancel_ok or new_ok:
            return errors.CANCEL_REPLACE_PARTIALLY_FAILED
        return errors.CANCEL_REPLACE_FAILED
