"""The idempotency store in native code, and the choice between it and the Python one.

`NativeIdempotencyStore` is `bot4._native.IdempotencyStore` (Rust, `native/src/idempotency.rs`)
with `MemoryIdempotencyStore`'s constructor, methods and answers: the same NEW / REPLAY /
IN_FLIGHT / CONFLICT at the same calls, the same evictions and expiries, the same counters.
The Python store stays the specification; a differential test holds the two together. It adds
`begin_many` and `complete_many`, which take whole lists, so a batch crosses into native code
once. `new_idempotency_store` builds the one a backend names.
"""

from __future__ import annotations

from bot4._native import IdempotencyStore
from bot4.service.idempotency import CONFLICT, IN_FLIGHT, NEW, REPLAY, MemoryIdempotencyStore
from bot4.venue.backends import DEFAULT_BACKEND, Backend, check_backend


class NativeIdempotencyStore(IdempotencyStore):
    """The bounded LRU + TTL store of `bot4.service.idempotency`, natively."""

    def __new__(
        cls, capacity: int, ttl_ms: int, *, tick_ms: int = 1_000, start_ms: int = 0
    ) -> NativeIdempotencyStore:
        return super().__new__(
            cls, capacity, ttl_ms, (NEW, REPLAY, IN_FLIGHT, CONFLICT),
            tick_ms=tick_ms, start_ms=start_ms,
        )  # fmt: skip


def new_idempotency_store(
    capacity: int, ttl_ms: int, *, backend: Backend = DEFAULT_BACKEND, tick_ms: int = 1_000
) -> MemoryIdempotencyStore | NativeIdempotencyStore:
    """A store of `capacity` keys living `ttl_ms` each, in the implementation `backend` names."""
    if check_backend(backend) == "python":
        return MemoryIdempotencyStore(capacity, ttl_ms, tick_ms=tick_ms)
    return NativeIdempotencyStore(capacity, ttl_ms, tick_ms=tick_ms)
