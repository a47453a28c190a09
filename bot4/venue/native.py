"""The native backend: the Rust ledger and matching engine behind the Python engine's API.

`NativeLedger` and `NativeEngine` answer as `Ledger` and `MatchingEngine` do, with the same
request tuples, `Ack`, `ExecutionReport` and `VenueError` values, for every order type (LIMIT
in GTC/IOC/FOK, LIMIT_MAKER, MARKET by quantity or quoteOrderQty, stop-loss and take-profit,
plain, limit and trailing, with their cascades), cancel, cancel-all, amend keep-priority,
cancel-replace, order lists (OCO, OTO, OTOCO, their cancels and amending their legs), the
six STP modes, the exchange filters and commission: the symbol's own rates, or a fee
schedule's (VIP tiers, BNB payment, tax and special commission) through the venue's
`NativeFeeBook` (`bot4.venue.nativeledger`). The request's shape is checked natively in the
order of `check_shape`, then the filters in the venue's order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bot4._native import Engine as _Engine
from bot4.core import enums, errors
from bot4.core.enums import Side, SymbolStatus
from bot4.core.errors import VenueError
from bot4.core.events import ExecutionReport, ListStatus
from bot4.core.instruments import Instrument
from bot4.core.orders import (
    AmendOrder,
    CancelOrder,
    CancelOrderList,
    CancelReplace,
    NewOco,
    NewOrder,
    NewOto,
    NewOtoco,
    OrderView,
    RestingOrder,
)
from bot4.core.results import Ack, CancelReplaceResult, ListAck
from bot4.venue.batch import decode_results, refusal
from bot4.venue.feebook import FeeBook
from bot4.venue.limits import ExchangeLimits
from bot4.venue.nativeledger import NativeFeeBook, NativeLedger
from bot4.venue.rules import (
    EventSink,
    _bad_client_id,
    _bad_reference,
    cancel_replace,
)

_ENUMS = {
    name: getattr(enums, name)
    for name in ("Side", "OrderType", "TimeInForce", "OrderStatus", "ExecutionType",
                 "ExpiryReason", "StpMode", "CancelRestriction", "ContingencyType",
                 "ListStatusType", "ListOrderStatus")
}  # fmt: skip


def rules(instrument: Instrument) -> dict[str, Any]:
    """The compiled instrument's integers, as the native engine takes them."""
    inst = instrument
    names = ("symbol", "base", "quote", "base_per_lot", "quote_per_ticklot", "min_price",
             "max_price", "min_qty", "max_qty", "market_min_qty", "market_max_qty", "market_step",
             "min_notional", "min_notional_market", "max_notional", "max_notional_market",
             "legacy_min_notional", "legacy_min_notional_market", "percent_filter", "bid_up",
             "bid_down", "ask_up", "ask_down", "avg_price_mins", "max_num_orders",
             "max_num_amends", "max_num_algo_orders", "max_num_order_lists", "trailing_above",
             "trailing_below", "maker_rate", "taker_rate")  # fmt: skip
    out = {name: getattr(inst, name) for name in names}
    out["default_stp"] = inst.spec.defaultSelfTradePreventionMode
    out["quote_order_qty_market_allowed"] = inst.spec.quoteOrderQtyMarketAllowed
    out["order_types"] = tuple(inst.spec.orderTypes)
    out["stp_allowed"] = tuple(inst.spec.allowedSelfTradePreventionModes)
    out["allow_trailing_stop"] = inst.spec.allowTrailingStop
    out["oco_allowed"] = inst.spec.ocoAllowed
    out["oto_allowed"] = inst.spec.otoAllowed
    return out


class NativeEngine:
    """One symbol's matching engine in native code, with `MatchingEngine`'s methods."""

    def __init__(
        self,
        instrument: Instrument,
        ledger: NativeLedger | None = None,
        *,
        reference_price: int | None = None,
        history: int = 10_000,
        on_events: EventSink | None = None,
        fees: NativeFeeBook | FeeBook | None = None,
        exchange: ExchangeLimits | None = None,
    ) -> None:
        """As `MatchingEngine`: `fees` is the venue's fee book on the same ledger (a Python
        `FeeBook` only without a schedule: every account then pays the symbol's rates);
        `exchange` holds the venue's exchange filters, whose counts the native ledger keeps
        for all its engines."""
        if isinstance(fees, FeeBook) and fees.schedule is not None:
            raise TypeError(
                "a native engine charges a fee schedule through a NativeFeeBook "
                "(bot4.venue.backends.new_fee_book)"
            )
        self.instrument = instrument
        self.ledger = ledger if ledger is not None else NativeLedger()
        if isinstance(fees, NativeFeeBook) and fees.ledger is not self.ledger:
            raise ValueError("the fee book must use the engine's ledger")
        self.fees = fees if fees is not None else NativeFeeBook(None, self.ledger)
        self.history = history
        if exchange is not None:
            self.ledger.core.set_exchange_limits(
                exchange.max_orders, exchange.max_algo, exchange.max_lists
            )
        self._core = _Engine(
            self.ledger.core,
            rules(instrument),
            _ENUMS,
            (ExecutionReport, Ack, ListAck, ListStatus, OrderView),
            refusal,
            reference_price,
            history,
        )
        if isinstance(self.fees, NativeFeeBook) and fees is not None:
            sizes = (instrument.tick, instrument.base_unit, instrument.quote_unit)
            self._core.attach_fees(*(size.as_integer_ratio() for size in sizes))
        self.status = instrument.spec.status
        self.on_events = on_events
        # the hot calls go straight to the core (no Python frame between): same answers
        self.submit = self._core.submit  # type: ignore[method-assign]
        self.cancel = self._core.cancel  # type: ignore[method-assign]

    @property
    def status(self) -> SymbolStatus:
        """The symbol's trading status: new orders need TRADING (else -1013 Market is closed)."""
        return self._status

    @status.setter
    def status(self, status: SymbolStatus) -> None:
        self._status = status
        self._core.trading = status is SymbolStatus.TRADING

    @property
    def on_events(self) -> EventSink | None:
        """Called with each accepted request's reports, in order (the journal hook)."""
        return self._on_events

    @on_events.setter
    def on_events(self, sink: EventSink | None) -> None:
        self._on_events = sink
        self._core.on_events = sink

    def keep_reports(self, count: int) -> None:
        """Keep the newest `count` execution reports in the engine, for `events_since`: as
        its own compact records, so no Python object is held per report (0: keep none)."""
        self._core.keep_reports(count)

    def kept_reports(self) -> tuple[int, int]:
        """(reports kept now, the most it keeps)."""
        return self._core.kept_reports()

    def events_since(self, seq: int, limit: int = 10_000) -> list[ExecutionReport]:
        """Up to `limit` kept reports with `seq` above the given one, oldest first, from every
        request, per call or in a batch (see `keep_reports`)."""
        return self._core.events_since(seq, limit)

    # ------------------------------------------------------------------ requests

    def submit_batch(self, data: bytes, log: bool = False) -> tuple[np.ndarray, bytes | None]:
        """Run many requests in one call (`bot4.venue.batch.encode_requests` writes them):
        the answers as a `RESULT_DTYPE` array and, when `log`, the canonical bytes of every
        report (`bot4.core.events.encode`), in order. No Python object is built per report,
        and `on_events` is not called (the log is the batch's event stream). A malformed
        batch raises ValueError and changes nothing."""
        results, events = self._core.submit_batch(data, log)
        return decode_results(results), events

    def check(self, req: NewOrder, now: int) -> VenueError | None:
        """What `submit` checks before it looks at the account. Changes nothing."""
        error = self._check_filters(req, now)
        if error is None and req.type is enums.OrderType.LIMIT_MAKER:
            best = self.best_ask() if req.side is enums.Side.BUY else self.best_bid()
            if best is not None and (
                best <= req.price if req.side is enums.Side.BUY else best >= req.price
            ):
                return errors.WOULD_MATCH
        return error

    def _check_filters(self, req: NewOrder, now: int) -> VenueError | None:
        result: VenueError | None = self._core.check_filters(req, now)
        return result

    def submit(self, req: NewOrder, now: int) -> Ack | VenueError:
        """Place a new order at time `now` (ms). Returns its `Ack` or the venue's error."""
        answer: Ack | VenueError = self._core.submit(req, now)
        return answer

    def cancel(self, req: CancelOrder, now: int) -> Ack | VenueError:
        """Cancel an open order by orderId and/or origClientOrderId."""
        answer: Ack | VenueError = self._core.cancel(req, now)
        return answer

    def cancel_all(self, account: str, now: int) -> list[Ack] | VenueError:
        """DELETE openOrders: cancel every open order of `account` on this symbol, oldest first."""
        if type(account) is not str:
            return errors.UNKNOWN_ACCOUNT
        acks: list[Ack] | VenueError = self._core.cancel_all(account, now)
        return acks

    def amend(self, req: AmendOrder, now: int) -> Ack | VenueError:
        """Amend keep-priority: lower an open order's quantity without losing its queue place."""
        if not self.instrument.spec.amendAllowed:
            return errors.AMEND_NOT_SUPPORTED
        bad = _bad_reference(req.account, req.order_id, req.orig_client_order_id)
        if bad is not None:
            return bad
        if not self.ledger.knows(req.account):
            return errors.UNKNOWN_ACCOUNT
        if type(req.new_qty) is not int:
            return errors.invalid_parameter("newQty")
        new_cid = req.new_client_order_id
        if new_cid is not None and type(new_cid) is not str:
            return _bad_client_id("newClientOrderId", new_cid)
        answer: Ack | VenueError = self._core.amend(req, now)
        return answer

    def cancel_replace(self, req: CancelReplace, now: int) -> CancelReplaceResult | VenueError:
        """Cancel an order, then place a new one (`rules.cancel_replace`)."""
        return cancel_replace(
            self.instrument.spec.cancelReplaceAllowed, self._check_filters, self.cancel,
            self.submit, req, now,
        )  # fmt: skip

    def submit_oco(self, req: NewOco, now: int) -> ListAck | VenueError:
        """POST orderList/oco: an above and a below leg; one activating expires the other."""
        answer: ListAck | VenueError = self._core.submit_oco(req, now)
        return answer

    def submit_oto(self, req: NewOto, now: int) -> ListAck | VenueError:
        """POST orderList/oto: `pending` is placed only when `working` has completely filled."""
        answer: ListAck | VenueError = self._core.submit_oto(req, now)
        return answer

    def submit_otoco(self, req: NewOtoco, now: int) -> ListAck | VenueError:
        """POST orderList/otoco: an OCO pair placed when `working` has completely filled."""
        answer: ListAck | VenueError = self._core.submit_otoco(req, now)
        return answer

    def cancel_list(self, req: CancelOrderList, now: int) -> ListAck | VenueError:
        """DELETE orderList: cancel every live leg; the list ends ALL_DONE."""
        answer: ListAck | VenueError = self._core.cancel_list(req, now)
        return answer

    def list_status(self, order_list_id: int, now: int) -> ListStatus | None:
        """An open order list as it stands (None once it has ended)."""
        if type(order_list_id) is not int or not -(2**63) <= order_list_id < 2**63:
            return None
        status: ListStatus | None = self._core.list_status(order_list_id, now)
        return status

    # ------------------------------------------------------------------ queries

    def get_order(
        self, account: str, order_id: int | None = None, client_order_id: str | None = None
    ) -> OrderView | VenueError:
        """An order's current state (open, or ended within the last `history` orders)."""
        if order_id is None and client_order_id is None:
            return errors.one_of_params("orderId", "origClientOrderId")
        bad = _bad_reference(account, order_id, client_order_id)
        if bad is not None:
            return bad
        found: OrderView | VenueError = self._core.get_order(account, order_id, client_order_id)
        return found

    def is_open(self, order_id: int) -> bool:
        """Whether the order is still working on the book."""
        in_range = type(order_id) is int and -(2**63) <= order_id < 2**63
        return in_range and self._core.is_open(order_id)

    def open_orders(self, account: str | None = None) -> list[OrderView]:
        """Open orders (of one account, or all), oldest first."""
        return self._core.open_orders(account)

    def book_orders(self, side: Side) -> list[RestingOrder]:
        """The orders resting on one side (level 3), best price first, then time priority."""
        return [
            RestingOrder(order_id, account, side, price, leaves)
            for order_id, account, price, leaves in self._core.book_orders(side is Side.BUY)
        ]

    def waiting_stops(self) -> list[int]:
        """The ids of the stop orders waiting for their trigger, in the order they were parked."""
        return self._core.waiting_stops()

    def open_locks(self) -> dict[int, int]:
        """What each open order holds locked (asset units: quote for a BUY, base for a SELL)."""
        return dict(self._core.open_locks())

    def depth(self, limit: int = 100) -> dict[str, list[tuple[int, int]]]:
        """Aggregated book: (price ticks, quantity lots), best first."""
        bids, asks = self._core.depth(limit)
        return {"bids": bids, "asks": asks}

    def best_bid(self) -> int | None:
        return self._core.best_bid()

    def best_ask(self) -> int | None:
        return self._core.best_ask()

    def last_price(self) -> int | None:
        """The last trade price in ticks (or the reference price before any trade)."""
        last: int | None = self._core.avg_price_state()[0]
        return last

    def state_digest(self) -> str:
        """The same hash as `MatchingEngine.state_digest` after the same history."""
        status: SymbolStatus = self.status
        return self._core.state_digest(status.value)

    @property
    def seq(self) -> int:
        return self._core.counters()[0]

    @property
    def last_order_id(self) -> int:
        return self._core.counters()[1]

    @property
    def last_trade_id(self) -> int:
        return self._core.counters()[2]

    @property
    def last_prevented_match_id(self) -> int:
        return self._core.counters()[3]

    @property
    def last_order_list_id(self) -> int:
        return self._core.counters()[4]

    @property
    def traded_ticklots(self) -> int:
        """Price x quantity over every trade (metrics read it)."""
        return self._core.counters()[5]
