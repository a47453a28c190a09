"""Order state: what an engine holds, queries over it, its digest, and its reports."""

from __future__ import annotations

import hashlib
from collections import deque
from fractions import Fraction

from bot4.core import errors
from bot4.core.accounts import Balance, Ledger
from bot4.core.enums import (
    STOP_TYPES,
    ExecutionType,
    ExpiryReason,
    OrderStatus,
    Side,
)
from bot4.core.errors import VenueError
from bot4.core.events import ExecutionReport, ListStatus
from bot4.core.instruments import Instrument
from bot4.core.orders import (
    NewOrder,
    Order,
    OrderView,
    RestingOrder,
)
from bot4.core.results import Ack
from bot4.venue.avgprice import AveragePrice
from bot4.venue.book import BookSide
from bot4.venue.feebook import FeeBook, FeeRef
from bot4.venue.limits import ExchangeLimits
from bot4.venue.lists import OrderList
from bot4.venue.rules import (
    BUY,
    CANCELED,
    EXPIRED,
    NO_EXPIRY,
    X_CANCELED,
    X_EXPIRED,
    EventSink,
    _bad_reference,
    _new_tuple,
)
from bot4.venue.stops import StopBook


class OrderState:
    """The engine's state (the base of `MatchingEngine`): its orders, books, lists and counters."""

    def __init__(
        self,
        instrument: Instrument,
        ledger: Ledger | None = None,
        *,
        reference_price: int | None = None,
        history: int = 10_000,
        on_events: EventSink | None = None,
        fees: FeeBook | None = None,
        exchange: ExchangeLimits | None = None,
    ) -> None:
        """`reference_price` (ticks) seeds the average price before the first trade;
        `history` bounds how many ended orders stay queryable; `on_events` receives every
        request's reports in order (the journal hook); `fees` is the venue's shared fee book
        (default: this symbol's flat makerCommission/takerCommission); `exchange` holds the
        venue's exchange-level filters, shared by its engines."""
        self.instrument = instrument
        self.ledger = ledger if ledger is not None else Ledger()
        if fees is not None and fees.ledger is not self.ledger:
            raise ValueError("the fee book must use the engine's ledger")
        self.fees = fees if fees is not None else FeeBook(None, self.ledger)
        self.fees.attach(instrument, self._last_price)
        self._flat_ref = FeeRef("", instrument)  # stands in for every account without a schedule
        self._fee_refs: dict[str, FeeRef] = {}
        self._ex = exchange
        self._symbol = instrument.symbol
        self.status = instrument.spec.status
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        self.avg_price = AveragePrice(instrument.avg_price_mins, reference_price)
        self.on_events = on_events
        self.history = history
        self.seq = 0
        self.last_order_id = 0
        self.last_trade_id = 0
        self.traded_ticklots = 0  # price x quantity over every trade (metrics read it)
        self.last_prevented_match_id = -1
        self._open: dict[int, Order] = {}
        self._by_client: dict[tuple[str, str], Order] = {}
        self._open_count: dict[str, int] = {}
        self._key_open: dict[str | int, int] = {}  # open orders per tradeGroupId key
        self._done: dict[int, Order] = {}
        self._done_ids: deque[int] = deque()
        self._done_by_client: dict[tuple[str, str], Order] = {}
        self.stops = StopBook()
        self._algo_count: dict[str, int] = {}  # waiting stop orders per account
        self._trade_prices: list[int] = []  # prices traded since stops were last checked
        self._firing: set[int] = set()  # stops triggered by one price, not yet activated
        self.last_order_list_id = -1
        self._lists: dict[int, OrderList] = {}  # open order lists
        self._list_by_client: dict[tuple[str, str], OrderList] = {}
        self._ended_legs: list[Order] = []  # list legs that ended, for _settle_lists
        self._list_events: list[ListStatus] = []
        self._balances: dict[str, tuple[Balance, Balance]] = {}
        self._types = tuple(instrument.spec.orderTypes)  # `in` by identity: no enum hashing
        self._stp_default = instrument.spec.defaultSelfTradePreventionMode
        self._known = self.ledger.known  # the ledger's own set and dict, read on the hot path
        self._groups = self.ledger.trade_groups
        self._stp_allowed = tuple(instrument.spec.allowedSelfTradePreventionModes)
        self._band_ref: tuple[int, int] | None = None
        self._bid_band = self._ask_band = (0, 0)

    def _lock(self, order: Order, amount: int) -> None:
        bal = order.quote_bal if order.side is BUY else order.base_bal
        bal.free -= amount
        bal.locked += amount
        order.locked += amount

    def _algo_added(self, account: str) -> None:
        self._algo_count[account] = self._algo_count.get(account, 0) + 1
        if self._ex is not None:
            self._ex.add(self._ex.algo, account, 1)

    def _algo_done(self, account: str) -> None:
        count = self._algo_count[account] - 1
        if count:
            self._algo_count[account] = count
        else:
            del self._algo_count[account]
        if self._ex is not None:
            self._ex.add(self._ex.algo, account, -1)

    def get_order(
        self, account: str, order_id: int | None = None, client_order_id: str | None = None
    ) -> OrderView | VenueError:
        """An order's current state (open, or ended within the last `history` orders)."""
        if order_id is None and client_order_id is None:
            return errors.one_of_params("orderId", "origClientOrderId")
        bad = _bad_reference(account, order_id, client_order_id)
        if bad is not None:
            return bad
        order: Order | None = None
        if order_id is not None:
            order = self._open.get(order_id) or self._done.get(order_id)
            if (
                order is not None
                and client_order_id is not None
                and order.client_order_id != client_order_id
            ):
                return errors.CLIENT_ORDER_ID_MISMATCH
        else:
            key = (account, client_order_id or "")
            order = self._by_client.get(key) or self._done_by_client.get(key)
        if order is None or order.account != account:
            return errors.NO_SUCH_ORDER
        return OrderView.of(order)

    def is_open(self, order_id: int) -> bool:
        """Whether the order is still working on the book."""
        return order_id in self._open

    def open_orders(self, account: str | None = None) -> list[OrderView]:
        """Open orders (of one account, or all), oldest first."""
        return [
            OrderView.of(o) for o in self._open.values() if account is None or o.account == account
        ]

    def book_orders(self, side: Side) -> list[RestingOrder]:
        """The orders resting on one side (level 3), best price first, then time priority."""
        book = self.bids if side is BUY else self.asks
        return [
            RestingOrder(o.order_id, o.account, o.side, o.price, o.leaves) for o in book.orders()
        ]

    def waiting_stops(self) -> list[int]:
        """The ids of the stop orders waiting for their trigger, in the order they were parked."""
        return list(self.stops.orders)

    def open_locks(self) -> dict[int, int]:
        """What each open order holds locked (asset units: quote for a BUY, base for a SELL)."""
        return {order_id: o.locked for order_id, o in self._open.items()}

    def depth(self, limit: int = 100) -> dict[str, list[tuple[int, int]]]:
        """Aggregated book: (price ticks, quantity lots), best first."""
        return {"bids": self.bids.depth(limit), "asks": self.asks.depth(limit)}

    def best_bid(self) -> int | None:
        return self.bids.best()

    def last_price(self) -> int | None:
        """The last trade price in ticks (or the reference price before any trade)."""
        return self.avg_price.last

    def best_ask(self) -> int | None:
        return self.asks.best()

    def state_digest(self) -> str:
        """A hash of the whole symbol state: book in priority order, ids, counters, balances."""
        h = hashlib.sha256()
        h.update(
            f"{self.seq}|{self.last_order_id}|{self.last_trade_id}|{self.status.value}|"
            f"{self.last_prevented_match_id}|{self.last_order_list_id}\n".encode()
        )
        for order in self.bids.orders() + self.asks.orders():
            h.update(
                f"{order.order_id}|{order.client_order_id}|{order.account}|{order.side.value}|"
                f"{order.price}|{order.qty}|{order.leaves}|{order.cum_qty}|{order.cum_quote}|"
                f"{order.locked}|{order.status.value}|{order.stp_mode.value}|{order.stp_key}|"
                f"{order.prevented}|{order.list_id}\n".encode()
            )
        for order in self.stops.orders.values():
            h.update(
                f"stop|{order.order_id}|{order.client_order_id}|{order.account}|"
                f"{order.side.value}|{order.type.value}|{order.stop_price}|"
                f"{order.trailing_delta}|{order.trail_ref}|{order.leaves}|{order.locked}\n".encode()
            )
        for lst in self._lists.values():
            legs = ",".join(f"{o.order_id}:{o.status.value}" for o in lst.orders)
            h.update(f"list|{lst.list_id}|{lst.client_id}|{lst.oco_done}|{legs}\n".encode())
        h.update(repr(self.avg_price.state()).encode())
        h.update(self.ledger.digest().encode())
        return h.hexdigest()

    def _account(self, account: str) -> tuple[Balance, Balance]:
        """The account's base and quote balances (read-only until an order is accepted)."""
        pair = self._balances.get(account)
        if pair is None:
            inst = self.instrument
            pair = self._balances[account] = (
                self.ledger.balance(account, inst.base),
                self.ledger.balance(account, inst.quote),
            )
        return pair

    def _fee_ref(self, account: str) -> None:
        """Register the account with the fee book, once its first order here is accepted.

        Not when its balances are first read: a request refused after that (balance, a
        LIMIT_MAKER that would match) must leave the venue's fee state as it was."""
        if account not in self._fee_refs:
            self._fee_refs[account] = self.fees.ref(account, self.instrument)

    def _last_price(self) -> Fraction | None:
        """The last trade price as quote per base (for the fee book's conversions)."""
        last = self.avg_price.last
        return None if last is None else last * Fraction(self.instrument.tick)

    def _new_order(
        self, req: NewOrder, qty: int, now: int, base: Balance, quote: Balance, list_id: int = -1
    ) -> Order:
        """An Order object for an accepted request, with the next orderId (nothing locked)."""
        account, side, otype, _, price, tif, qoq, cid, stp, stop_price, trailing = req
        self._fee_ref(account)
        self.last_order_id += 1
        oid = self.last_order_id
        if cid is None:
            cid = f"bot4-{oid}"
            while (account, cid) in self._by_client:
                cid = "x" + cid
        return Order(
            oid, cid, account, side, otype, tif, price, qty, qoq, now,
            self._symbol, base, quote, stp or self._stp_default,
            self.ledger.stp_key(account), stop_price, trailing, list_id,
        )  # fmt: skip

    def _register(self, order: Order) -> None:
        """Count an order as open (on the book, or waiting for its stop trigger)."""
        self._open[order.order_id] = order
        self._by_client[(order.account, order.client_order_id)] = order
        self._open_count[order.account] = self._open_count.get(order.account, 0) + 1
        if self._ex is not None:
            self._ex.add(self._ex.orders, order.account, 1)
        key = order.stp_key
        if key is not order.account:
            self._key_open[key] = self._key_open.get(key, 0) + 1

    def _retire(self, order: Order) -> None:
        """Forget an order that has left the book."""
        if order.list_id >= 0:
            self._ended_legs.append(order)
        del self._open[order.order_id]
        del self._by_client[(order.account, order.client_order_id)]
        count = self._open_count[order.account] - 1
        if count:
            self._open_count[order.account] = count
        else:
            del self._open_count[order.account]
        if self._ex is not None:
            self._ex.add(self._ex.orders, order.account, -1)
        key = order.stp_key
        if key is not order.account:
            count = self._key_open[key] - 1
            if count:
                self._key_open[key] = count
            else:
                del self._key_open[key]

    def _remember(self, order: Order) -> None:
        """Keep an ended order queryable, evicting the oldest beyond `history`."""
        self._done[order.order_id] = order
        self._done_by_client[(order.account, order.client_order_id)] = order
        ids = self._done_ids
        ids.append(order.order_id)
        if len(ids) > self.history:
            old = self._done.pop(ids.popleft())
            key = (old.account, old.client_order_id)
            if self._done_by_client.get(key) is old:
                del self._done_by_client[key]

    def _release(self, order: Order) -> None:
        """Return whatever is still locked for an order that has ended."""
        left = order.locked
        if left:
            bal = order.quote_bal if order.side is BUY else order.base_bal
            bal.locked -= left
            bal.free += left
            order.locked = 0

    # Ending an order-list leg: an OCO leg that activated (triggered, or filled at all) ends
    # its sibling at once, in the middle of the fill that activated it, so that the same taker
    # cannot go on to fill the sibling too. So does a leg that self-trade prevention expired,
    # so that no trigger later in the same request activates the sibling, which shares the
    # lock the expired leg gave back. Matching and the contingent layer both call it.

    def _oco_activated(
        self, order: Order, now: int, out: list[ExecutionReport], inherit: bool = True
    ) -> None:
        """One OCO leg activated (triggered, or filled at all) or, with `inherit` False, was
        expired in a match: its sibling expires.

        A triggered leg takes over its sibling's lock; a filled limit leg lets it go.
        """
        lst = self._lists.get(order.list_id)
        if lst is None or lst.oco_done or order not in lst.oco:
            return
        lst.oco_done = True
        heir = order if inherit else None
        for sibling in lst.oco:
            if sibling is order or not sibling.leaves or sibling.status is OrderStatus.PENDING_NEW:
                continue
            self._expire_leg(sibling, ExpiryReason.OCO_TRIGGER, now, out, heir=heir)

    def _expire_leg(
        self,
        order: Order,
        reason: ExpiryReason,
        now: int,
        out: list[ExecutionReport],
        heir: Order | None = None,
        status: OrderStatus = EXPIRED,
        client_order_id: str | None = None,
    ) -> None:
        """End a list leg (EXPIRED or CANCELED) wherever it waits; `heir` inherits its lock."""
        if order.order_id in self.stops.orders:
            self.stops.remove(order)
            self._algo_done(order.account)
        elif order.order_id in self._firing:  # triggered, not yet working: off every book
            self._firing.discard(order.order_id)
            self._algo_done(order.account)
        elif order.status is not OrderStatus.PENDING_NEW:
            (self.bids if order.side is BUY else self.asks).unlink(order, order.leaves)
        if heir is not None and heir.type in STOP_TYPES and order.locked:
            heir.locked += order.locked
            order.locked = 0
        order.status = status
        order.leaves = 0
        self._release(order)
        self._retire(order)
        self._remember(order)
        self.seq += 1
        if status is CANCELED:
            head = order.head
            cancel_id = client_order_id or f"cancel-{order.order_id}"
            out.append(
                _new_tuple(
                    ExecutionReport,
                    (*head[:3], cancel_id, *head[4:], self.seq, order.client_order_id,
                     X_CANCELED, CANCELED, NO_EXPIRY, 0, 0, order.cum_qty, order.cum_quote, 0,
                     "", -1, False, False, now, -1, order.prevented, 0, 0, -1),
                )
            )  # fmt: skip
        else:
            out.append(self._event(order, X_EXPIRED, reason, now, False))

    def _finish(self, order: Order, now: int, out: list[ExecutionReport]) -> Ack:
        if self.on_events is not None:
            self.on_events(out)
        statuses: tuple[ListStatus, ...] = ()
        if self._list_events:
            statuses, self._list_events = tuple(self._list_events), []
        ack: Ack = _new_tuple(
            Ack,
            (order.order_id, order.client_order_id, order.status, order.cum_qty,
             order.cum_quote, now, tuple(out), statuses),
        )  # fmt: skip
        return ack

    def _event(
        self, order: Order, exec_type: ExecutionType, expiry: ExpiryReason, now: int, working: bool
    ) -> ExecutionReport:
        """A report that is not a trade (NEW, EXPIRED), numbered with the current `seq`."""
        report: ExecutionReport = _new_tuple(
            ExecutionReport,
            (*order.head, self.seq, "", exec_type, order.status, expiry, 0, 0, order.cum_qty,
             order.cum_quote, 0, "", -1, False, working, now, -1, order.prevented, 0, 0, -1),
        )  # fmt: skip
        return report
