"""`RiskActor`: the `RiskDesk` (account-wide risk) in a Ray actor, named ``risk`` in the
``bot4`` namespace.

Symbol actors call it when an account's exposure grant runs short (`request`, rare by design:
each grant covers many orders) and report fills and prices to it (`report`, fire and forget,
a few times a second at most). It never waits on a symbol actor: what it wants from them,
a reclaim of unused grant or an account's new trading state, it sends without waiting, so a
symbol blocked on `request` can never deadlock with it.

Its state is saved to `state_file` after every change and loaded when Ray restarts it. A bad
argument returns `errors.invalid_parameter` and leaves the desk as it was.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import ray

from bot4.actors.names import NAMESPACE, symbol_actor
from bot4.core import errors
from bot4.core.errors import VenueError
from bot4.core.instruments import load_symbols
from bot4.obs.logs import event, setup_logging
from bot4.obs.ray_export import RayExporter
from bot4.obs.recorder import Recorder
from bot4.risk.config import load_risk
from bot4.risk.desk import Holding, RiskDesk, StateChange
from bot4.risk.pretrade import TradingState
from bot4.service.journal import write_atomic


def _valid(account: object, symbol: object = "-", amount: object = 0) -> bool:
    return (isinstance(account, str) and bool(account) and isinstance(symbol, str)
            and type(amount) is int and amount >= 0)  # fmt: skip


@ray.remote(max_restarts=-1, max_task_retries=0, num_cpus=0)
class RiskActor:
    """Account-wide risk: exposure grants, loss limits over symbols, the kill switch."""

    def __init__(self, risk_file: str, symbols_file: str, state_file: str | None = None,
                 fsync: str = "always") -> None:  # fmt: skip
        self.desk = RiskDesk(load_risk(risk_file), load_symbols(symbols_file))
        self.state_file = Path(state_file) if state_file else None
        self.fsync = fsync
        self._symbols: dict[str, Any] = {}
        if self.state_file is not None and self.state_file.exists():
            self.desk.restore(json.loads(self.state_file.read_bytes()))
        self.log = setup_logging(os.environ.get("BOT4_LOG_LEVEL", "INFO")).getChild("risk")
        self.recorder = Recorder()
        self.exporter = RayExporter(self.recorder)
        self.exporter.keep_alive()
        for account, state in self.desk.states().items():
            self.recorder.set("bot4_trading_state", (account, state), 1)
        self.exporter.flush()

    def _observe(self, changes: list[StateChange], breach: bool = False) -> None:
        """Trading-state gauges, breach and kill-switch counters (exported at once: rare), and
        a WARNING log line per change."""
        rec = self.recorder
        for change in changes:
            event(self.log, logging.WARNING, "risk breach" if breach else "trading state",
                  account=change.account, state=change.state, reason=change.reason,
                  now=change.now)  # fmt: skip
            for state in TradingState:
                rec.set("bot4_trading_state", (change.account, state.value),
                        1 if state.value == change.state else 0)  # fmt: skip
            if breach:
                rec.inc("bot4_risk_breaches", (change.account, change.state))
            elif change.state == TradingState.KILLED.value:
                rec.inc("bot4_kill_switch", (change.account,))
        if changes:
            self.exporter.flush()

    def _save(self) -> None:
        if self.state_file is not None:
            data = json.dumps(self.desk.snapshot(), sort_keys=True).encode()
            write_atomic(self.state_file, data, self.fsync)  # type: ignore[arg-type]

    def _symbol(self, symbol: str) -> Any:
        actor = self._symbols.get(symbol)
        if actor is None:
            try:
                actor = ray.get_actor(symbol_actor(symbol), namespace=NAMESPACE)
            except ValueError:  # not deployed
                return None
            self._symbols[symbol] = actor
        return actor

    def _push(self, changes: list[StateChange]) -> None:
        """Tell every deployed symbol about state changes (without waiting)."""
        for change in changes:
            for symbol in self.desk.symbols:
                actor = self._symbol(symbol)
                if actor is not None:
                    actor.set_state.remote(change.account, change.state, change.reason,
                                           change.now)  # fmt: skip

    # ------------------------------------------------------------------ from symbols

    def request(self, account: str, symbol: str, amount: int) -> int | VenueError:
        """More exposure for `account` on `symbol`; the symbol's whole grant now."""
        if not _valid(account, symbol, amount):
            return errors.invalid_parameter("request")
        total, reclaims = self.desk.request(account, symbol, amount)
        self._save()
        for other, ask in reclaims:
            actor = self._symbol(other)
            if actor is not None:
                actor.reclaim.remote(account, ask)
        return total

    def released(self, account: str, symbol: str, amount: int) -> int | VenueError:
        if not _valid(account, symbol, amount):
            return errors.invalid_parameter("released")
        total = self.desk.released(account, symbol, amount)
        self._save()
        return total

    def attach(self, symbol: str, grants: dict[str, int]) -> dict[str, str] | VenueError:
        """A symbol (re)started with `grants`; the accounts that are not ACTIVE."""
        if not isinstance(grants, dict) or not all(_valid(a, symbol, g)
                                                   for a, g in grants.items()):  # fmt: skip
            return errors.invalid_parameter("grants")
        states = self.desk.attach(symbol, grants)
        self._save()
        return states

    def report(self, symbol: str, price: int | None, holdings: dict[str, tuple[int, int, int]],
               now: int) -> list[StateChange] | VenueError:  # fmt: skip
        """A symbol's price and changed holdings; breaches are pushed to every symbol."""
        try:
            rows = {a: Holding(*map(int, h)) for a, h in holdings.items() if _valid(a)}
            changes = self.desk.report(symbol, None if price is None else int(price), rows,
                                       int(now))  # fmt: skip
        except (TypeError, ValueError, AttributeError):
            return errors.invalid_parameter("report")
        self._save()
        self._observe(changes, breach=True)
        self._push(changes)
        return changes

    # ------------------------------------------------------------------ operators

    def kill(self, account: str, now: int, push: bool = True) -> StateChange | VenueError | None:
        """The kill switch. With `push`, every symbol hears of it (the client that waits for
        the cancels pushes it itself)."""
        if not _valid(account, "-", now):
            return errors.invalid_parameter("account")
        change = self.desk.kill(account, now)
        self._save()
        self._observe([change] if change is not None else [])
        if change is not None and push:
            self._push([change])
        return change

    def reset(self, account: str, now: int, push: bool = True) -> StateChange | VenueError | None:
        if not _valid(account, "-", now):
            return errors.invalid_parameter("account")
        change = self.desk.reset(account, now)
        self._save()
        self._observe([change] if change is not None else [])
        if change is not None and push:
            self._push([change])
        return change

    def flush_metrics(self) -> int:
        return self.exporter.flush()

    def states(self) -> dict[str, str]:
        return self.desk.states()

    def snapshot(self) -> dict[str, Any]:
        return self.desk.snapshot()

    def pid(self) -> int:
        return os.getpid()
