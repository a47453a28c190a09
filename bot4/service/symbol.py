"""One symbol behind its journal: every command is journaled first, then applied.

This is the pure part of a symbol actor. The engine is deterministic, so the journal of
commands is the symbol's state: a `SymbolService` built over an existing journal replays it,
and ends with exactly the `state_digest` that the journaled run had. The journal is written
before the engine sees the command, so an acknowledged command is always in it. A command
cut off by a crash (never acknowledged) is a partial last line, which the journal drops.

A line that cannot be replayed (corrupt, blank, or one the engine cannot apply) is never
skipped: replay stops before it and the service is *stopped*, answering every request with
-9501 naming the journal and the line, until an operator repairs the journal.

The symbol's clock is the latest time of a journaled command; a command older than it is
refused (-9401), except a deposit, which has no time of its own and takes the clock's.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from bot4.core import errors
from bot4.core.errors import VenueError
from bot4.core.events import ExecutionReport
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
from bot4.risk.pretrade import RiskEngine, TradingState
from bot4.service.admission import breaker_refusal, learn
from bot4.service.auth import TimestampGuard
from bot4.service.commands import (
    Command,
    Deposit,
    Grant,
    Part,
    RiskState,
    decode,
    encode_part,
    fingerprint,
)
from bot4.service.idempotency import (
    CONFLICT,
    NEW,
    REPLAY,
    MemoryIdempotencyStore,
    RecentRequests,
    order_key,
    valid_key,
)
from bot4.service.journal import Journal
from bot4.service.nativecommands import encode
from bot4.service.nativeidempotency import NativeIdempotencyStore
from bot4.service.nativewire import decode_results, encode_results
from bot4.venue.backends import DEFAULT_BACKEND, Backend, new_engine
from bot4.venue.native import NativeEngine

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


def _thaw(first: bytes) -> Any:
    """A keyed order's first answer from the bytes its key remembers: results frames of the
    native codec (`nativewire`), which give back equal values, enum members and all, for a
    fraction of what pickling the NamedTuples costs."""
    return decode_results(first)[0]


def _part_key(request_id: str) -> str:
    """The idempotency key of a symbol's part of a request."""
    return f"part:{request_id}"


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
        idempotency: MemoryIdempotencyStore | NativeIdempotencyStore | None = None,
        guard: TimestampGuard | None = None,
        require_timestamp: bool = False,
        risk: RiskEngine | None = None,
        desk: Desk | None = None,
        breaker: CircuitBreaker | None = None,
        backend: Backend = DEFAULT_BACKEND,
    ) -> None:
        """`keep_events` bounds the reports kept for subscribers (the oldest go first).
        `backend` is the engine's implementation (`bot4.venue.backends`): both answer the
        same and replay the same journal to the same state.

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
        # parts of idempotent requests: remembered by count, whatever the clock does
        self.parts = None if idempotency is None else RecentRequests(idempotency.capacity)
        self.guard = guard
        self.require_timestamp = require_timestamp
        self.risk = risk
        self.desk = desk
        self.breaker = breaker
        self._collect = risk is not None or breaker is not None  # keep `_fresh` reports
        self.symbol = instrument.symbol
        self.now = 0  # the latest command time seen
        self._fresh: list[ExecutionReport] = []  # reports of the command being applied
        self.engine = new_engine(instrument, backend=backend, reference_price=reference_price)
        # the reports kept for subscribers: the native engine keeps its own compact records
        # (no Python object held per report); over the Python engine, a deque of them
        self._recent: deque[ExecutionReport] | None = None
        self._native = self.engine if isinstance(self.engine, NativeEngine) else None
        if self._native is not None:
            self._native.keep_reports(keep_events)
            if self._collect:
                self._native.on_events = self._add_fresh
        else:
            self._recent = deque(maxlen=keep_events)
            self.engine.on_events = self._keep
        if risk is not None and reference_price is not None:
            risk.reference.setdefault(self.symbol, reference_price)
        self.journal = journal
        self._append = self._append_own = journal.append  # both redirected inside a part
        self.applied = 0
        self.failure: VenueError | None = None  # set when the journal cannot be replayed
        self.failed_line = 0  # the journal line it stopped at (1-based)
        self._replay(journal)
        self.recovered = self.applied  # commands replayed from the journal at start

    def _replay(self, journal: Journal) -> None:
        """Apply the journal in order; at the first line that cannot be applied, stop."""
        number = 0
        try:
            for number, line in enumerate(journal.lines(), 1):
                try:
                    command = decode(line)
                except ValueError as exc:
                    self._stop(journal, number, f"is corrupt: {exc}")
                    return
                self._replay_one(command)
        except Exception as exc:  # a line the engine could not apply: never go past it
            self._stop(journal, number, f"could not be replayed: {type(exc).__name__}: {exc}")

    def _stop(self, journal: Journal, number: int, what: str) -> None:
        self.failed_line = number
        self.failure = errors.symbol_stopped(
            self.symbol, f"journal {journal.where} line {number} {what}. Nothing after it was "
            "applied; repair the journal (the line, or truncate from it), then restart the "
            "symbol.")  # fmt: skip

    def _replay_one(self, command: Command) -> Any:
        """Apply one journaled command as it ran: a keyed order remembers its answer again."""
        if command.kind == "part":
            return self._replay_part(command)
        key = self._key(command)
        if key is None:
            return self._apply(command)
        assert self.idempotency is not None  # the journal holds only what ran
        self.idempotency.begin(key[0], key[1], command.now)
        return self._remember(key[0], command, self._apply(command))

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

    def handle_part(self, request_id: str, commands: list[Command],
                    apply: Callable[[Command], Any] | None = None) -> list[Any]:  # fmt: skip
        """This symbol's part of an idempotent request (`request_id`): its commands run at
        most once, however often and after whatever crash the part is sent again; a repeat
        gets the first answers, the same id with other commands -9203.

        The part is journaled as one line (all of it or, after a crash, none of it) holding
        the request id, so replay recognises it too. Durable before it is answered. `apply`
        runs each command (a caller's timed `self.apply`)."""
        if self.failure is not None:
            return [self.failure]
        store = self.parts
        if store is None:
            return [errors.invalid_parameter("request_id (this symbol keeps no keys)")]
        if type(request_id) is not str or not 0 < len(request_id) <= 256:
            return [errors.invalid_parameter("request_id")]
        try:
            print_ = fingerprint(commands)
        except (TypeError, ValueError, AttributeError) as exc:
            return [errors.invalid_parameter(f"command ({exc})")]
        now = max([self.now, *(c.now for c in commands if type(c.now) is int)])
        key = _part_key(request_id)
        status, first = store.begin(key, print_.encode())
        if status is REPLAY and first is not None:
            answers: list[Any] = decode_results(first)  # bytes this process wrote itself
            return answers
        if status is CONFLICT:
            return [errors.IDEMPOTENCY_CONFLICT]
        assert status is NEW  # a part runs inside one call: never found in flight
        try:
            results, lines, others = self._run_part(commands, apply or self.apply)
        except BaseException:
            store.release(key)
            raise
        self.journal.append(encode_part(request_id, print_, len(commands), lines, others, now))
        self.journal.commit()
        store.complete(key, encode_results(results))
        return results

    def _run_part(
        self, commands: list[Command], apply: Callable[[Command], Any]
    ) -> tuple[list[Any], list[tuple[int, bytes]], list[tuple[int, Any]]]:
        """Run a part's commands with the journal lines caught: (results, journaled lines
        with their index, the answers that were not journaled with theirs)."""
        lines: list[tuple[int, bytes]] = []
        index = 0
        self._append = lambda line: lines.append((index, line))
        self._append_own = lambda line: lines.append((-1, line))
        results: list[Any] = []
        others: list[tuple[int, Any]] = []
        try:
            for index, command in enumerate(commands):
                mark = len(lines)
                result = apply(command)
                results.append(result)
                if any(i == index for i, _ in lines[mark:]):
                    continue
                if type(result) is VenueError:
                    others.append((index, result))
                else:  # the only other answer without a journal line: a keyed order's first
                    key = self._key(command)
                    assert key is not None
                    others.append((index, key[0]))
        finally:
            self._append = self._append_own = self.journal.append
        return results, lines, others

    def _replay_part(self, command: Command) -> list[Any]:
        """Apply a journaled part again and remember its answers under its request id."""
        part: Part = command.request
        results: list[Any] = [None] * part.size
        for index, inner in part.entries:
            result = self._replay_one(inner)
            if index >= 0:
                results[index] = result
        keys = self.idempotency
        for index, answer in part.answers:
            if type(answer) is str:  # a keyed order's first answer, if the store has it
                first = None if keys is None else keys.response(answer)
                results[index] = errors.DUPLICATE_ORDER if first is None else _thaw(first)
            else:
                results[index] = answer
        if self.parts is not None:
            key = _part_key(part.request_id)
            self.parts.begin(key, part.fingerprint.encode())
            self.parts.complete(key, encode_results(results))
        return results

    def apply(self, command: Command) -> Any:
        """`handle` without the commit: for a caller that times each command of a batch and
        calls `commit` once after the last."""
        if self.failure is not None:
            return self.failure
        try:
            line = encode(command)
        except (TypeError, ValueError) as exc:
            return errors.invalid_parameter(f"command ({exc})")
        kind = _KINDS.get(command.kind)
        if kind is None or type(command.request) is not kind[1]:
            return errors.invalid_parameter(f"{command.kind} request")
        if command.now < self.now:
            if command.kind != "deposit":
                return errors.time_behind(command.now, self.now)
            command = command._replace(now=self.now)
            line = encode(command)
        guard = self.guard
        if guard is not None and (command.timestamp is not None or self.require_timestamp):
            stamp = command.timestamp
            refused = guard.check("" if stamp is None else stamp, command.recv_window,
                                  command.now * 1_000)  # fmt: skip
            if refused is not None:
                return refused
        key = self._key(command, line)
        if key is not None:
            return self._once(key, command, line)
        return self._run(command, line)

    def _run(self, command: Command, line: bytes) -> Any:
        """Risk, then journal and apply."""
        refused = self._refusal(command)
        if refused is not None:
            return refused
        self._append(line)
        return self._apply(command, True)

    def _refusal(self, command: Command) -> VenueError | None:
        """The circuit breaker's or risk's refusal of a new order, if either refuses it."""
        if command.kind != "submit" or type(command.request) is not NewOrder:
            return None
        refused = breaker_refusal(self.breaker, command.now)
        if refused is not None or self.risk is None:
            return refused
        return self._check(self.risk, command)

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
        self._append_own(encode(command))
        return self._apply(command)

    def _recorded(self, command: Command) -> Any:
        """`_record`, durable at once (for calls from outside a command)."""
        result = self._record(command)
        self.journal.commit()
        return result

    def _key(self, command: Command, line: bytes | None = None) -> tuple[str, bytes] | None:
        """The idempotency key and fingerprint of a new order with a client order id. The
        fingerprint is the request's part of its journal line (`line`, if it is encoded
        already): the order, whatever its time."""
        if self.idempotency is None or command.kind != "submit":
            return None
        req = command.request
        if not isinstance(req, NewOrder) or not isinstance(req.client_order_id, str):
            return None
        key = order_key(req.account, req.client_order_id)
        if not valid_key(key):  # not Unicode: no store holds it (and the venue refuses it)
            return None
        if line is None:
            line = encode(Command("submit", req, 0))
        return key, line[line.index(b'"r":') :]  # after the kind and the time

    def _once(self, key: tuple[str, bytes], command: Command, line: bytes) -> Any:
        """Run a keyed order once: a repeat gets the first answer, another order -9203."""
        store = self.idempotency
        assert store is not None
        status, first = store.begin(key[0], key[1], command.now)
        if status is REPLAY and first is not None:
            return _thaw(first)  # bytes this process wrote itself
        if status is CONFLICT:
            return errors.IDEMPOTENCY_CONFLICT
        refused = self._refusal(command)
        if refused is not None:  # not journaled: the same order may be retried
            store.release(key[0], command.now)
            return refused
        self._append(line)
        return self._remember(key[0], command, self._apply(command, True))

    def _remember(self, key: str, command: Command, result: Any) -> Any:
        assert self.idempotency is not None
        self.idempotency.complete(key, encode_results([result]), command.now)
        return result

    def _apply(self, command: Command, checked: bool = False) -> Any:
        """Apply a journaled command (`checked`: it has been through risk live; on replay risk
        checks it again, to rebuild what the check holds)."""
        self.applied += 1
        kind, req, now = command[0], command[1], command[2]
        if now > self.now:
            self.now = now
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
            if kind == "submit":
                learn(self.breaker, risk, self.symbol, result, fresh, now)
            elif risk is not None:
                risk.on_reports(self.symbol, fresh, now)
            return result
        if kind == "grant":
            if risk is not None:
                risk.grant(req.account, req.total)
            return None
        if kind == "risk_state":
            return self._set_state(req, now)
        if (not isinstance(req, Deposit) or type(req.units) is not int or req.units < 0
                or not valid_key(req.account) or not valid_key(req.asset)):  # fmt: skip
            return errors.invalid_parameter("deposit")
        self.engine.ledger.deposit(req.account, req.asset, req.units)
        return None

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
        if self.failure is not None:
            return self.failure
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
        when = self.now if type(now) is not int or now < self.now else now
        return self._recorded(Command("risk_state", RiskState(account, state, reason), when))

    def reclaim(self, account: str, amount: int) -> int:
        """The desk wants up to `amount` of the account's exposure grant back: hand back what
        no order or position uses; returns how much (0 when nothing is spare)."""
        risk = self.risk
        if risk is None or self.failure is not None or type(amount) is not int or amount <= 0:
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
        """Up to `limit` of the `keep_events` newest execution reports with `seq` above the
        given one, oldest first (for subscribers)."""
        if type(seq) is not int or type(limit) is not int or limit <= 0 or seq >= 2**63:
            return []
        if self._native is not None:
            return self._native.events_since(max(seq, -1), limit)
        recent = self._recent
        assert recent is not None
        if not recent or recent[-1].seq <= seq:
            return []
        start = max(0, seq + 1 - recent[0].seq)  # sequence numbers have no gaps
        return list(itertools.islice(recent, start, start + limit))

    def _add_fresh(self, reports: list[ExecutionReport]) -> None:
        self._fresh.extend(reports)

    def _keep(self, reports: list[ExecutionReport]) -> None:
        assert self._recent is not None  # the Python engine's sink
        self._recent.extend(reports)
        if self._collect:
            self._fresh.extend(reports)
