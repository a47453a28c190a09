"""Order lists: OCO, OTO and OTOCO as the venue defines them (rest-api.md, enums.md).

An OCO pairs an `above` and a `below` leg on one side: for a SELL the stop-loss leg is below
and the LIMIT_MAKER or take-profit leg above; for a BUY the other way round. When one leg
activates (its stop triggers, or the LIMIT_MAKER leg fills at all) the other expires. An OTO
places its pending leg(s) only when the working LIMIT/LIMIT_MAKER leg is completely filled;
if the working leg ends any other way the pending legs expire. Cancelling any leg cancels the
whole list. This module holds the list state and the leg rules; the engine moves the orders.
"""

from __future__ import annotations

from bot4.core.enums import (
    STOP_LOSSES,
    TAKE_PROFITS,
    ContingencyType,
    ListOrderStatus,
    ListStatusType,
    OrderType,
    Side,
)
from bot4.core.errors import (
    BAD_PRICES,
    BOTH_CANNOT_BE_LIMIT,
    BUY_LIMIT_MUST_BE_BELOW,
    BUY_PROFIT_MUST_BE_BELOW,
    BUY_STOP_MUST_BE_ABOVE,
    OCO_TYPE_REJECTED,
    SELL_LIMIT_MUST_BE_ABOVE,
    SELL_PROFIT_MUST_BE_ABOVE,
    SELL_STOP_MUST_BE_BELOW,
    VenueError,
)
from bot4.core.orders import ListLeg, Order

OCO_TYPES = STOP_LOSSES | TAKE_PROFITS | {OrderType.LIMIT_MAKER}
WORKING_TYPES = frozenset({OrderType.LIMIT, OrderType.LIMIT_MAKER})


def check_oco_legs(side: Side, above: ListLeg, below: ListLeg) -> VenueError | None:
    """The venue's leg-type and position rules of an OCO pair."""
    for leg in (above, below):
        if leg.type not in OCO_TYPES:
            return OCO_TYPE_REJECTED
    if above.type not in STOP_LOSSES and below.type not in STOP_LOSSES:
        if above.type is OrderType.LIMIT_MAKER and below.type is OrderType.LIMIT_MAKER:
            return BOTH_CANNOT_BE_LIMIT
        if above.type in TAKE_PROFITS and below.type in TAKE_PROFITS:
            return BUY_PROFIT_MUST_BE_BELOW if side is Side.BUY else SELL_PROFIT_MUST_BE_ABOVE
    if side is Side.SELL:
        if above.type in STOP_LOSSES:
            return SELL_STOP_MUST_BE_BELOW
        if below.type is OrderType.LIMIT_MAKER:
            return SELL_LIMIT_MUST_BE_ABOVE
        if below.type in TAKE_PROFITS:
            return SELL_PROFIT_MUST_BE_ABOVE
    else:
        if below.type in STOP_LOSSES:
            return BUY_STOP_MUST_BE_ABOVE
        if above.type is OrderType.LIMIT_MAKER:
            return BUY_LIMIT_MUST_BE_BELOW
        if above.type in TAKE_PROFITS:
            return BUY_PROFIT_MUST_BE_BELOW
    return None


def _level(leg: ListLeg) -> int:
    """The price a leg stands for: a LIMIT_MAKER's or _LIMIT's price, a market leg's stop."""
    if leg.type is OrderType.LIMIT_MAKER or leg.type is OrderType.TAKE_PROFIT_LIMIT:
        return leg.price
    return leg.stop_price


def check_oco_prices(above: ListLeg, below: ListLeg, last: int | None) -> VenueError | None:
    """Above leg's level > last price > below leg's level (a trailing-only leg has none)."""
    high, low = _level(above), _level(below)
    if high and low and high <= low:
        return BAD_PRICES
    if last is not None and ((high and high <= last) or (low and low >= last)):
        return BAD_PRICES
    return None


class OrderList:
    """One order list's legs and status."""

    __slots__ = (
        "account",
        "client_id",
        "contingency",
        "list_id",
        "oco",
        "oco_done",
        "orders",
        "pending",
        "status",
        "working",
    )

    def __init__(
        self, list_id: int, client_id: str, account: str, contingency: ContingencyType
    ) -> None:
        self.list_id = list_id
        self.client_id = client_id
        self.account = account
        self.contingency = contingency
        self.orders: list[Order] = []  # every leg, in placement order
        self.working: Order | None = None  # OTO/OTOCO first leg
        self.pending: list[Order] = []  # OTO/OTOCO legs placed when `working` fills
        self.oco: list[Order] = []  # the OCO pair (OCO, or OTOCO's pending legs)
        self.oco_done = False  # one OCO leg has activated
        self.status = ListOrderStatus.EXECUTING

    def status_type(self) -> ListStatusType:
        done = self.status is ListOrderStatus.ALL_DONE
        return ListStatusType.ALL_DONE if done else ListStatusType.EXEC_STARTED
