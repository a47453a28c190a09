"""`SymbolActor`: one symbol's `SymbolService` in a Ray actor, restartable from its journal.

The actor is a thin adapter: every method forwards to the service. It is created with
`max_restarts` so that Ray brings it back after its process dies. The new instance replays
the journal file and so ends in the state of the last command journaled before the crash.
A client that lost a call to the crash asks `applied()` and resumes after the commands the
actor has.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from pathlib import Path
from typing import Any

import ray

from bot4.actors.names import NAMESPACE, RISK, symbol_actor
from bot4.core import errors
from bot4.core.errors import VenueError
from bot4.core.instruments import load_symbols
from bot4.obs.logs import event, order_refused, setup_logging
from bot4.obs.observe import SymbolMetrics, TimedJournal
from bot4.obs.ray_export import RayExporter
from bot4.obs.recorder import Recorder
from bot4.risk.breakers import BreakerState, CircuitBreaker
from bot4.risk.config import load_risk
from bot4.risk.pretrade import RiskEngine
from bot4.service import nativewire, wire
from bot4.service.auth import TimestampGuard
from bot4.service.commands import Command
from bot4.service.journal import FileJournal
from bot4.service.nativeidempotency import new_idempotency_store
from bot4.service.symbol import SymbolService

ATTACH_TIMEOUT_S = 10.0  # one attach call
BREAKER_LEVEL = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


@ray.remote(max_restarts=-1, max_task_retries=0)
class SymbolActor:
    """A symbol's engine and journal in a Ray actor."""

    def __init__(
        self,
        symbols_file: str,
        symbol: str,
        journal_dir: str,
        fsync: str = "always",
        reference_price: int | None = None,
        idempotency_capacity: int = 100_000,
        idempotency_ttl_ms: int = 3_600_000,
        *,
        risk_file: str | None = None,
        desk: bool = False,
        require_timestamp: bool = False,
        report_interval_s: float = 0.05,
        keep_events: int = 100_000,
        desk_wait_s: float = 60.0,
    ) -> None:
        """Orders with a client order id are idempotent per (account, clientOrderId) within
        the TTL and capacity, across restarts (see `SymbolService`); 0 capacity turns it off.

        Commands that carry a timestamp pass the venue's recvWindow guard. With `risk_file`,
        new orders pass pre-trade risk; with `desk` too, account-wide risk is the ``risk``
        actor's: exposure grants come from it, fills and prices go to it (at most every
        `report_interval_s`), and it pushes trading states (kill switch, breaches) here. A
        symbol that starts while the desk is away waits up to `desk_wait_s` for it.
        """
        instrument = load_symbols(symbols_file)[symbol]
        store = (
            new_idempotency_store(idempotency_capacity, idempotency_ttl_ms)
            if idempotency_capacity
            else None
        )
        self.recorder = Recorder()
        self.metrics = SymbolMetrics(self.recorder, instrument)
        self.exporter = RayExporter(self.recorder)
        self.exporter.keep_alive()
        journal = TimedJournal(
            FileJournal(Path(journal_dir) / f"{symbol}.journal", fsync),  # type: ignore[arg-type]
            self.recorder,
            symbol,
        )
        self.symbol = symbol
        self.desk: Any = ray.get_actor(RISK, namespace=NAMESPACE) if desk else None
        risk = breaker = None
        if risk_file is not None:
            config = load_risk(risk_file)
            risk = RiskEngine(config, {symbol: instrument}, leased=desk)
            if config.breaker is not None:
                breaker = CircuitBreaker(symbol, config.breaker)
        self.service = SymbolService(
            instrument,
            journal,
            reference_price=reference_price,
            keep_events=keep_events,
            idempotency=store,
            guard=TimestampGuard(),
            require_timestamp=require_timestamp,
            risk=risk,
            desk=self._ask if self.desk is not None else None,
            breaker=breaker,
        )
        gc.collect()
        gc.freeze()  # what the replay built stays: keep the collector from rescanning it
        self.log = setup_logging(os.environ.get("BOT4_LOG_LEVEL", "INFO")).getChild("symbol")
        self._breaker_state = breaker.state if breaker is not None else None
        event(self.log, logging.INFO, "symbol actor started", symbol=symbol, pid=os.getpid(),
              recovered=self.service.recovered, journal=str(journal_dir))  # fmt: skip
        failure = self.service.failure
        self.recorder.set("bot4_symbol_stopped", (symbol,), 0 if failure is None else 1)
        if failure is not None:  # the actor stays up, refusing everything with -9501
            event(self.log, logging.ERROR, "symbol stopped", symbol=symbol,
                  line=self.service.failed_line, reason=failure.msg)  # fmt: skip
            self.exporter.flush()
        self.report_interval_s = report_interval_s
        self._reported = 0.0
        self._detached = self.desk is not None and risk is not None
        if self._detached:
            self._attach(desk_wait_s)
            if self._detached:
                event(self.log, logging.WARNING, "risk desk unreachable", symbol=symbol,
                      waited_s=desk_wait_s)  # fmt: skip

    def _attach(self, patience_s: float) -> None:
        """Tell the desk what this symbol holds; take on the states it missed while down.

        The desk may be down too (both restart after a node failure, or it died the moment
        this symbol asked): ask again until `patience_s` has passed. An exception here would
        fail the actor's creation, which Ray does not restart, so after that the symbol
        starts anyway on its journaled states and grants (`_ask` gives no more while the desk
        is away) and asks again before its next batch."""
        risk = self.service.risk
        assert risk is not None
        deadline = time.monotonic() + patience_s
        while True:
            try:
                states: Any = ray.get(self.desk.attach.remote(self.symbol, risk.granted()),
                                      timeout=ATTACH_TIMEOUT_S if patience_s else 1.0)  # fmt: skip
                break
            except (ray.exceptions.RayError, TimeoutError):
                if time.monotonic() >= deadline:
                    return
                time.sleep(0.2)
        self._detached = False
        if isinstance(states, dict):
            for account in sorted(set(states) | set(risk.states())):
                self.set_state(account, states.get(account, "ACTIVE"), "desk state")

    def _ask(self, account: str, amount: int) -> int:
        """The desk's answer to a grant request; on failure, the grant the symbol has."""
        total: Any
        try:
            total = ray.get(self.desk.request.remote(account, self.symbol, amount), timeout=10)
        except (ray.exceptions.RayError, TimeoutError):
            total = None
        if type(total) is not int:
            assert self.service.risk is not None
            return self.service.risk.granted().get(account, 0)
        return total

    def _report(self) -> None:
        """Send fills and the price to the desk, a few times a second at most."""
        now = time.monotonic()
        if now - self._reported < self.report_interval_s:
            return
        self._reported = now
        price, holdings = self.service.risk_report()
        if holdings or price != self._price:
            self._price = price
            self.desk.report.remote(self.symbol, price, holdings, self.service.now)

    _price: int | None = None

    def handle(self, command: Command) -> Any:
        return self.handle_batch([command])[0]

    def handle_batch(self, commands: list[Command]) -> list[Any]:
        """Each command timed and counted, the journal made durable once, then answered."""
        if self._detached:
            self._attach(0.0)
        apply, record, clock = self.service.apply, self.metrics.outcome, time.perf_counter_ns
        results = []
        for command in commands:
            start = clock()
            result = apply(command)
            record(command.kind, command.request, result, clock() - start)
            if type(result) is VenueError:
                order_refused(self.log, self.symbol, command.request, result)
            results.append(result)
        self.service.commit()
        self._after()
        return results

    def _timed(self, command: Command) -> Any:
        """One command of a part, timed and counted as `handle_batch` does."""
        start = time.perf_counter_ns()
        result = self.service.apply(command)
        self.metrics.outcome(command.kind, command.request, result,
                             time.perf_counter_ns() - start)  # fmt: skip
        if type(result) is VenueError:
            order_refused(self.log, self.symbol, command.request, result)
        return result

    def handle_wire_part(self, request_id: str, blob: bytes, lean: bool = False) -> bytes:
        """This symbol's part of an idempotent request, in the wire form: applied at most
        once per `request_id` (see `SymbolService.handle_part`), durable before it answers;
        a repeat gets the first answers."""
        try:
            commands = wire.decode_commands(blob)
        except ValueError:
            results: list[Any] = [errors.invalid_parameter("wire batch")]
        else:
            if self._detached:
                self._attach(0.0)
            results = self.service.handle_part(request_id, commands, self._timed)
            self._after()
        return wire.lean_results(results) if lean else nativewire.encode_results(results)

    def handle_wire(self, blob: bytes) -> bytes:
        """`handle_batch` in the compact wire form (`bot4.service.wire`): bytes in, bytes out,
        which Ray ships without pickling each order and report."""
        return nativewire.encode_results(self._wire_batch(blob))

    def handle_wire_lean(self, blob: bytes) -> bytes:
        """`handle_wire` answering each order with a `wire.LeanAck` (Binance's
        newOrderRespType RESULT): its state and the sequence range of its reports, which
        `events_since` serves."""
        return wire.lean_results(self._wire_batch(blob))

    def _wire_batch(self, blob: bytes) -> list[Any]:
        try:
            commands = wire.decode_commands(blob)
        except ValueError:
            return [errors.invalid_parameter("wire batch")]
        return self.handle_batch(commands)

    def _after(self) -> None:
        """Off the order's path: risk reports and metrics, each at most a few times a second."""
        if self.desk is not None:
            self._report()
        breaker = self.service.breaker
        if breaker is not None:
            self.recorder.set("bot4_breaker_state", (self.symbol, "symbol"),
                              BREAKER_LEVEL[breaker.state])  # fmt: skip
            if breaker.state is not self._breaker_state:
                self._breaker_state = breaker.state
                last = breaker.events[-1] if breaker.events else None
                event(self.log, logging.WARNING, "circuit breaker", symbol=self.symbol,
                      state=breaker.state.value, reason=last and last.reason and last.reason.value,
                      detail=last and last.detail)  # fmt: skip
        if self.exporter.due():
            self.flush_metrics()

    def flush_metrics(self) -> int:
        """Export the metrics now (tests, and the end of a run); how many Ray calls it took."""
        self.metrics.publish(self.service.engine)
        return self.exporter.flush()

    def set_state(self, account: str, state: str, reason: str, now: int | None = None) -> Any:
        """The desk's push of an account's trading state (KILLED cancels its open orders)."""
        risk = self.service.risk
        known = risk is not None and isinstance(account, str)
        before = risk.state(account).value if known else None  # type: ignore[union-attr]
        result = self.service.set_state(account, state, reason, now)
        if before is not None and before != state and not isinstance(result, VenueError):
            event(self.log, logging.WARNING, "trading state", symbol=self.symbol,
                  account=account, state=state, previous=before, reason=reason,
                  cancelled=len(result))  # fmt: skip
        return result

    def trading_state(self, account: str) -> str:
        """The account's trading state as this symbol applies it (ACTIVE without risk)."""
        risk = self.service.risk
        return "ACTIVE" if risk is None else risk.state(account).value

    def reclaim(self, account: str, amount: int) -> int:
        """Hand unused exposure grant back to the desk; returns how much."""
        given = self.service.reclaim(account, amount)
        if given and self.desk is not None:
            self.desk.released.remote(account, self.symbol, given)
        return given

    def flush_report(self) -> None:
        """Report to the desk now (tests, and the end of a run)."""
        if self.desk is not None:
            self._reported = 0.0
            self._report()

    def applied(self) -> int:
        """How many commands this symbol has (replayed plus handled)."""
        return self.service.applied

    def recovered(self) -> int:
        """How many commands the current instance replayed from the journal at start."""
        return self.service.recovered

    def state_digest(self) -> str:
        return self.service.state_digest()

    # A stopped symbol (a journal it could not replay) answers every query with its -9501:
    # the state it holds is only the part of the journal before the bad line.

    def get_order(self, account: str, order_id: int | None, client_order_id: str | None) -> Any:
        if self.service.failure is not None:
            return self.service.failure
        return self.service.engine.get_order(account, order_id, client_order_id)

    def balances(self, account: str) -> dict[str, tuple[int, int]] | VenueError:
        """(free, locked) units per asset of the account on this symbol's ledger."""
        if self.service.failure is not None:
            return self.service.failure
        return {
            asset: (bal.free, bal.locked)
            for owner, asset, bal in self.service.engine.ledger.items()
            if owner == account
        }

    def depth(self, limit: int = 100) -> dict[str, list[tuple[int, int]]] | VenueError:
        if self.service.failure is not None:
            return self.service.failure
        return self.service.engine.depth(limit)

    def events_since(self, seq: int, limit: int = 10_000) -> list[Any] | VenueError:
        if self.service.failure is not None:
            return self.service.failure
        return self.service.events_since(seq, limit)

    def health(self) -> dict[str, Any]:
        """What `bot4 status` shows: the journal position, and why the symbol stopped if it
        did (its -9501 message, and the journal line)."""
        failure = self.service.failure
        return {
            "symbol": self.symbol,
            "node_id": self.node_id(),
            "pid": os.getpid(),
            "applied": self.service.applied,
            "now": self.service.now,
            "recovered": self.service.recovered,
            "journal": self.service.journal.where,
            "stopped": None if failure is None else failure.msg,
            "failed_line": self.service.failed_line or None,
        }

    def pid(self) -> int:
        return os.getpid()

    def node_id(self) -> str:
        """The Ray node this instance runs on."""
        return str(ray.get_runtime_context().get_node_id())


def deploy_symbol(
    symbols_file: str | Path,
    symbol: str,
    journal_dir: str | Path,
    *,
    fsync: str = "always",
    reference_price: int | None = None,
    max_pending_calls: int = 1_000,
) -> Any:
    """Create (or attach to) the named actor of `symbol` in the `bot4` namespace."""
    return SymbolActor.options(  # type: ignore[attr-defined]
        name=symbol_actor(symbol),
        namespace=NAMESPACE,
        get_if_exists=True,
        max_pending_calls=max_pending_calls,
    ).remote(str(symbols_file), symbol, str(journal_dir), fsync, reference_price)
