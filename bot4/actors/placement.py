"""Where the platform's actors go: one placement group, and the actors deployed in it.

The group holds a bundle per symbol and one for the shared actors (``risk`` when a risk file
is given, and ``idempotency``), PACK on one node and SPREAD on a cluster. `bot4.connect`
places the actors of its client; `bot4 up` places them detached (`detached`), in a group
named ``bot4`` that outlives the driver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import ray
from ray.util.placement_group import placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from bot4.actors.idempotency import deploy_idempotency
from bot4.actors.names import GROUP, NAMESPACE, RISK, symbol_actor
from bot4.actors.risk import RiskActor
from bot4.actors.symbol import SymbolActor

SHARED_CPUS = 0.05  # the placement bundle of the risk and idempotency actors


class Placed(NamedTuple):
    """The actors `place` deployed (or attached to, by name), and their placement group."""

    actors: dict[str, Any]  # symbol -> its actor
    risk: Any  # None without a risk file
    idempotency: Any
    group: Any


def place(
    symbols: Sequence[str],
    *,
    symbols_file: str | Path,
    journal_dir: str | Path,
    reference_prices: Mapping[str, int],
    fsync: str,
    cpus_per_symbol: float,
    max_pending_calls: int,
    symbol_resources: Mapping[str, Mapping[str, float]],
    risk_file: str | Path | None,
    idempotency_capacity: int,
    redis_url: str | None,
    require_timestamp: bool,
    keep_events: int,
    detached: bool,
) -> Placed:
    """Make the placement group and deploy the actors in it (named, `get_if_exists`: an actor
    that exists already is attached to as it is); see `bot4.connect` for the settings."""
    nodes = [n for n in ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call]
    strategy = "SPREAD" if len(nodes) > 1 else "PACK"
    bundles = [{"CPU": cpus_per_symbol, **symbol_resources.get(s, {})} for s in symbols]
    bundles.append({"CPU": SHARED_CPUS})  # the risk and idempotency actors
    group = placement_group(bundles, strategy=strategy, name=GROUP if detached else "",
                            lifetime="detached" if detached else None)  # fmt: skip
    if not group.wait(timeout_seconds=60):
        remove_placement_group(group)
        raise TimeoutError("the placement group could not be scheduled")
    shared = PlacementGroupSchedulingStrategy(group, len(symbols))
    lifetime = {"lifetime": "detached"} if detached else {}
    risk = None
    if risk_file is not None:
        risk = RiskActor.options(  # type: ignore[attr-defined]
            name=RISK, namespace=NAMESPACE, get_if_exists=True,
            max_pending_calls=max_pending_calls, scheduling_strategy=shared, **lifetime,
        ).remote(str(risk_file), str(symbols_file), str(Path(journal_dir) / "risk.json"),
                 fsync)  # fmt: skip
    idempotency = deploy_idempotency(capacity=max(idempotency_capacity, 1), redis_url=redis_url,
                                     max_pending_calls=max_pending_calls,
                                     scheduling_strategy=shared, detached=detached)  # fmt: skip
    actors = {}
    for index, symbol in enumerate(symbols):
        actors[symbol] = SymbolActor.options(  # type: ignore[attr-defined]
            name=symbol_actor(symbol),
            namespace=NAMESPACE,
            get_if_exists=True,
            num_cpus=cpus_per_symbol,
            resources=dict(symbol_resources.get(symbol, {})),
            max_pending_calls=max_pending_calls,
            scheduling_strategy=PlacementGroupSchedulingStrategy(group, index),
            **lifetime,
        ).remote(str(symbols_file), symbol, str(journal_dir), fsync, reference_prices.get(symbol),
                 idempotency_capacity, risk_file=None if risk_file is None else str(risk_file),
                 desk=risk is not None, require_timestamp=require_timestamp,
                 keep_events=keep_events)  # fmt: skip
    return Placed(actors, risk, idempotency, group)
