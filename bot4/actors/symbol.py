"""`SymbolActor`: one symbol's `SymbolService` in a Ray actor, restartable from its journal.

The actor is a thin adapter: every method forwards to the service. It is created with
`max_restarts` so that Ray brings it back after its process dies. The new instance replays
the journal file and so ends in the state of the last command journaled before the crash.
A client that lost a call to the crash asks `applied()` and resumes after the commands the
actor has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ray

from bot4.core.commands import Command
from bot4.core.idempotency import MemoryIdempotencyStore
from bot4.core.instruments import load_symbols
from bot4.infra.journal import FileJournal
from bot4.sim.service import SymbolService

NAMESPACE = "bot4"


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
    ) -> None:
        """Orders with a client order id are idempotent per (account, clientOrderId) within
        the TTL and capacity, across restarts (see `SymbolService`); 0 capacity turns it off."""
        instrument = load_symbols(symbols_file)[symbol]
        store = (
            MemoryIdempotencyStore(idempotency_capacity, idempotency_ttl_ms)
            if idempotency_capacity
            else None
        )
        journal = FileJournal(Path(journal_dir) / f"{symbol}.journal", fsync)  # type: ignore[arg-type]
        self.symbol = symbol
        self.service = SymbolService(
            instrument, journal, reference_price=reference_price, idempotency=store
        )

    def handle(self, command: Command) -> Any:
        return self.service.handle(command)

    def handle_batch(self, commands: list[Command]) -> list[Any]:
        return self.service.handle_batch(commands)

    def applied(self) -> int:
        """How many commands this symbol has (replayed plus handled)."""
        return self.service.applied

    def recovered(self) -> int:
        """How many commands the current instance replayed from the journal at start."""
        return self.service.recovered

    def state_digest(self) -> str:
        return self.service.state_digest()

    def get_order(self, account: str, order_id: int | None, client_order_id: str | None) -> Any:
        return self.service.engine.get_order(account, order_id, client_order_id)

    def balances(self, account: str) -> dict[str, tuple[int, int]]:
        """(free, locked) units per asset of the account on this symbol's ledger."""
        return {
            asset: (bal.free, bal.locked)
            for owner, asset, bal in self.service.engine.ledger.items()
            if owner == account
        }

    def depth(self, limit: int = 100) -> dict[str, list[tuple[int, int]]]:
        return self.service.engine.depth(limit)

    def events_since(self, seq: int, limit: int = 10_000) -> list[Any]:
        return self.service.events_since(seq, limit)

    def pid(self) -> int:
        import os

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
        name=f"symbol:{symbol}",
        namespace=NAMESPACE,
        get_if_exists=True,
        max_pending_calls=max_pending_calls,
    ).remote(str(symbols_file), symbol, str(journal_dir), fsync, reference_price)
