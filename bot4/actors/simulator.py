"""`SimulatorActor`: other participants' flow for one symbol, generated from a market model and
sent to that symbol's actor.

The actor is a thin adapter over `FlowGenerator`. It sees the symbol actor through
`ActorBook`, which turns every `submit` and `depth` into a Ray call, so every order the
simulator sends is journaled like anyone else's. The generator is seeded, so the same model,
seed and start give the same orders, and the symbol ends in the same state as the same flow
run in process (tested).
"""

from __future__ import annotations

from typing import Any

import ray

from bot4.actors.names import NAMESPACE, symbol_actor
from bot4.core.errors import VenueError
from bot4.core.instruments import Instrument, load_symbols
from bot4.core.orders import NewOrder
from bot4.core.results import Ack
from bot4.market.flow import FlowConfig, FlowGenerator
from bot4.market.models import MarketModel
from bot4.obs.ray_export import RayExporter
from bot4.obs.recorder import Recorder
from bot4.service.commands import Command, Deposit


class ActorBook:
    """A symbol actor seen as a `Book` (each call is one Ray call)."""

    def __init__(self, actor: Any, instrument: Instrument, timeout: float = 60.0) -> None:
        self.actor = actor
        self.instrument = instrument
        self.ledger = self
        self.timeout = timeout

    def deposit(self, account: str, asset: str, units: int) -> None:
        command = Command("deposit", Deposit(account, asset, units), 0)
        ray.get(self.actor.handle.remote(command), timeout=self.timeout)

    def depth(self, limit: int = 100) -> dict[str, list[tuple[int, int]]]:
        result: dict[str, list[tuple[int, int]]] = ray.get(
            self.actor.depth.remote(limit), timeout=self.timeout
        )
        return result

    def submit(self, req: NewOrder, now: int) -> Ack | VenueError:
        result: Ack | VenueError = ray.get(
            self.actor.handle.remote(Command("submit", req, now)), timeout=self.timeout
        )
        return result


@ray.remote(num_cpus=0)  # it waits on the symbol actor most of the time
class SimulatorActor:
    """Drives one symbol actor with flow from a market model."""

    def __init__(self, symbols_file: str, symbol: str, model: dict[str, Any], seed: int,
                 config: dict[str, Any] | None = None) -> None:  # fmt: skip
        actor = ray.get_actor(symbol_actor(symbol), namespace=NAMESPACE)
        instrument = load_symbols(symbols_file)[symbol]
        self.generator = FlowGenerator(MarketModel.from_dict(model),
                                       ActorBook(actor, instrument), seed,
                                       FlowConfig(**(config or {})))  # fmt: skip
        self._funded = False
        self.symbol = symbol
        self.recorder = Recorder()
        self.exporter = RayExporter(self.recorder)
        self.exporter.keep_alive()

    def run(self, start_us: int, end_us: int, mid_ticks: int) -> dict[str, Any]:
        """Fund the flow's accounts, then generate and send the flow of [start_us, end_us)."""
        self.generator.fund()
        self._funded = True
        return self.step(start_us, end_us, mid_ticks)

    def step(self, start_us: int, end_us: int, mid_ticks: int) -> dict[str, Any]:
        """The flow of one window (accounts funded on the first call); what it did."""
        if not self._funded:
            self.generator.fund()
            self._funded = True
        stats = self.generator.step(start_us, end_us, mid_ticks)
        rec, tags = self.recorder, (self.symbol,)
        rec.inc("bot4_sim_orders", (self.symbol, "taker"), stats.takers)
        rec.inc("bot4_sim_orders", (self.symbol, "maker"), stats.makers)
        rec.inc("bot4_sim_trades", tags, stats.trades)
        self.exporter.maybe_flush()
        return {"takers": stats.takers, "makers": stats.makers, "trades": stats.trades,
                "refused": dict(stats.refused)}  # fmt: skip

    def flush_metrics(self) -> int:
        """Export the flow counters now."""
        return self.exporter.flush()
