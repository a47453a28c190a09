"""The risk desk: the account-wide half of pre-trade risk when symbols run apart (Ray actors).

Each symbol runs its own `RiskEngine` (every per-order check, at no message cost). What only
makes sense over all symbols lives here, in one place:

- **Gross exposure leases.** Per account an `AccountBudget` (its `max_gross_exposure`) is split
  into per-symbol grants. A symbol whose grant runs short asks with `request`; when the budget
  has too little free, the desk also names the other symbols that should hand back unused
  grant (`reclaims`), and they do so later with `released`. A grant is never more than the
  limit minus what other symbols hold, so the account-wide limit always holds.
- **Loss limits.** Symbols `report` their accounts' positions (lots, cost, realised profit) and
  their reference price. Equity is the sum over symbols of realised plus unrealised profit;
  daily loss (against the last equity seen before 00:00 UTC, or nothing for an account
  new today) and drawdown (from the peak) move the account to its
  `on_breach` state, as in `RiskEngine`.
- **Trading state and the kill switch.** `kill`, `reset` and breaches change an account's state;
  each change is a `StateChange` that the caller pushes to every symbol.

The desk is pure and deterministic (time comes in as `now`, ms). `snapshot` and `restore` carry
its state across a restart of the actor that holds it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from bot4.core.fees import DAY_MS
from bot4.core.instruments import Instrument
from bot4.risk.config import AccountLimits, RiskFile
from bot4.risk.leases import AccountBudget
from bot4.risk.pretrade import RiskEvent, TradingState

__all__ = ["Holding", "RiskDesk", "StateChange"]


class StateChange(NamedTuple):
    """An account's new trading state, to push to every symbol."""

    account: str
    state: str  # a TradingState value
    reason: str
    now: int


class Holding(NamedTuple):
    """One account's position on one symbol: lots (signed), cost and realised profit (units
    of the valuation asset)."""

    lots: int
    cost: int
    realized: int


class _DeskAccount:
    """One account across every symbol, as the desk holds it: state, limits, exposure
    budget, holdings per symbol and the equity marks of the loss limits."""

    __slots__ = ("budget", "day", "day_equity", "holdings", "last_equity", "limits", "peak",
                 "state")  # fmt: skip

    def __init__(self, limits: AccountLimits) -> None:
        self.limits = limits
        self.state = TradingState.ACTIVE
        self.budget = (
            AccountBudget("exposure", limits.max_exposure)
            if limits.max_exposure is not None
            else None
        )
        self.holdings: dict[str, Holding] = {}
        self.day: int | None = None
        self.day_equity = 0
        self.last_equity = 0  # at the last loss check (a new account starts from nothing)
        self.peak = 0


class RiskDesk:
    """Account-wide risk over symbols that check their orders on their own."""

    def __init__(self, config: RiskFile, instruments: Mapping[str, Instrument],
                 *, keep_events: int = 1_000) -> None:  # fmt: skip
        self.config = config
        valued = {s: i for s, i in instruments.items() if i.quote == config.valuation_asset}
        if not valued:
            raise ValueError(f"no symbol is quoted in {config.valuation_asset}")
        self.unit: Decimal = next(iter(valued.values())).quote_unit
        self.per_ticklot = {s: i.quote_per_ticklot for s, i in valued.items()}
        self.symbols = sorted(instruments)
        self.prices: dict[str, int] = {}  # symbol -> reference price, ticks
        self.events: deque[RiskEvent] = deque(maxlen=keep_events)
        self._accounts: dict[str, _DeskAccount] = {}

    # ------------------------------------------------------------------ accounts

    def _account(self, name: str) -> _DeskAccount:
        acct = self._accounts.get(name)
        if acct is None:
            if not isinstance(name, str) or not name:
                raise ValueError(f"an account is a non-empty string, got {name!r}")
            limits = AccountLimits.compile(self.config.account_spec(name), self.unit)
            acct = self._accounts[name] = _DeskAccount(limits)
        return acct

    def state(self, account: str) -> TradingState:
        acct = self._accounts.get(account)
        return TradingState.ACTIVE if acct is None else acct.state

    def states(self) -> dict[str, str]:
        """Every account that is not ACTIVE, with its state (what a (re)starting symbol needs)."""
        return {
            name: acct.state.value
            for name, acct in sorted(self._accounts.items())
            if acct.state is not TradingState.ACTIVE
        }

    def _set(self, account: str, state: TradingState, now: int, reason: str) -> StateChange | None:
        acct = self._account(account)
        if acct.state is state:
            return None
        self.events.append(RiskEvent(now, account, acct.state, state, reason))
        acct.state = state
        return StateChange(account, state.value, reason, now)

    def kill(self, account: str, now: int) -> StateChange | None:
        """The kill switch: the account may only reduce, everywhere, until `reset`."""
        return self._set(account, TradingState.KILLED, now, "kill switch")

    def reset(self, account: str, now: int) -> StateChange | None:
        """An operator puts the account back to ACTIVE; loss limits count from here."""
        change = self._set(account, TradingState.ACTIVE, now, "operator reset")
        acct = self._account(account)
        acct.peak = acct.day_equity = acct.last_equity = self.equity(account)
        return change

    # ------------------------------------------------------------------ leases

    def grants(self, symbol: str) -> dict[str, int]:
        """What each account has granted to `symbol` (accounts with a grant only)."""
        out = {}
        for name, acct in sorted(self._accounts.items()):
            if acct.budget is not None:
                granted = acct.budget.lease(symbol).granted
                if granted:
                    out[name] = granted
        return out

    def request(self, account: str, symbol: str, amount: int) -> tuple[int, list[tuple[str, int]]]:
        """Grant `symbol` up to `amount` more of the account's exposure budget.

        Returns the symbol's whole grant now, and the (symbol, amount) pairs that should hand
        back unused grant because the budget had too little free (empty when it had enough).
        An account without an exposure limit needs no grant: (0, []).
        """
        budget = self._account(account).budget
        if budget is None or symbol not in self.per_ticklot:
            return 0, []
        given = budget.request(symbol, amount)
        reclaims: list[tuple[str, int]] = []
        short = amount - given
        if short > 0:
            for other, lease in sorted(budget.snapshot().items()):
                if other != symbol and lease["granted"] and short > 0:
                    ask = min(lease["granted"], short)
                    reclaims.append((other, ask))
                    short -= ask
        return budget.lease(symbol).granted, reclaims

    def released(self, account: str, symbol: str, amount: int) -> int:
        """A symbol handed back `amount` of its grant; returns its grant now."""
        budget = self._account(account).budget
        if budget is None:
            return 0
        budget.release(symbol, min(amount, budget.lease(symbol).granted))
        return budget.lease(symbol).granted

    def attach(self, symbol: str, grants: Mapping[str, int]) -> dict[str, str]:
        """A symbol (re)started holding `grants` per account: take its word for them (it may have
        lost a grant to a crash before journaling it), and tell it the accounts' states."""
        for account, held in grants.items():
            budget = self._account(account).budget
            if budget is None:
                continue
            granted = budget.lease(symbol).granted
            if held < granted:
                budget.release(symbol, granted - held)
            elif held > granted:
                budget.request(symbol, held - granted)
        for account, acct in self._accounts.items():
            if acct.budget is not None and account not in grants:
                granted = acct.budget.lease(symbol).granted
                if granted:
                    acct.budget.release(symbol, granted)
        return self.states()

    # ------------------------------------------------------------------ losses

    def report(self, symbol: str, price: int | None, holdings: Mapping[str, Holding],
               now: int) -> list[StateChange]:  # fmt: skip
        """A symbol's reference price and its changed holdings; re-check loss limits of every
        account the news touches. Returns the state changes to push."""
        if symbol not in self.per_ticklot:
            return []
        moved = price is not None and price != self.prices.get(symbol)
        if price is not None:
            self.prices[symbol] = price
        for account, holding in holdings.items():
            self._account(account).holdings[symbol] = Holding(*holding)
        changes = []
        for name in sorted(self._accounts):
            acct = self._accounts[name]
            if name in holdings or (moved and symbol in acct.holdings):
                change = self._check_losses(name, acct, now)
                if change is not None:
                    changes.append(change)
        return changes

    def equity(self, account: str) -> int:
        """Realised plus unrealised profit over the account's symbols (valuation units)."""
        total = 0
        for symbol, (lots, cost, realized) in self._account(account).holdings.items():
            total += realized
            price = self.prices.get(symbol)
            if lots and price is not None:
                total += lots * price * self.per_ticklot[symbol] - cost
        return total

    def _check_losses(self, name: str, acct: _DeskAccount, now: int) -> StateChange | None:
        lim = acct.limits
        if lim.max_daily_loss is None and lim.max_drawdown is None:
            return None
        equity = self.equity(name)
        day = now // DAY_MS
        if acct.day != day:  # the day's baseline: the last equity seen before it began
            acct.day, acct.day_equity = day, acct.last_equity
        acct.last_equity = equity
        acct.peak = max(acct.peak, equity)
        if acct.state is not TradingState.ACTIVE:
            return None
        target = TradingState(lim.on_breach)
        loss = acct.day_equity - equity
        if lim.max_daily_loss is not None and loss > lim.max_daily_loss:
            return self._set(name, target, now, f"daily loss {loss} > {lim.max_daily_loss}")
        if lim.max_drawdown is not None and acct.peak - equity > lim.max_drawdown:
            return self._set(name, target, now,
                             f"drawdown {acct.peak - equity} > {lim.max_drawdown}")  # fmt: skip
        return None

    # ------------------------------------------------------------------ persistence

    def snapshot(self) -> dict[str, Any]:
        """The desk's state as plain JSON-able data (config and instruments excepted)."""
        accounts = {}
        for name, acct in sorted(self._accounts.items()):
            accounts[name] = {
                "state": acct.state.value,
                "grants": {} if acct.budget is None else {
                    s: x["granted"] for s, x in acct.budget.snapshot().items() if x["granted"]
                },
                "holdings": {s: list(h) for s, h in sorted(acct.holdings.items())},
                "day": acct.day,
                "day_equity": acct.day_equity,
                "last_equity": acct.last_equity,
                "peak": acct.peak,
            }  # fmt: skip
        return {"prices": dict(sorted(self.prices.items())), "accounts": accounts}

    def restore(self, data: Mapping[str, Any]) -> None:
        """Load what `snapshot` gave (on a fresh desk)."""
        self.prices = {str(s): int(p) for s, p in data.get("prices", {}).items()}
        for name, saved in data.get("accounts", {}).items():
            acct = self._account(name)
            acct.state = TradingState(saved["state"])
            if acct.budget is not None:
                for symbol, granted in saved.get("grants", {}).items():
                    acct.budget.request(symbol, int(granted))
            acct.holdings = {s: Holding(*map(int, h)) for s, h in saved["holdings"].items()}
            acct.day = saved["day"]
            acct.day_equity = int(saved["day_equity"])
            acct.last_equity = int(saved["last_equity"])
            acct.peak = int(saved["peak"])
