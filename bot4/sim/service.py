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
from bot4.core.commands import Command, Deposit, decode, encode
from bot4.core.events import ExecutionReport
from bot4.core.idempotency import CONFLICT, REPLAY, MemoryIdempotencyStore, order_key
from bot4.core.instruments import Instrument
from bot4.core.orders import NewOrder
from bot4.sim.engine import MatchingEngine

_METHODS = {  # command kind -> the engine method that applies it
    "submit": "submit",
    "cancel": "cancel",
    "amend": "amend",
    "cancel_replace": "cancel_replace",
    "oco": "submit_oco",
    "oto": "submit_oto",
    "otoco": "submit_otoco",
    "cancel_list": "cancel_list",
}


class Journal(Protocol):
    """Where a symbol's commands go: appended in order, read back in order."""

    def append(self, line: bytes) -> None: ...

    def lines(self) -> Iterator[bytes]: ...


class MemoryJournal:
    """A journal in a list (tests, and runs that need no durability)."""

    def __init__(self) -> None:
        self.data: list[bytes] = []

    def append(self, line: bytes) -> None:
        self.data.append(line)

    def lines(self) -> Iterator[bytes]:
        return iter(list(self.data))


class SymbolService:
    """A symbol's matching engine whose every command is journaled before it is applied."""

    def __init__(
        self,
        instrument: Instrument,
        journal: Journal,
        *,
        reference_price: int | None = None,
        keep_events: int = 100_000,
        idempotency: MemoryIdempotencyStore | None = None,
    ) -> None:
        """`keep_events` bounds the reports kept for subscribers (the oldest go first).

        With an `idempotency` store, a new order that carries a client order id is keyed by
        (account, clientOrderId). A retry of it, even after a restart, gets its first answer
        back instead of a second order; the same key with another order is refused (-9203).
        Replaying the journal fills the store again, so this holds across actor restarts.
        """
        self.idempotency = idempotency
        self._recent: deque[ExecutionReport] = deque(maxlen=keep_events)
        self.engine = MatchingEngine(
            instrument, reference_price=reference_price, on_events=self._keep
        )
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
        """Journal `command`, then apply it; returns the engine's answer (or its error)."""
        try:
            line = encode(command)
        except (TypeError, ValueError) as exc:
            return errors.invalid_parameter(f"command ({exc})")
        key = self._key(command)
        if key is not None:
            return self._once(key, command, line)
        self.journal.append(line)
        return self._apply(command)

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
        self.journal.append(line)
        return self._remember(key[0], command, self._apply(command))

    def _remember(self, key: str, command: Command, result: Any) -> Any:
        assert self.idempotency is not None
        self.idempotency.complete(key, pickle.dumps(result), command.now)
        return result

    def handle_batch(self, commands: list[Command]) -> list[Any]:
        """Several commands in order (one actor call for a batch)."""
        return [self.handle(c) for c in commands]

    def _apply(self, command: Command) -> Any:
        self.applied += 1
        kind, req, now = command
        method = _METHODS.get(kind)
        if method is not None:
            return getattr(self.engine, method)(req, now)
        if not isinstance(req, Deposit) or req.units < 0:
            return errors.invalid_parameter("deposit")
        self.engine.ledger.deposit(req.account, req.asset, req.units)
        return None

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

