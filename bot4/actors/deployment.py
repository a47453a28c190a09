"""A deployment's lifecycle on Ray: `up` (detached actors), `attach`, `status` and `down`.

`bot4.connect` ties the actors to the driver that made them. A deployment is for when they
must outlive it: `up` deploys the symbol, risk and idempotency actors detached, in a
placement group named ``bot4``, and returns; any later process `attach`es to them by name
(`bot4 run`, a Ray job, a notebook); `status` asks each symbol how it is; `down` removes the
actors and the placement group. With no cluster to join, `up` starts a local Ray head that
outlives it, as ``ray start --head`` does (it is Ray's own command that starts it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import ray
from ray.util.placement_group import (
    get_placement_group,
    placement_group_table,
    remove_placement_group,
)

from bot4.actors.names import GROUP, IDEMPOTENCY, NAMESPACE, RISK, SYMBOL_PREFIX
from bot4.api import Client, Policy, connect


def _ray_cli() -> str:
    """The `ray` command beside this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "ray"
    return str(beside) if beside.exists() else "ray"


def join(address: str | None = None, *, start: bool = False) -> str | None:
    """Connect this process to Ray: to `address`, else to the cluster running on this machine
    (``auto``). With no cluster and `start`, start a local head that outlives this process
    (`ray start --head`) and join it. The dashboard's address, when Ray says it."""
    if ray.is_initialized():
        return None
    try:
        context = ray.init(address=address or "auto", namespace=NAMESPACE, log_to_driver=False)
    except ConnectionError:
        if address is not None or not start:
            raise
        subprocess.run([_ray_cli(), "start", "--head", "--include-dashboard=true",
                        "--disable-usage-stats"], check=True, capture_output=True,
                       env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})  # fmt: skip
        context = ray.init(address="auto", namespace=NAMESPACE, log_to_driver=False)
    return context.dashboard_url or None


def cluster_address() -> str:
    """The address of the Ray cluster this process joined (its GCS, host:port)."""
    return str(ray.get_runtime_context().gcs_address)


def names() -> list[str]:
    """The live named actors of the `bot4` namespace on the cluster this process joined."""
    return sorted(a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                  if a["namespace"] == NAMESPACE)  # fmt: skip


class _GroupWarning(logging.Filter):
    """Drops Ray's warning that a restartable detached actor in a placement group dies with
    the group: a deployment's group is detached too, and `down` removes both together."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "restartable detached actor with a placement group" not in record.getMessage()


def up(address: str | None = None, **connect_kwargs: Any) -> tuple[Client, bool]:
    """Deploy detached actors (`bot4.connect(detached=True, ...)`) on the cluster at `address`,
    or on this machine's (started when there is none); its client, and whether a deployment
    was up already. One that is up is joined, not doubled: its actors run on as they are."""
    dashboard = join(address, start=True)
    if any(name.startswith(SYMBOL_PREFIX) for name in names()):
        client = attach()
        client.dashboard_url = dashboard
        missing = [s for s in connect_kwargs.get("symbols", ()) if s not in client.actors]
        if missing:
            client.exporter.stop()
            raise ValueError(f"a deployment is up already, without {', '.join(missing)} (it has "
                             f"{', '.join(client.actors)}): `bot4 down` it first")  # fmt: skip
        return client, True
    quiet = _GroupWarning()
    logging.getLogger("ray.actor").addFilter(quiet)
    try:
        client = connect(detached=True, **connect_kwargs)
    finally:
        logging.getLogger("ray.actor").removeFilter(quiet)
    client.dashboard_url = dashboard
    client.group = None  # the deployment's, not this client's: `down` removes it
    return client, False


def attach(address: str | None = None, *, policy: Policy = "reject",
           wait_timeout_s: float = 5.0) -> Client:  # fmt: skip
    """A client of the deployment running on the cluster (`up`'s, or any `connect`'s whose
    driver still lives); LookupError when it has no symbol actor."""
    dashboard = join(address)
    named = names()
    symbols = [n.removeprefix(SYMBOL_PREFIX) for n in named if n.startswith(SYMBOL_PREFIX)]
    if not symbols:
        raise LookupError("no bot4 deployment on this Ray cluster (`bot4 up` deploys one)")

    def get(name: str) -> Any:
        return ray.get_actor(name, namespace=NAMESPACE) if name in named else None

    actors = {s: get(SYMBOL_PREFIX + s) for s in symbols}
    client = Client(actors, policy=policy, wait_timeout_s=wait_timeout_s, risk=get(RISK),
                    idempotency=get(IDEMPOTENCY))  # fmt: skip
    client.dashboard_url = dashboard
    return client


def _queued(actor: Any) -> int | None:
    """Calls on `actor` not yet finished, from Ray's state API (its task events lag by about
    a second); None when the state API cannot say."""
    from ray.util.state import list_tasks

    try:
        tasks = list_tasks(filters=[("actor_id", "=", actor._actor_id.hex())], limit=10_000,
                           timeout=10, raise_on_missing_output=False)  # fmt: skip
    except Exception:  # no dashboard (state API) on this cluster
        return None
    busy = [t for t in tasks if t.state not in ("FINISHED", "FAILED")]
    return max(0, len(busy) - 1)  # less the health call that asked


def status(address: str | None = None, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Each symbol of the deployment: its actor's node and pid, the queued calls, the journal
    and how many commands it holds, and its health ("ok", "stopped: <-9501 message>", or
    "unreachable: ..." when it does not answer within `timeout`)."""
    client = attach(address)
    rows = []
    for symbol, actor in sorted(client.actors.items()):
        row: dict[str, Any] = {"symbol": symbol}
        try:
            row.update(ray.get(actor.health.remote(), timeout=timeout))
            row["health"] = "ok" if row["stopped"] is None else f"stopped: {row['stopped']}"
        except (ray.exceptions.RayError, TimeoutError) as exc:
            row["health"] = f"unreachable: {type(exc).__name__}"
        row["queued"] = _queued(actor)
        rows.append(row)
    client.exporter.stop()
    return rows


def down(address: str | None = None) -> list[str]:
    """Remove the deployment: every named actor of the `bot4` namespace and the placement
    group; what was removed (actor names, then ``placement group bot4``)."""
    join(address)
    removed = []
    for name in names():
        with contextlib.suppress(ValueError):  # gone in between
            ray.kill(ray.get_actor(name, namespace=NAMESPACE), no_restart=True)
            removed.append(name)
    while True:  # one group by that name, unless two `up`s raced
        try:
            group = get_placement_group(GROUP)
        except ValueError:
            break
        if placement_group_table(group).get("state") == "REMOVED":
            break
        remove_placement_group(group)
        removed.append(f"placement group {GROUP}")
    return removed


__all__ = ["attach", "cluster_address", "down", "join", "names", "status", "up"]
