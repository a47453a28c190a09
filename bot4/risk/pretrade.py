"""Pre-trade risk: the check every order passes before it reaches the book, and the state it
keeps from the venue's reports.

`RiskEngine.check(symbol, order, now)` runs, in this order:
1. the account's trading state: HALTED refuses everything; REDUCE_ONLY and KILLED admit only
   orders that reduce the position;
2. max order quantity and notional (a MARKET order is valued at the reference price);
3. the price band around the reference (the last trade, or a price set with `mark`);
4. max open orders per symbol and per account;
5. max position per asset (worst case: position plus every open order on that side, plus this
   one);
6. gross exposure, through the symbol's lease of the account's budget (`leases.py`). When the
   lease runs short the engine asks the account budget for more, synchronously here, by message
   between actors later;
7. the order rate limits (token buckets, as the venue's ORDERS limits), last, so that an order
   refused by another check spends no token.

A refused order changes nothing and gets an error with its own code (-91xx, or the venue's
-1015 with a retry-after hint). An accepted order is pending until `on_result` sees the venue's
answer. A refusal by the venue rolls the check back; an acknowledgement starts tracking the
order from its reports.

Losses come from `Position` (exact average cost): equity is realised plus unrealised profit
over the account's symbols, marked at each symbol's reference price. When the loss since
00:00 UTC exceeds `max_daily_loss`, or the fall from the equity peak exceeds `max_drawdown`,
the account moves to its `on_breach` state (REDUCE_ONLY or HALTED). Every state change is a
`RiskEvent`. Exposure and losses are counted in the symbols' quote asset, which must be the
configured valuation asset; other symbols are checked for everything else.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from bot4.core import errors
from bot4.core.enums import ExecutionType, OrderStatus, Side
from bot4.core.errors import Code, VenueError
from bot4.core.events import ExecutionReport
from bot4.core.fees import DAY_MS
from bot4.core.instruments import Instrument
from bot4.core.orders import NewOrder
from bot4.risk.buckets import TokenBucket
from bot4.risk.config import AccountLimits, RiskFile, SymbolLimits
from bot4.risk.leases import AccountBudget, SymbolLease
from bot4.risk.positions import Position

BUY = Side.BUY
X_NEW, X_TRADE = ExecutionType.NEW, ExecutionType.TRADE
_DONE = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
        OrderStatus.REJECTED,
        OrderStatus.EXPIRED_IN_MATCH,
    }
)


class TradingState(enum.Enum):
    ACTIVE = "ACTIVE"
    REDUCE_ONLY = "REDUCE_ONLY"
    HALTED = "HALTED"
    KILLED = "KILLED"  # the kill switch: reduce-only until an operator resets it


ACTIVE, REDUCE_ONLY = TradingState.ACTIVE, TradingState.REDUCE_ONLY
HALTED, KILLED = TradingState.HALTED, TradingState.KILLED


@dataclass(frozen=True)
class RiskEvent:
    """An account's trading state changed."""

    time_ms: int
    account: str
    from_state: TradingState
    to_state: TradingState
    reason: str


class _Book:
    """One account on one symbol."""

    __slots__ = ("asset", "inst", "lease", "limits", "open_buy", "open_orders", "open_sell",
                 "per_lot", "position", "qpt", "symbol")  # fmt: skip

    def __init__(self, symbol: str, inst: Instrument, limits: SymbolLimits,
                 lease: SymbolLease | None, asset: list[int]) -> None:  # fmt: skip
        self.symbol = symbol
        self.asset = asset  # the account's base asset: [position, open buys, open sells], units
        self.per_lot = inst.base_per_lot
        self.qpt = inst.quote_per_ticklot
        self.inst = inst
        self.limits = limits
        self.lease = lease
        self.position = Position()
        self.open_orders = 0
        self.open_buy = 0  # lots resting or pending on each side
        self.open_sell = 0


class _AccountRisk:
    """One account's pre-trade state in a symbol: state, limits, rate buckets, open orders,
    exposure budget, positions and the equity marks of the loss limits."""

    __slots__ = (
        "assets",
        "books",
        "buckets",
        "budget",
        "day",
        "day_equity",
        "limits",
        "name",
        "open_orders",
        "peak",
        "state",
    )  # fmt: skip

    def __init__(self, name: str, limits: AccountLimits, leased: bool = False) -> None:
        self.name = name
        self.limits = limits
        self.state = TradingState.ACTIVE
        self.open_orders = 0
        self.buckets: list[TokenBucket] = limits.buckets()
        self.budget = (  # leased: only what the risk desk grants (`RiskEngine.grant`)
            AccountBudget(f"{name}:exposure", 0 if leased else limits.max_exposure)
            if limits.max_exposure is not None
            else None
        )
        self.books: dict[str, _Book] = {}
        self.assets: dict[str, list[int]] = {}  # per asset: position, open buys, open sells
        self.day: int | None = None
        self.day_equity = 0
        self.peak = 0


class _Open:
    """An order the engine tracks: what is left of it and what it reserved per lot."""

    __slots__ = ("book", "buy", "leaves", "reserve_per_lot", "reserved")

    def __init__(self, book: _Book, buy: bool, leaves: int, reserved: int) -> None:
        self.book = book
        self.buy = buy
        self.leaves = leaves
        self.reserved = reserved
        self.reserve_per_lot = reserved // leaves if leaves else 0


class RiskEngine:
    """Pre-trade checks and risk state for every account and symbol of one venue."""

    def __init__(self, config: RiskFile, instruments: Mapping[str, Instrument],
                 *, leased: bool = False) -> None:  # fmt: skip
        """`leased`: this engine is one symbol's share of a `RiskDesk` (bot4.risk.desk). Its
        exposure budgets hold only what the desk granted (`grant`), a refusal for exposure
        leaves what it would take in `wanted`, and loss limits are the desk's to check (fills
        mark the account in `changed` for the symbol to report)."""
        self.config = config
        self.instruments = dict(instruments)
        self.leased = leased
        self._accounts: dict[str, _AccountRisk] = {}
        self._open: dict[tuple[str, int], _Open] = {}  # (symbol, orderId)
        self._pending: tuple[_AccountRisk, _Book, bool, int, int] | None = None
        self.reference: dict[str, int] = {}  # symbol -> price ticks (last trade or mark)
        self.events: list[RiskEvent] = []
        self.low_water_lots = 0
        self.wanted: tuple[str, int] | None = None  # leased: (account, exposure to ask for)
        self.changed: set[str] = set()  # leased: accounts whose position moved since `holdings`

    # ------------------------------------------------------------------ state

    def account(self, name: str) -> _AccountRisk:
        acct = self._accounts.get(name)
        if acct is None:
            unit = self._valuation_unit()
            limits = AccountLimits.compile(self.config.account_spec(name), unit)
            acct = self._accounts[name] = _AccountRisk(name, limits, self.leased)
        return acct

    def _valuation_unit(self) -> Decimal:
        for inst in self.instruments.values():
            if inst.quote == self.config.valuation_asset:
                return inst.quote_unit
        raise ValueError(f"no symbol is quoted in {self.config.valuation_asset}")

    def _book(self, acct: _AccountRisk, symbol: str) -> _Book:
        book = acct.books.get(symbol)
        if book is None:
            inst = self.instruments[symbol]
            spec = self.config.symbol_spec(acct.name, symbol)
            limits = SymbolLimits.compile(spec, self.config.account_spec(acct.name), inst)
            valued = inst.quote == self.config.valuation_asset
            lease = acct.budget.lease(symbol) if acct.budget is not None and valued else None
            asset = acct.assets.setdefault(inst.base, [0, 0, 0])
            book = acct.books[symbol] = _Book(symbol, inst, limits, lease, asset)
        return book

    def state(self, account: str) -> TradingState:
        acct = self._accounts.get(account)
        return TradingState.ACTIVE if acct is None else acct.state

    def position(self, account: str, symbol: str) -> Position:
        return self._book(self.account(account), symbol).position

    def open_orders(self, account: str, symbol: str | None = None) -> int:
        acct = self.account(account)
        return acct.open_orders if symbol is None else self._book(acct, symbol).open_orders

    def set_state(self, account: str, state: TradingState, now: int, reason: str) -> None:
        acct = self.account(account)
        if acct.state is not state:
            self.events.append(RiskEvent(now, account, acct.state, state, reason))
            acct.state = state

    def grant(self, account: str, total: int) -> None:
        """Leased: the desk's whole grant of exposure to this engine for `account` is `total`
        (shrinking it takes back unused lease first, see `AccountBudget.set_limit`)."""
        budget = self.account(account).budget
        if budget is not None:
            budget.set_limit(total)

    def spare(self, account: str) -> int:
        """Leased: how much of the account's grant no order or position uses (it could go
        back to the desk)."""
        acct = self._accounts.get(account)
        if acct is None or acct.budget is None:
            return 0
        held = sum(x["used"] + x["reserved"] for x in acct.budget.snapshot().values())
        return max(acct.budget.limit - held, 0)

    def states(self) -> dict[str, str]:
        """Every account that is not ACTIVE, with its state."""
        return {
            name: acct.state.value
            for name, acct in sorted(self._accounts.items())
            if acct.state is not ACTIVE
        }

    def granted(self) -> dict[str, int]:
        """Leased: the desk's grant per account (accounts with one)."""
        return {
            name: acct.budget.limit
            for name, acct in sorted(self._accounts.items())
            if acct.budget is not None and acct.budget.limit
        }

    def holdings(self, symbol: str) -> dict[str, tuple[int, int, int]]:
        """Leased: (lots, cost, realised) on `symbol` of each account in `changed`, which it
        empties (what the symbol reports to the desk)."""
        out = {}
        for name in sorted(self.changed):
            book = self._accounts[name].books.get(symbol)
            if book is not None:
                pos = book.position
                out[name] = (pos.lots, pos.cost, pos.realized)
        self.changed.clear()
        return out

    def kill(self, account: str, now: int) -> None:
        """The kill switch: the account may only reduce until `reset`."""
        self.set_state(account, TradingState.KILLED, now, "kill switch")

    def reset(self, account: str, now: int) -> None:
        """An operator puts the account back to ACTIVE (after a kill, halt or breach)."""
        acct = self.account(account)
        self.set_state(account, TradingState.ACTIVE, now, "operator reset")
        acct.peak = acct.day_equity = self.equity(account)

    # ------------------------------------------------------------------ the check

    def check(self, symbol: str, req: NewOrder, now: int) -> VenueError | None:
        """Whether `req` may go to the venue. On None the order is pending until `on_result`."""
        account, side, _, qty, limit_price, _, qoq, _, _, _, _ = req
        acct = self._accounts.get(account) or self.account(account)
        book = acct.books.get(symbol) or self._book(acct, symbol)
        buy = side is BUY
        pos = book.position.lots
        ref = self.reference.get(symbol)
        price = limit_price or ref or 0
        if not qty and qoq:
            if not price:
                return errors.risk(Code.RISK_NO_REFERENCE_PRICE, "Risk: no reference price.")
            qty = qoq // (price * book.qpt) or 1
        # reducing: against the position and, with the same side's open orders, not past it
        reducing = (pos < 0 if buy else pos > 0) and qty + (
            book.open_buy if buy else book.open_sell
        ) <= abs(pos)
        state = acct.state
        if state is not ACTIVE and not reducing:
            if state is HALTED:
                return errors.risk(Code.RISK_HALTED, "Risk: the account is halted.")
            if state is KILLED:
                return errors.risk(Code.RISK_KILL_SWITCH,
                                   "Risk: kill switch engaged; only reducing orders.")  # fmt: skip
            return errors.risk(Code.RISK_REDUCE_ONLY, "Risk: the account is reduce-only.")
        if state is HALTED:
            return errors.risk(Code.RISK_HALTED, "Risk: the account is halted.")
        lim = book.limits
        if lim.max_qty is not None and qty > lim.max_qty:
            return errors.risk(Code.RISK_MAX_QTY, "Risk: order quantity above max_order_qty.")
        notional = price * qty
        if lim.max_notional is not None and notional > lim.max_notional:
            return errors.risk(Code.RISK_MAX_NOTIONAL,
                               "Risk: order notional above max_order_notional.")  # fmt: skip
        band = lim.band
        if band and limit_price and ref and abs(limit_price - ref) * band[1] > band[0] * ref:
            return errors.risk(Code.RISK_PRICE_BAND, "Risk: price outside the price band.")
        if lim.max_open is not None and book.open_orders >= lim.max_open:
            return errors.risk(Code.RISK_MAX_OPEN_ORDERS_SYMBOL,
                               "Risk: too many open orders on the symbol.")  # fmt: skip
        max_open = acct.limits.max_open
        if max_open is not None and acct.open_orders >= max_open:
            return errors.risk(Code.RISK_MAX_OPEN_ORDERS_ACCOUNT,
                               "Risk: too many open orders on the account.")  # fmt: skip
        if lim.max_position is not None and not reducing:
            held, buying, selling = book.asset
            units = qty * book.per_lot
            worst = held + buying + units if buy else selling + units - held
            if worst > lim.max_position:
                return errors.risk(Code.RISK_MAX_POSITION, "Risk: position limit.")
        reserve = 0
        lease = book.lease
        if lease is not None and not reducing:
            reserve = notional * book.qpt
            if not lease.try_reserve(reserve):
                budget = acct.budget
                assert budget is not None
                # ask for room for this order and a good share more, so asking stays rare
                want = reserve - lease.available + max(lease.granted, budget.limit // 16)
                if budget.request(symbol, want) < want:
                    budget.rebalance()  # take back what other symbols hold unused
                    if reserve > lease.available:
                        budget.request(symbol, reserve - lease.available)
                if not lease.try_reserve(reserve):
                    if self.leased:  # what to ask the desk for: this order and a good share
                        chunk = max(lease.granted, (acct.limits.max_exposure or 0) // 16)
                        self.wanted = (account, reserve - lease.available + chunk)
                    return errors.risk(Code.RISK_MAX_EXPOSURE, "Risk: gross exposure limit.",
                                       retryable=True)  # fmt: skip
        for bucket in acct.buckets:
            if not bucket.take(now):
                for back in acct.buckets:
                    if back is bucket:
                        break
                    back.give_back()
                if reserve:
                    lease.unreserve(reserve)  # type: ignore[union-attr]
                return errors.too_many_orders(bucket.limit, bucket.label,
                                              bucket.retry_after(now))  # fmt: skip
        self._pending = (acct, book, buy, qty, reserve)
        return None

    # ------------------------------------------------------------------ reports

    def on_result(self, symbol: str, result: object, reports: Iterable[ExecutionReport],
                  now: int) -> None:  # fmt: skip
        """The venue's answer to the last checked order: roll back on a refusal (`result` is a
        VenueError), else track it; then apply every report the request produced."""
        pending, self._pending = self._pending, None
        if pending is not None and isinstance(result, VenueError):
            acct, book, _, _, reserve = pending
            for bucket in acct.buckets:  # the venue refused: the order spent no token
                bucket.give_back()
            if reserve and book.lease is not None:
                book.lease.unreserve(reserve)
        elif pending is not None:
            order_id = getattr(result, "order_id", None)
            acct, book, buy, qty, reserve = pending
            if order_id is not None:
                self._open[(symbol, order_id)] = _Open(book, buy, qty, reserve)
                book.open_orders += 1
                acct.open_orders += 1
                if buy:
                    book.open_buy += qty
                    book.asset[1] += qty * book.per_lot
                else:
                    book.open_sell += qty
                    book.asset[2] += qty * book.per_lot
        self.on_reports(symbol, reports, now)

    def on_reports(self, symbol: str, reports: Iterable[ExecutionReport], now: int) -> None:
        """Apply execution reports: fills move positions and usage, ends release what is left."""
        for r in reports:
            if r.execution_type is X_TRADE:
                self.reference[symbol] = r.last_price
            track = self._open.get((symbol, r.order_id))
            if track is None:
                if r.execution_type is X_TRADE and r.account in self._accounts:
                    self._fill(self._accounts[r.account], symbol, r, now)
                continue
            if r.execution_type is X_TRADE:
                self._fill(self._accounts[r.account], symbol, r, now)
            left = 0 if r.status in _DONE else max(0, r.orig_qty - r.cum_qty - r.prevented_qty)
            gone = track.leaves - left
            if gone > 0:
                self._shrink(track, gone)
            if r.status in _DONE:
                del self._open[(symbol, r.order_id)]
                track.book.open_orders -= 1
                self._accounts[r.account].open_orders -= 1

    def _shrink(self, track: _Open, lots: int) -> None:
        track.leaves -= lots
        book = track.book
        if track.buy:
            book.open_buy -= lots
            book.asset[1] -= lots * book.per_lot
        else:
            book.open_sell -= lots
            book.asset[2] -= lots * book.per_lot
        release = min(track.reserved, lots * track.reserve_per_lot)
        if release and track.book.lease is not None:
            track.book.lease.unreserve(release)
            track.reserved -= release

    def _fill(self, acct: _AccountRisk, symbol: str, r: ExecutionReport, now: int) -> None:
        book = acct.books.get(symbol) or self._book(acct, symbol)
        inst = book.inst
        notional = r.last_qty * r.last_price * inst.quote_per_ticklot
        book.position.fill(r.side is BUY, r.last_qty, notional)
        book.asset[0] += (r.last_qty if r.side is BUY else -r.last_qty) * book.per_lot
        lease = book.lease
        if lease is not None:  # usage is the position at this price (the filled lots' own
            # reservation is released with the rest of the order's change, in `_shrink`)
            lease.revalue(abs(book.position.lots) * r.last_price * inst.quote_per_ticklot)
        if self.leased:
            self.changed.add(acct.name)
        else:
            self._check_losses(acct, now)

    # ------------------------------------------------------------------ marks and losses

    def mark(self, symbol: str, price: int, now: int) -> None:
        """A new reference price for `symbol` (ticks): revalue exposure, check losses."""
        self.reference[symbol] = price
        for acct in self._accounts.values():
            book = acct.books.get(symbol)
            if book is None or not book.position.lots:
                continue
            if book.lease is not None:
                book.lease.revalue(abs(book.position.lots) * price * book.inst.quote_per_ticklot)
            self._check_losses(acct, now)

    def equity(self, account: str) -> int:
        """Realised plus unrealised profit over the account's symbols (valuation units)."""
        acct = self.account(account)
        total = 0
        for symbol, book in acct.books.items():
            if book.inst.quote != self.config.valuation_asset:
                continue
            pos = book.position
            ref = self.reference.get(symbol)
            total += pos.realized
            if pos.lots and ref is not None:
                total += pos.unrealized(ref * book.inst.quote_per_ticklot)
        return total

    def _check_losses(self, acct: _AccountRisk, now: int) -> None:
        lim = acct.limits
        if self.leased or (lim.max_daily_loss is None and lim.max_drawdown is None):
            return
        equity = self.equity(acct.name)
        day = now // DAY_MS
        if acct.day != day:
            acct.day, acct.day_equity = day, equity
        acct.peak = max(acct.peak, equity)
        if acct.state is not TradingState.ACTIVE:
            return
        breach = lim.on_breach
        target = TradingState.HALTED if breach == "HALTED" else TradingState.REDUCE_ONLY
        loss = acct.day_equity - equity
        if lim.max_daily_loss is not None and loss > lim.max_daily_loss:
            self.set_state(acct.name, target, now, f"daily loss {loss} > {lim.max_daily_loss}")
        elif lim.max_drawdown is not None and acct.peak - equity > lim.max_drawdown:
            self.set_state(acct.name, target, now,
                           f"drawdown {acct.peak - equity} > {lim.max_drawdown}")  # fmt: skip
