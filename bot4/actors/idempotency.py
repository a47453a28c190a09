"""`IdempotencyActor`: the shared idempotency store for requests not bound to one symbol.

An order's key lives in its symbol's actor (see `SymbolActor`). Requests that span symbols or
touch no symbol at all, e.g. a cross-symbol batch or a deposit, need one store that every
client (every API process, every node) asks: this named actor, ``idempotency`` in the
``bot4`` namespace, created or attached to by `deploy_idempotency`.

The actor is a thin adapter over an `IdempotencyStore` (see `bot4.service.idempotency` for the
NEW / REPLAY / IN_FLIGHT / CONFLICT protocol). It picks the store once, at construction:

* memory (no ``redis_url``): a `NativeIdempotencyStore` (the Rust port of
  `MemoryIdempotencyStore`) bounded by ``capacity`` and ``ttl_ms``. It is lost when the
  actor's process dies: Ray restarts the actor empty, so a retry of a request begun before
  the crash is answered NEW again.
* Redis (``redis_url``): a `RedisIdempotencyStore`; the keys live in Redis, so every process
  sees them and they survive a restart of the actor.

No method raises on a bad request or on a Redis failure, so the actor never dies of one; it
returns a `VenueError` instead of the result, and callers check
``isinstance(result, VenueError)``:

* a key that is not a ``str``, a fingerprint or response that is not ``bytes``, or a
  ``now_ms`` that is not an ``int``: ``errors.invalid_parameter`` (-1130); the store is not
  touched;
* Redis down, slow or failing: the -9202 error of `StoreUnavailable` (backpressure,
  retryable). A batch that fails part way releases the keys it had begun, so a retry may run.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import ray

from bot4.actors.names import IDEMPOTENCY, NAMESPACE
from bot4.core import errors
from bot4.core.errors import VenueError
from bot4.infra.redis_store import RedisIdempotencyStore, StoreUnavailable
from bot4.service.idempotency import (
    NEW,
    IdempotencyStore,
    MemoryIdempotencyStore,
    Status,
    valid_key,
)
from bot4.service.nativeidempotency import NativeIdempotencyStore, new_idempotency_store

BeginResult = tuple[Status, bytes | None]


def _bad_items(items: object, second: str) -> VenueError | None:
    """`invalid_parameter` unless `items` is a list (or tuple) of (str, bytes) pairs."""
    if not isinstance(items, list | tuple):
        return errors.invalid_parameter("items")
    for item in items:
        if not isinstance(item, list | tuple) or len(item) != 2:
            return errors.invalid_parameter("items")
        if not valid_key(item[0]):
            return errors.invalid_parameter("key")
        if not isinstance(item[1], bytes):
            return errors.invalid_parameter(second)
    return None


def _bad_now(now_ms: object) -> VenueError | None:
    if isinstance(now_ms, bool) or not isinstance(now_ms, int) or not -(2**63) <= now_ms < 2**63:
        return errors.invalid_parameter("now_ms")
    return None


def _bad_args(key: object, now_ms: object, blob: object = b"", name: str = "") -> VenueError | None:
    """`invalid_parameter` unless `key` is a valid str, `blob` bytes and `now_ms` an int."""
    if not valid_key(key):
        return errors.invalid_parameter("key")
    if not isinstance(blob, bytes):
        return errors.invalid_parameter(name)
    return _bad_now(now_ms)


@ray.remote(max_restarts=-1, max_task_retries=0, num_cpus=0)
class IdempotencyActor:
    """One `IdempotencyStore` (memory or Redis) shared by every client (see the module)."""

    def __init__(
        self,
        capacity: int = 1_000_000,
        ttl_ms: int = 86_400_000,
        redis_url: str | None = None,
        prefix: str = "bot4:idem:",
    ) -> None:
        self.store: IdempotencyStore
        self.memory: MemoryIdempotencyStore | NativeIdempotencyStore | None = None
        if redis_url is None:
            self.memory = new_idempotency_store(capacity, ttl_ms)
            self.store = self.memory
        else:  # connects lazily: a Redis that is down fails the calls, not the constructor
            self.store = RedisIdempotencyStore.from_url(redis_url, ttl_ms, prefix=prefix)

    def begin(self, key: str, fingerprint: bytes, now_ms: int) -> BeginResult | VenueError:
        """The store's answer for `key`; when NEW the key is now in flight for this caller."""
        if bad := _bad_args(key, now_ms, fingerprint, "fingerprint"):
            return bad
        try:
            return self.store.begin(key, fingerprint, now_ms)
        except StoreUnavailable as exc:
            return exc.error

    def complete(self, key: str, response: bytes, now_ms: int) -> VenueError | None:
        """Record the first response of a key the caller began (later ones are ignored)."""
        if bad := _bad_args(key, now_ms, response, "response"):
            return bad
        try:
            self.store.complete(key, response, now_ms)
        except StoreUnavailable as exc:
            return exc.error
        return None

    def release(self, key: str, now_ms: int) -> VenueError | None:
        """Forget an in-flight key whose request had no effect, so that a retry may run."""
        if bad := _bad_args(key, now_ms):
            return bad
        try:
            self.store.release(key, now_ms)
        except StoreUnavailable as exc:
            return exc.error
        return None

    def begin_many(
        self, items: list[tuple[str, bytes]], now_ms: int
    ) -> list[BeginResult] | VenueError:
        """`begin` for each (key, fingerprint), in order, in one call.

        All or nothing for the caller: on a bad item nothing is begun; when the store fails
        part way, the keys this call had begun (answered NEW) are released (best effort) and
        the error is returned."""
        if bad := _bad_items(items, "fingerprint") or _bad_now(now_ms):
            return bad
        results: list[BeginResult] = []
        try:
            for key, fingerprint in items:
                results.append(self.store.begin(key, fingerprint, now_ms))
        except StoreUnavailable as exc:
            for (key, _), (status, _) in zip(items, results, strict=False):
                if status is NEW:
                    with contextlib.suppress(StoreUnavailable):
                        self.store.release(key, now_ms)
            return exc.error
        return results

    def complete_many(self, items: list[tuple[str, bytes]], now_ms: int) -> VenueError | None:
        """`complete` for each (key, response), in order. On a bad item nothing is recorded;
        when the store fails part way, the earlier items are recorded and the call may be
        repeated (the first response of a key wins)."""
        if bad := _bad_items(items, "response") or _bad_now(now_ms):
            return bad
        try:
            for key, response in items:
                self.store.complete(key, response, now_ms)
        except StoreUnavailable as exc:
            return exc.error
        return None

    def tier(self) -> str:
        """``"memory"`` (lost on restart) or ``"redis"`` (shared and durable)."""
        return "memory" if self.memory is not None else "redis"

    def size(self) -> int | None:
        """Keys held by the memory tier; None for Redis (it has no count of its own keys)."""
        return len(self.memory) if self.memory is not None else None

    def pid(self) -> int:
        """The process id of the current instance (it changes when Ray restarts the actor)."""
        return os.getpid()


def deploy_idempotency(
    *,
    capacity: int = 1_000_000,
    ttl_ms: int = 86_400_000,
    redis_url: str | None = None,
    prefix: str = "bot4:idem:",
    name: str = IDEMPOTENCY,
    max_pending_calls: int = 1_000,
    scheduling_strategy: Any = None,
    detached: bool = False,
) -> Any:
    """Create (or attach to) the named idempotency actor in the `bot4` namespace (`detached`:
    it outlives the driver that made it).

    When the actor already exists the handle is to it, whatever the arguments here say."""
    options: dict[str, Any] = {
        "name": name,
        "namespace": NAMESPACE,
        "get_if_exists": True,
        "max_pending_calls": max_pending_calls,
    }
    if detached:
        options["lifetime"] = "detached"
    if scheduling_strategy is not None:
        options["scheduling_strategy"] = scheduling_strategy
    return IdempotencyActor.options(**options).remote(  # type: ignore[attr-defined]
        capacity, ttl_ms, redis_url, prefix
    )
