"""One symbol behind its journal: every command is journaled first, then applied.

This is the pure part of a symbol actor. The engine is deterministic, so the journal of
commands is the symbol's state: a `SymbolService` built over an existing journal replays it,
and ends with exactly the `state_digest` that the journaled run had. The journal is written
before the engine sees the command, so an acknowledged command is always in it. A command
cut off by a crash (never acknowledged) is a partial last line, which the journal drops.
"""

from __future__ import annotations

import itertools
import pickle
from collections import deque
from collections.abc import Iterator
from typing import Any, Protocol

from bot4.core import errors
from bot4.core.auth import TimestampGuard
from bot4.core.commands import Command, Deposit, Grant, RiskState, decode, encode
from bot4.core.errors import Category, Code, VenueError
from bot4.core.events import ExecutionReport
from bot4.core.idempotency import CONFLICT, REPLAY, MemoryIdempotencyStore, order_key
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
)
from bot4.risk.breakers import CircuitBreaker
from bot4.risk.engine import RiskEngine, TradingState
from bot4.sim.engine import MatchingEngine

_KINDS: dict[str, tuple[str | None, type]] = {  # command kind -> (engine method, request)
    "submit": ("submit", NewOrder),
    "cancel": ("cancel", CancelOrder),
    "amend": ("amend", AmendOrder),
    "cancel_replace": ("cancel_replace", CancelReplace),
    "oco": ("submit_oco", NewOco),
    "oto": ("submit_oto", NewOto),
    "otoco": ("submit_otoco", NewOtoco),
    "cancel_list": ("cancel_list", CancelOrderList),
    "deposit": (None, Deposit),  # grants and risk states come only from the desk (`_record`)
}
_METHODS = {kind: method for kind, (method, _) in _KINDS.items() if method is not None}


class Journal(Protocol):
    """Where a symbol's commands go: appended in order, durable at `commit`, read back in
    order."""

    def append(self, line: bytes) -> None: ...

    def commit(self) -> None: ...

    def lines(self) -> Iterator[bytes]: ...


class MemoryJournal:
    """A journal in a list (tests, and runs that need no durability)."""

    def __init__(self) -> None:
        self.data: list[bytes] = []

    def append(self, line: bytes) -> None:
        self.data.append(line)

    def commit(self) -> None:
        """Nothing to do: a list holds what it holds."""

    def lines(self) -> Iterator[bytes]:
        return iter(list(self.data))


class Desk(Protocol):
    """The account-wide risk a symbol asks for exposure (a `RiskDesk` behind an actor)."""

    def __call__(self, account: str, amount: int) -> int:
        """Ask for `amount` more exposure for `account`; the symbol's whole grant now."""
        ...


class SymbolService:
    """A symbol's matching engine whose every command is journaled before it is applied.

    The order path, for each command: timestamp guard -> idempotency -> pre-trade risk ->
    journal -> matching. What the guard, the idempotency store or risk refuses changes no
    state and is not journaled; everything journaled is applied again, in order, on replay.
    """

    def __init__(
        self,
        instrument: Instrument,
        journal: Journal,
        *,
        reference_price: int | None = None,
        keep_events: int = 100_000,
        idempotency: MemoryIdempotencyStore | None = None,
        guard: TimestampGuard | None = None,
        require_timestamp: bool = False,
        risk: RiskEngine | None = None,
        desk: Desk | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        """`keep_events` bounds the reports kept for subscribers (the oldest go first).

        With an `idempotency` store, a new order that carries a client order id is keyed by
        (account, clientOrderId). A retry of it, even after a restart, gets its first answer
        back instead of a second order; the same key with another order is refused (-9203).
        Replaying the journal fills the store again, so this holds across actor restarts.

        With a `guard`, a command that carries a `timestamp` must fall in its recvWindow of
        `now` (-1021 otherwise); `require_timestamp` refuses commands without one (-1102).

        With `risk` (a `RiskEngine` for this symbol), each new order passes its checks; fills
        and ends reach it from the reports. With `desk` too, the engine is `leased`: when an
        order needs more gross exposure than the symbol holds for the account, the service
        asks the desk and journals the answer as a `Grant` before checking again, so replay
        sees the same grants at the same places.

        With a `breaker`, a new order first needs the symbol's circuit breaker to admit it
        (-9111 otherwise, retryable); the breaker watches the orders' outcomes and trade
        prices. Replay feeds it the journaled outcomes again; admissions it refused live are
        not journaled, so a restarted breaker may count a probe or two differently.
        """
        self.idempotency = idempotency
        self.guard = guard
        self.require_timestamp = require_timestamp
        self.risk = risk
        self.desk = desk
        self.breaker = breaker
        self._collect = risk is not None or breaker is not None  # keep `_fresh` reports
        self.symbol = instrument.symbol
        self.now = 0  # the latest command time seen
        self._recent: deque[ExecutionReport] = deque(maxlen=keep_events)
        self._fresh: list[ExecutionReport] = []  # reports of the command being applied
        self.engine = MatchingEngine(
            instrument, reference_price=reference_price, on_events=self._keep
        )
        if risk is not None and reference_price is not None:
            risk.reference.setdefault(self.symbol, reference_price)
        self.journal = journal
        self.applied = 0
        for line in journal.lines():
            command = decode(line)
            key = self._key(command)
            if key is None:
                self._apply(command)
            else:  # the journal holds only what ran: apply it, and remember its answer
                assert self.idempotency is not None
                self.idempotency.begin(key[0], key[1], command.now)
                self._remember(key[0], command, self._apply(command))
        self.recovered = self.applied  # commands replayed from the journal at start

    def handle(self, command: Command) -> Any:
        """Journal `command`, apply it, make the journal durable; the engine's answer (or its
        error)."""
        result = self.apply(command)
        self.journal.commit()
        return result

    def handle_batch(self, commands: list[Command]) -> list[Any]:
        """Several commands in order (one actor call for a batch), made durable together
        before the batch is answered."""
        apply = self.apply
        results = [apply(c) for c in commands]
        self.journal.commit()
        return results

    def commit(self) -> None:
        """Make what `apply` journaled durable (before answering)."""
        self.journal.commit()

    def apply(self, command: Command) -> Any:
        """`handle` without the commit: for a caller that times each command of a batch and
        calls `commit` once after the last."""
        try:
            line = encode(command)
        except (TypeError, ValueError) as exc:
            return errors.invalid_parameter(f"command ({exc})")
        kind = _KINDS.get(command.kind)
        if kind is None or type(command.request) is not kind[1]:
            return errors.invalid_parameter(f"{command.kind} request")
        guard = self.guard
        if guard is not None and (command.timestamp is not None or self.require_timestamp):
            stamp = command.timestamp
            refused = guard.check("" if stamp is None else stamp, command.recv_window,
                                  command.now * 1_000)  # fmt: skip
            if refused is not None:
                return refused
        if command.now > self.now:
            self.now = command.now
        key = self._key(command)
        if key is not None:
            return self._once(key, command, line)
        return self._run(command, line)

    def _run(self, command: Command, line: bytes) -> Any:
        """Risk, then journal and apply."""
        refused = self._refusal(command)
        if refused is not None:
            return refused
        self.journal.append(line)
        return self._apply(command, True)

    def _refusal(self, command: Command) -> VenueError | None:
        """The circuit breaker's or risk's refusal of a new order, if either refuses it."""
        if command.kind != "submit" or type(command.request) is not NewOrder:
            return None
        breaker = self.breaker
        if breaker is not None and not breaker.allow(command.now):
            return errors.risk(Code.RISK_BREAKER_OPEN, f"Risk: circuit breaker {self.symbol} "
                               f"is {breaker.state.value}.", retryable=True)  # fmt: skip
        risk = self.risk
        return None if risk is None else self._check(risk, command)

    def _check(self, risk: RiskEngine, command: Command) -> VenueError | None:
        """Risk's check of a new order, asking the desk once for exposure that runs short."""
        req, now = command.request, command.now
        refused = risk.check(self.symbol, req, now)
        wanted, risk.wanted = risk.wanted, None
        if refused is None or wanted is None or self.desk is None:
            return refused
        account, amount = wanted
        total = self.desk(account, amount)
        if total != risk.granted().get(account, 0):
            self._record(Command("grant", Grant(account, total), now))
            refused = risk.check(self.symbol, req, now)
            risk.wanted = None
        return refused

    def _record(self, command: Command) -> Any:
        """Journal and apply a command the symbol makes itself (grants, risk states)."""
        self.journal.append(encode(command))
        return self._apply(command)

    def _recorded(self, command: Command) -> Any:
        """`_record`, durable at once (for calls from outside a command)."""
        result = self._record(command)
        self.journal.commit()
        return result

    def _key(self, command: Command) -> tuple[str, bytes] | None:
        """The idempotency key and fingerprint of a new order with a client order id."""
        if self.idempotency is None or command.kind != "submit":
            return None
        req = command.request
        if not isinstance(req, NewOrder) or not isinstance(req.client_order_id, str):
            return None
        fingerprint = encode(Command("submit", req, 0))  # the order, whatever its time
        return order_key(req.account, req.client_order_id), fingerprint

    def _once(self, key: tuple[str, bytes], command: Command, line: bytes) -> Any:
        """Run a keyed order once: a repeat gets the first answer, another order -9203."""
        store = self.idempotency
        assert store is not None
        status, first = store.begin(key[0], key[1], command.now)
        if status is REPLAY and first is not None:
            return pickle.loads(first)  # bytes this process wrote itself
        if status is CONFLICT:
            return errors.IDEMPOTENCY_CONFLICT
        refused = self._refusal(command)
        if refused is not None:  # not journaled: the same order may be retried
            store.release(key[0], command.now)
            return refused
        self.journal.append(line)
        return self._remember(key[0], command, self._apply(command, True))

    def _remember(self, key: str, command: Command, result: Any) -> Any:
        assert self.idempotency is not None
        self.idempotency.complete(key, pickle.dumps(result), command.now)
        return result

    def _apply(self, command: Command, checked: bool = False) -> Any:
        """Apply a journaled command (`checked`: it has been through risk live; on replay risk
        checks it again, to rebuild what the check holds)."""
        self.applied += 1
        kind, req, now = command[0], command[1], command[2]
        risk = self.risk
        method = _METHODS.get(kind)
        if method is not None:
            if not self._collect:
                return getattr(self.engine, method)(req, now)
            if risk is not None and kind == "submit" and not checked and type(req) is NewOrder:
                risk.check(self.symbol, req, now)
                risk.wanted = None
            fresh: list[ExecutionReport] = []
            self._fresh = fresh
            result = getattr(self.engine, method)(req, now)
            if risk is not None:
                if kind == "submit":
                    risk.on_result(self.symbol, result, fresh, now)
                else:
                    risk.on_reports(self.symbol, fresh, now)
            if self.breaker is not None and kind == "submit":
                self._outcome(self.breaker, result, fresh, now)
            return result
        if kind == "grant":
            if risk is not None:
                risk.grant(req.account, req.total)
            return None
        if kind == "risk_state":
            return self._set_state(req, now)
        if not isinstance(req, Deposit) or req.units < 0:
            return errors.invalid_parameter("deposit")
        self.engine.ledger.deposit(req.account, req.asset, req.units)
        return None

    @staticmethod
    def _outcome(breaker: CircuitBreaker, result: Any, reports: list[ExecutionReport],
                 now: int) -> None:  # fmt: skip
        """What the breaker learns from an order: refused or not, and the prices it traded."""
        if isinstance(result, VenueError):
            breaker.record(now, ok=False, rejected=result.category in errors.REFUSALS,
                           error=result.category is Category.INTERNAL)  # fmt: skip
        else:
            breaker.record(now)
        for r in reports:
            if r.trade_id >= 0 and not r.is_maker:
                breaker.record_price(now, r.last_price)

    def _set_state(self, req: RiskState, now: int) -> list[Any]:
        """An account's new trading state; the kill switch also cancels its open orders."""
        risk = self.risk
        if risk is None:
            return []
        risk.set_state(req.account, TradingState(req.state), now, req.reason)
        if req.state != TradingState.KILLED.value:
            return []
        fresh: list[ExecutionReport] = []
        self._fresh = fresh
        acks = self.engine.cancel_all(req.account, now)
        risk.on_reports(self.symbol, fresh, now)
        return acks if isinstance(acks, list) else []

    # ------------------------------------------------------------------ from the desk

    def set_state(self, account: str, state: str, reason: str, now: int | None = None) -> Any:
        """The desk changed an account's state: journal it and apply it here (a KILLED
        account's open orders are cancelled; their acks are returned)."""
        if self.risk is None:
            return []
        try:
            target = TradingState(state)
        except ValueError:
            return errors.invalid_parameter("state")
        if not isinstance(account, str) or not account or not isinstance(reason, str):
            return errors.invalid_parameter("account")
        if self.risk.state(account) is target:
            return []
        return self._recorded(Command("risk_state", RiskState(account, state, reason),
                                      self.now if now is None else now))  # fmt: skip

    def reclaim(self, account: str, amount: int) -> int:
        """The desk wants up to `amount` of the account's exposure grant back: hand back what
        no order or position uses; returns how much (0 when nothing is spare)."""
        risk = self.risk
        if risk is None or type(amount) is not int or amount <= 0:
            return 0
        give = min(amount, risk.spare(account))
        if give:
            total = risk.granted().get(account, 0) - give
            self._recorded(Command("grant", Grant(account, total), self.now))
        return give

    def risk_report(self) -> tuple[int | None, dict[str, tuple[int, int, int]]]:
        """What the desk needs for loss limits: the reference price and the holdings that
        changed since the last report."""
        risk = self.risk
        if risk is None:
            return None, {}
        return risk.reference.get(self.symbol), risk.holdings(self.symbol)

    def state_digest(self) -> str:
        return self.engine.state_digest()

    def events_since(self, seq: int, limit: int = 10_000) -> list[ExecutionReport]:
        """Execution reports with `seq` above the given one, oldest first (for subscribers)."""
        recent = self._recent
        if not recent or recent[-1].seq <= seq:
            return []
        start = max(0, seq + 1 - recent[0].seq)  # sequence numbers have no gaps
        return list(itertools.islice(recent, start, start + limit))

    def _keep(self, reports: list[ExecutionReport]) -> None:
        self._recent.extend(reports)
        if self._collect:
            self._fresh.extend(reports)
