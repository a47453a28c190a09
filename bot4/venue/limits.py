"""Exchange-level filters: limits per account over every symbol of a venue.

`exchangeInfo.exchangeFilters` caps what one account may have open on the whole exchange:
EXCHANGE_MAX_NUM_ORDERS (open orders, list legs included), EXCHANGE_MAX_NUM_ALGO_ORDERS
(stop orders waiting for their trigger) and EXCHANGE_MAX_NUM_ORDER_LISTS (open order lists).
The engines of one venue share one `ExchangeLimits`: they count what opens and ends, and ask
it before accepting more. A refusal is "-1013 Filter failure: EXCHANGE_MAX_NUM_...".
"""

from __future__ import annotations

from collections.abc import Iterable

from bot4.core import errors
from bot4.core.errors import VenueError
from bot4.core.filters import (
    ExchangeFilter,
    ExchangeMaxNumAlgoOrders,
    ExchangeMaxNumOrderLists,
    ExchangeMaxNumOrders,
)


class ExchangeLimits:
    """The exchange filters of a venue and each account's open counts over all its symbols."""

    __slots__ = ("algo", "lists", "max_algo", "max_lists", "max_orders", "orders")

    def __init__(
        self,
        max_orders: int | None = None,
        max_algo: int | None = None,
        max_lists: int | None = None,
    ) -> None:
        self.max_orders = max_orders
        self.max_algo = max_algo
        self.max_lists = max_lists
        self.orders: dict[str, int] = {}
        self.algo: dict[str, int] = {}
        self.lists: dict[str, int] = {}

    @classmethod
    def from_filters(cls, filters: Iterable[ExchangeFilter]) -> ExchangeLimits | None:
        """The limits the filters set, or None when none of them limits anything bot4 does."""
        limits = cls()
        for flt in filters:
            if isinstance(flt, ExchangeMaxNumOrders):
                limits.max_orders = flt.maxNumOrders
            elif isinstance(flt, ExchangeMaxNumAlgoOrders):
                limits.max_algo = flt.maxNumAlgoOrders
            elif isinstance(flt, ExchangeMaxNumOrderLists):
                limits.max_lists = flt.maxNumOrderLists
        if limits.max_orders is None and limits.max_algo is None and limits.max_lists is None:
            return None
        return limits

    def check(
        self, account: str, orders: int = 0, algo: int = 0, lists: int = 0
    ) -> VenueError | None:
        """Whether `account` may open this many more orders, algo orders and lists."""
        for more, limit, counts, name in (
            (orders, self.max_orders, self.orders, "EXCHANGE_MAX_NUM_ORDERS"),
            (algo, self.max_algo, self.algo, "EXCHANGE_MAX_NUM_ALGO_ORDERS"),
            (lists, self.max_lists, self.lists, "EXCHANGE_MAX_NUM_ORDER_LISTS"),
        ):
            if more and limit is not None and counts.get(account, 0) + more > limit:
                return errors.filter_failure(name)
        return None

    @staticmethod
    def add(counts: dict[str, int], account: str, n: int) -> None:
        """Count `n` (may be negative) more for `account` in one of the three tallies."""
        total = counts.get(account, 0) + n
        if total:
            counts[account] = total
        else:
            del counts[account]
