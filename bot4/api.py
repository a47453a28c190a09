"""The Python API: `bot4.connect()` deploys (or attaches to) the symbol actors and returns a
client.

```python
client = bot4.connect(symbols=["BTCUSDT", "ETHUSDT"])   # local Ray unless address= is given
client.deposit("alice", "BTCUSDT", "USDT", 10**14)
ack = client.submit("BTCUSDT", NewOrder("alice", Side.BUY, OrderType.LIMIT, 100, 3_000_000,
                                        TimeInForce.GTC), now_ms)
acks = client.submit_batch({"BTCUSDT": [...], "ETHUSDT": [...]}, now_ms)  # one call per symbol
ack = await client.submit_async("BTCUSDT", order, now_ms)
for report in client.events("BTCUSDT"): ...                     # execution reports since last
```

- **Placement.** One placement group holds a bundle per symbol (`cpus_per_symbol`). Its
  strategy is PACK on one node and SPREAD on a cluster. Each symbol actor is named
  `symbol:SYMBOL` in the `bot4` namespace, so another driver or a Ray job attaches to the same
  actors.
- **Errors.** A refused request raises `Bot4Error` carrying the venue's or bot4's `VenueError`.
- **Backpressure.** Each actor's mailbox is bounded (`max_pending_calls`). When it is full, the
  `reject` policy raises `Bot4Error` with code -9301 (category backpressure, retryable, with a
  retry-after hint) and queues nothing. The `wait` policy retries until `wait_timeout_s`, then
  raises the same error. `client.shed[symbol]` counts refusals; `client.in_flight(symbol)` is
  the client's view of the mailbox depth.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import ray
from ray.util.placement_group import remove_placement_group

from bot4.actors.names import NAMESPACE
from bot4.actors.placement import place
from bot4.core import errors
from bot4.core.errors import Bot4Error, VenueError
from bot4.core.events import ExecutionReport
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.results import Ack
from bot4.obs.logs import event
from bot4.obs.ray_export import RayExporter
from bot4.obs.recorder import Recorder
from bot4.service import nativewire, wire
from bot4.service.commands import Command, Deposit, encode
from bot4.service.idempotency import CONFLICT, IN_FLIGHT, REPLAY

ROOT = Path(__file__).resolve().parent.parent
LOG = logging.getLogger("bot4.api")
SUBMIT, DEPTH = "bot4_submit_latency_seconds", "bot4_mailbox_depth"
SHEDS, GAPS = "bot4_mailbox_sheds", "bot4_sequence_gaps"
Policy = Literal["reject", "wait"]


def _single(results: list[Any]) -> Any:
    """The one result of a one-command batch."""
    if len(results) != 1:
        raise errors.invalid_parameter("wire reply").exception()
    return results[0]


class Client:
    """Submit, cancel and query orders on the deployed symbol actors."""

    def __init__(
        self,
        actors: Mapping[str, Any],
        *,
        policy: Policy = "reject",
        wait_timeout_s: float = 5.0,
        retry_after_ms: int = 10,
        risk: Any = None,
        idempotency: Any = None,
    ) -> None:
        if policy not in ("reject", "wait"):
            raise ValueError("policy is 'reject' or 'wait'")
        self.actors = dict(actors)
        self.policy = policy
        self.wait_timeout_s = wait_timeout_s
        self.retry_after_ms = retry_after_ms
        self.shed: dict[str, int] = {s: 0 for s in actors}
        self._pending: dict[str, list[Any]] = {s: [] for s in actors}
        self._seen: dict[str, int] = {s: 0 for s in actors}
        self._lanes: list[Lane] = []
        self.group: Any = None  # the placement group `connect` made for the actors
        self.dashboard_url: str | None = None  # Ray's dashboard, when `connect` started Ray
        self.risk = risk  # the RiskActor, when the deployment has risk
        self.idempotency = idempotency  # the shared IdempotencyActor
        self.recorder = Recorder()  # submit latency, mailbox depth, sheds, sequence gaps
        self.exporter = RayExporter(self.recorder)
        self.exporter.keep_alive()

    # ------------------------------------------------------------------ sending

    def _actor(self, symbol: str) -> Any:
        actor = self.actors.get(symbol)
        if actor is None:
            raise errors.BAD_SYMBOL.exception()
        return actor

    def send(self, symbol: str, method: str, *args: Any) -> Any:
        """Queue one call on a symbol actor under the backpressure policy; its ObjectRef."""
        actor = self._actor(symbol)
        deadline = time.monotonic() + self.wait_timeout_s
        while True:
            try:
                ref = getattr(actor, method).remote(*args)
            except ray.exceptions.PendingCallsLimitExceeded:
                if self.policy == "wait" and time.monotonic() < deadline:
                    time.sleep(self.retry_after_ms / 1_000)
                    continue
                self.shed[symbol] += 1
                self.recorder.inc(SHEDS, (symbol,))
                event(LOG, logging.WARNING, "mailbox full: request shed", symbol=symbol,
                      method=method, policy=self.policy)  # fmt: skip
                raise errors.backpressure(symbol, self.retry_after_ms).exception() from None
            pending = self._pending[symbol]
            pending.append(ref)
            if len(pending) > 256:
                _, rest = ray.wait(pending, num_returns=len(pending), timeout=0)
                self._pending[symbol] = pending = rest
            self.recorder.set(DEPTH, (symbol,), len(pending))
            return ref

    def in_flight(self, symbol: str) -> int:
        """Calls this client sent to `symbol` that have not finished (its mailbox depth)."""
        pending = self._pending[symbol]
        _, rest = ray.wait(pending, num_returns=len(pending), timeout=0) if pending else ([], [])
        self._pending[symbol] = rest
        return len(rest)

    @staticmethod
    def _result(result: Any) -> Any:
        if isinstance(result, VenueError):
            raise result.exception()
        return result

    def _get(self, ref: Any, timeout: float = 60.0) -> Any:
        return self._result(ray.get(ref, timeout=timeout))

    # ------------------------------------------------------------------ orders

    def submit(self, symbol: str, order: NewOrder, now_ms: int, *, timestamp: int | None = None,
               recv_window: int | None = None) -> Ack:  # fmt: skip
        """Place an order; its `Ack`, or `Bot4Error`. With `timestamp` (and `recv_window`,
        ms) the symbol's timestamp guard checks it against `now_ms`, as the venue does."""
        command = Command("submit", order, now_ms, timestamp, recv_window)
        start = time.perf_counter()
        try:
            ack: Ack = self._one(symbol, command)
        finally:
            self.observe_submit(symbol, "plain", time.perf_counter() - start)
        return ack

    def _one(self, symbol: str, command: Command, timeout: float = 60.0) -> Any:
        """One command over the wire form; its result, or `Bot4Error`."""
        blob = ray.get(self.send(symbol, "handle_wire", wire.encode_commands([command])),
                       timeout=timeout)  # fmt: skip
        return self._result(_single(nativewire.decode_results(blob)))

    def run_batches(self, batches: Mapping[str, list[Command]], *, lean: bool = False,
                    timeout: float = 60.0,
                    part_of: str | None = None) -> dict[str, list[Any]]:  # fmt: skip
        """Commands per symbol, one actor call per symbol, all symbols at once, in the wire
        form; per symbol the results in order (VenueErrors are returned, not raised). With
        `lean`, orders are answered by `wire.LeanAck`s (their reports stay in `events`).

        With `part_of` (a request id), each symbol applies its part at most once however
        often this is called, and answers a repeat with its first answers."""
        decode = wire.decode_lean if lean else nativewire.decode_results
        if part_of is None:
            method = "handle_wire_lean" if lean else "handle_wire"
            refs = {s: self.send(s, method, wire.encode_commands(list(batch)))
                    for s, batch in batches.items()}  # fmt: skip
        else:
            refs = {s: self.send(s, "handle_wire_part", part_of,
                                 wire.encode_commands(list(batch)), lean)
                    for s, batch in batches.items()}  # fmt: skip
        out = {}
        for symbol, ref in refs.items():
            results = decode(ray.get(ref, timeout=timeout))
            if len(results) != len(batches[symbol]):  # the actor could not read the batch
                raise self._result(_single(results)).exception()
            out[symbol] = results
        return out

    def observe_submit(self, symbol: str, path: str, seconds: float) -> None:
        """One submit round trip into `bot4_submit_latency_seconds` (metrics go out from here
        at most once a second)."""
        self.recorder.observe(SUBMIT, (symbol, path), seconds)
        self.exporter.maybe_flush()

    async def submit_async(self, symbol: str, order: NewOrder, now_ms: int) -> Ack:
        """`submit` for asyncio code."""
        blob = await self.send(
            symbol, "handle_wire", wire.encode_commands([Command("submit", order, now_ms)])
        )
        ack: Ack = self._result(_single(nativewire.decode_results(blob)))
        return ack

    def cancel(self, symbol: str, request: CancelOrder, now_ms: int) -> Ack:
        ack: Ack = self._one(symbol, Command("cancel", request, now_ms))
        return ack

    def submit_batch(
        self,
        orders: Mapping[str, Sequence[NewOrder]],
        now_ms: int,
        *,
        request_id: str | None = None,
        lean: bool = False,
        timeout: float = 60.0,
    ) -> dict[str, list[Ack | VenueError]]:
        """Many orders, one actor call per symbol; per order its Ack or VenueError (no raise).
        With `lean`, LeanAcks (state and report sequence range) instead of full Acks.

        With a `request_id`, the whole batch runs at most once: each symbol applies its part
        at most once (it journals the request id with the orders, so this survives its
        restarts) and the shared idempotency actor keeps the whole answer once every part
        is known. A retry returns the first answer, even after the first attempt failed part
        way (a symbol down or timed out): the symbols that had applied their part answer
        with its first answers, the others apply theirs now. The same id with other orders
        raises -9203. `timeout` (seconds) bounds the wait for each symbol's answer.
        """
        commands = {s: [Command("submit", o, now_ms) for o in batch] for s, batch in
                    orders.items()}  # fmt: skip
        key = None if request_id is None else f"batch:{request_id}"

        def run() -> dict[str, list[Ack | VenueError]]:
            start = time.perf_counter()
            out = self.run_batches(commands, lean=lean, timeout=timeout, part_of=key)
            for symbol in out:
                self.observe_submit(symbol, "batch", time.perf_counter() - start)
            return out

        if key is None:
            return run()
        fingerprint = b"".join(
            s.encode() + b"\n" + b"".join(encode(c._replace(now=0)) for c in batch)
            for s, batch in sorted(commands.items())
        )
        result: dict[str, list[Ack | VenueError]] = self.once(key, fingerprint, now_ms, run,
                                                              resume=True)  # fmt: skip
        return result

    def deposit(self, account: str, symbol: str, asset: str, units: int, *,
                request_id: str | None = None, timeout: float = 60.0) -> None:  # fmt: skip
        """Credit an account on one symbol's ledger (journaled like any command). With a
        `request_id` it is credited once, however often the call is retried: the symbol
        journals the id with the deposit, and answers a repeat without crediting again."""
        command = Command("deposit", Deposit(account, asset, units), 0)
        if request_id is None:
            self._get(self.send(symbol, "handle", command), timeout)
            return
        key = f"deposit:{request_id}"

        def run() -> None:
            part = self.run_batches({symbol: [command]}, timeout=timeout, part_of=key)
            self._result(part[symbol][0])

        self.once(key, symbol.encode() + encode(command), 0, run, resume=True)

    def once(self, key: str, fingerprint: bytes, now_ms: int, run: Any, *,
             resume: bool = False) -> Any:  # fmt: skip
        """Run `run()` at most once per `key` over every client of the deployment (the shared
        idempotency actor); a repeat gets the first result back, a repeat while the first run
        is going -9204, and a run that raises releases the key.

        With `resume`, `run` must itself be safe to repeat (its parts are idempotent, as a
        request id's parts are in the symbols): then a failed run keeps the key in flight (it
        may have had effects), and a repeat while it is in flight runs `run` again, which
        finishes what the first left undone. The key is complete only once `run` returned."""
        store = self.idempotency
        if store is None:
            raise errors.invalid_parameter("request_id (no idempotency actor)").exception()
        began = self._result(ray.get(store.begin.remote(key, fingerprint, now_ms), timeout=30))
        status, first = began
        if status is REPLAY:
            return pickle.loads(first)  # bytes a client of this deployment wrote
        if status is CONFLICT:
            raise errors.IDEMPOTENCY_CONFLICT.exception()
        if status is IN_FLIGHT and not resume:
            raise errors.IDEMPOTENCY_IN_FLIGHT.exception()
        try:
            result = run()
        except BaseException:
            if not resume:
                store.release.remote(key, now_ms)
            raise
        self._result(ray.get(store.complete.remote(key, pickle.dumps(result), now_ms),
                             timeout=30))  # fmt: skip
        return result

    # ------------------------------------------------------------------ account-wide risk

    def _desk(self) -> Any:
        if self.risk is None:
            raise errors.invalid_parameter("risk (the deployment has no risk actor)").exception()
        return self.risk

    def kill(self, account: str, now_ms: int) -> dict[str, list[Ack]]:
        """The kill switch: from now the account may only reduce, on every symbol, until
        `reset`; its open orders are cancelled. Returns the cancel acks per symbol."""
        self._result(ray.get(self._desk().kill.remote(account, now_ms, False), timeout=30))
        return self._push(account, "KILLED", "kill switch", now_ms)

    def reset(self, account: str, now_ms: int) -> None:
        """An operator puts the account back to ACTIVE everywhere."""
        self._result(ray.get(self._desk().reset.remote(account, now_ms, False), timeout=30))
        self._push(account, "ACTIVE", "operator reset", now_ms)

    def _push(self, account: str, state: str, reason: str, now_ms: int) -> dict[str, list[Ack]]:
        refs = {s: a.set_state.remote(account, state, reason, now_ms)
                for s, a in self.actors.items()}  # fmt: skip
        return {s: self._result(ray.get(ref, timeout=60)) for s, ref in refs.items()}

    def risk_states(self) -> dict[str, str]:
        """Accounts that are not ACTIVE (killed, halted, reduce-only), with their state."""
        states: dict[str, str] = ray.get(self._desk().states.remote(), timeout=30)
        return states

    # ------------------------------------------------------------------ queries

    def get_order(self, symbol: str, account: str, order_id: int | None = None,
                  client_order_id: str | None = None) -> Any:  # fmt: skip
        return self._get(self._actor(symbol).get_order.remote(account, order_id,
                                                              client_order_id))  # fmt: skip

    def balances(self, symbol: str, account: str) -> dict[str, tuple[int, int]]:
        result: dict[str, tuple[int, int]] = self._get(self._actor(symbol).balances.remote(account))
        return result

    def events(self, symbol: str, limit: int = 10_000) -> list[ExecutionReport]:
        """The subscription: execution reports since the last call, in sequence order."""
        reports: list[ExecutionReport] = self._get(
            self._actor(symbol).events_since.remote(self._seen[symbol], limit)
        )
        if reports:
            missed = reports[0].seq - self._seen[symbol] - 1
            if missed > 0:  # older than the actor keeps, or lost with a restart
                self.recorder.inc(GAPS, (symbol,), missed)
            self._seen[symbol] = reports[-1].seq
        return reports

    def lane(self, symbol: str) -> Lane:
        """A low-latency lane to `symbol` (a compiled graph; see `Lane`)."""
        lane = Lane(self, symbol)
        self._lanes.append(lane)
        return lane

    def close(self) -> None:
        """Tear down the lanes' compiled graphs (the actors stay); export metrics."""
        self.exporter.flush()
        for lane in self._lanes:
            lane.close()
        self._lanes.clear()

    def shutdown(self) -> None:
        """Remove the deployment: lanes, actors and their placement group."""
        self.close()
        self.exporter.stop()
        for actor in [*self.actors.values(), self.risk, self.idempotency]:
            if actor is not None:
                ray.kill(actor, no_restart=True)
        if self.group is not None:
            remove_placement_group(self.group)
            self.group = None

    def state_digest(self, symbol: str) -> str:
        digest: str = self._get(self._actor(symbol).state_digest.remote())
        return digest


class Lane:
    """A low-latency lane to one symbol actor over a Ray Compiled Graph (commands in, results
    out), for `submit`/`cancel`/batches. Plain calls keep working beside it. If the graph
    cannot be compiled, or breaks (the actor restarted), the lane falls back to plain calls
    and compiles again on the next use. `close` tears the graph down."""

    def __init__(self, client: Client, symbol: str) -> None:
        self.client = client
        self.symbol = symbol
        self.actor = client._actor(symbol)
        self._graph: Any = None
        self.fallbacks = 0

    def _compiled(self) -> Any:
        if self._graph is None:
            try:
                from ray.dag import InputNode

                with InputNode() as command:
                    dag = self.actor.handle_wire.bind(command)
                self._graph = dag.experimental_compile()
            except Exception:  # any failure means: use plain calls
                self._graph = None
        return self._graph

    def run(self, commands: list[Command], timeout: float = 60.0) -> list[Any]:
        """Send commands in one go; their results, in order."""
        blob = wire.encode_commands(commands)
        graph = self._compiled()
        if graph is not None:
            try:
                return nativewire.decode_results(ray.get(graph.execute(blob), timeout=timeout))
            except Exception:  # a broken graph: plain call, recompile later
                self.close()
                self.fallbacks += 1
        return nativewire.decode_results(
            ray.get(self.actor.handle_wire.remote(blob), timeout=timeout)
        )

    def submit(self, order: NewOrder, now_ms: int) -> Ack:
        start = time.perf_counter()
        try:
            ack: Ack = Client._result(self.run([Command("submit", order, now_ms)])[0])
        finally:
            self.client.observe_submit(self.symbol, "lane", time.perf_counter() - start)
        return ack

    def cancel(self, request: CancelOrder, now_ms: int) -> Ack:
        ack: Ack = Client._result(self.run([Command("cancel", request, now_ms)])[0])
        return ack

    def close(self) -> None:
        graph, self._graph = self._graph, None
        if graph is not None:
            with contextlib.suppress(Exception):  # already gone with its actor
                graph.teardown()


def connect(
    address: str | None = None,
    *,
    symbols: Sequence[str] = ("BTCUSDT",),
    symbols_file: str | Path = ROOT / "configs" / "symbols.toml",
    journal_dir: str | Path = ROOT / "var" / "journal",
    reference_prices: Mapping[str, int] | None = None,
    fsync: str = "always",
    cpus_per_symbol: float = 0.25,
    max_pending_calls: int = 1_000,
    policy: Policy = "reject",
    wait_timeout_s: float = 5.0,
    symbol_resources: Mapping[str, Mapping[str, float]] | None = None,
    risk_file: str | Path | None = None,
    idempotency_capacity: int = 100_000,
    redis_url: str | None = None,
    require_timestamp: bool = False,
    keep_events: int = 100_000,
    detached: bool = False,
) -> Client:
    """Start (or join) Ray, deploy or attach to the platform's actors, return a `Client`.

    By default the actors belong to this driver: Ray removes them when it exits (or when the
    client's handles are gone). With `detached` they are a deployment of their own, as
    `bot4 up` makes: detached actors in a placement group named ``bot4``, which live until
    `bot4 down` (`bot4.actors.deployment.down`) removes them; `bot4.actors.deployment.attach`
    joins them.

    One placement group holds a bundle per symbol and one for the shared actors (``risk``
    when `risk_file` is given, and ``idempotency``, over Redis when `redis_url` is given).
    `symbol_resources` adds custom resources to a symbol's bundle (and actor), e.g.
    `{"BTCUSDT": {"symbol_BTCUSDT": 1}}` to pin it to the nodes that advertise that resource.
    `bot4.jobs.config.PlatformConfig.connect_kwargs()` gives these settings from a config file.
    """
    dashboard = None
    if not ray.is_initialized():
        context = ray.init(address=address, namespace=NAMESPACE, log_to_driver=False,
                           include_dashboard=True if address is None else None)  # fmt: skip
        dashboard = context.dashboard_url or None
    placed = place(
        symbols,
        symbols_file=symbols_file,
        journal_dir=journal_dir,
        reference_prices=reference_prices or {},
        fsync=fsync,
        cpus_per_symbol=cpus_per_symbol,
        max_pending_calls=max_pending_calls,
        symbol_resources=symbol_resources or {},
        risk_file=risk_file,
        idempotency_capacity=idempotency_capacity,
        redis_url=redis_url,
        require_timestamp=require_timestamp,
        keep_events=keep_events,
        detached=detached,
    )
    client = Client(placed.actors, policy=policy, wait_timeout_s=wait_timeout_s,
                    risk=placed.risk, idempotency=placed.idempotency)  # fmt: skip
    client.group = placed.group
    client.dashboard_url = dashboard
    return client


__all__ = ["Bot4Error", "Client", "connect"]
