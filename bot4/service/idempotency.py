"""Idempotent submission: a bounded store of request keys and their first responses.

A client that retries after a timeout sends the same key again: for orders (account,
clientOrderId), for other requests an explicit idempotency key. The store answers:

* `NEW`: first time (or the key has expired or been evicted); the caller processes the request
  and then records its response with `complete`. Until then the key is in flight.
* `REPLAY`: the same request was processed; here is its first response, byte for byte.
* `IN_FLIGHT`: the same request is being processed right now; retry later.
* `CONFLICT`: the key was used for a different request (another payload fingerprint).

Memory is bounded two ways: at most `capacity` keys (the least recently used is evicted) and a
time-to-live (`ttl_ms` from the first sight of a key). Expiry runs on a hierarchical timing
wheel: O(1) to schedule, O(1) amortised to expire, no scan of the keys. A key lives at least
its TTL and at most one wheel tick longer. Time is passed in; nothing reads a clock.

Responses are bytes, so that this store and the Redis one return exactly the same thing.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar

K = TypeVar("K", bound=Hashable)


class Status(enum.Enum):
    NEW = "NEW"
    REPLAY = "REPLAY"
    IN_FLIGHT = "IN_FLIGHT"
    CONFLICT = "CONFLICT"


NEW, REPLAY, IN_FLIGHT, CONFLICT = Status.NEW, Status.REPLAY, Status.IN_FLIGHT, Status.CONFLICT
_NEW_RESULT: tuple[Status, bytes | None] = (NEW, None)
_IN_FLIGHT_RESULT: tuple[Status, bytes | None] = (IN_FLIGHT, None)
_CONFLICT_RESULT: tuple[Status, bytes | None] = (CONFLICT, None)


class IdempotencyStore(Protocol):
    """What both the in-memory and the Redis store offer (keys are strings there)."""

    def begin(self, key: str, fingerprint: bytes, now_ms: int) -> tuple[Status, bytes | None]:
        """Check a key and, when new, record it as in flight."""
        ...

    def complete(self, key: str, response: bytes, now_ms: int) -> None:
        """Record the response of a key this caller began."""
        ...

    def release(self, key: str, now_ms: int) -> None:
        """Forget an in-flight key whose request had no effect, so that a retry may run."""
        ...


class TimingWheel(Generic[K]):
    """A hierarchical timing wheel: `levels` wheels of `slots` slots, `tick_ms` per slot.

    Level 0 holds what expires within `slots` ticks, level 1 within `slots**2`, and so on; at
    each level boundary the due slot of the level above cascades down. Items further away than
    the top level's span wait in the top level and cascade again. Each slot is a dict, and the
    wheel knows each item's slot, so scheduling, cancelling and expiring are all O(1).
    `advance` returns the items whose time has come, each with the tick it was due.
    """

    __slots__ = ("levels", "now_tick", "slots", "spans", "tick_ms", "wheels", "where")

    def __init__(self, tick_ms: int, *, slots: int = 64, levels: int = 4, start_ms: int = 0):
        if tick_ms <= 0 or slots < 2 or levels < 1:
            raise ValueError("need tick_ms > 0, slots >= 2 and levels >= 1")
        self.tick_ms = tick_ms
        self.slots = slots
        self.levels = levels
        self.spans = [slots**level for level in range(levels + 1)]
        self.wheels: list[list[dict[K, int]]] = [[{} for _ in range(slots)] for _ in range(levels)]
        self.where: dict[K, dict[K, int]] = {}  # item -> its slot
        self.now_tick = start_ms // tick_ms

    def __len__(self) -> int:
        return len(self.where)

    def add(self, item: K, expire_ms: int) -> None:
        """Schedule `item` for the first tick at or after `expire_ms` (moving it if it was)."""
        self.discard(item)
        self._place(-(-expire_ms // self.tick_ms), item)

    def discard(self, item: K) -> None:
        """Unschedule `item` (nothing if it is not scheduled)."""
        slot = self.where.pop(item, None)
        if slot is not None:
            del slot[item]

    def _place(self, tick: int, item: K) -> None:
        delta = tick - self.now_tick
        if delta <= 0:
            tick, delta = self.now_tick + 1, 1  # overdue: the next tick
        spans = self.spans
        level = 0
        top = self.levels - 1
        while level < top and delta >= spans[level + 1]:
            level += 1
        slot = self.wheels[level][(tick // spans[level]) % self.slots]
        slot[item] = tick
        self.where[item] = slot

    def advance(self, now_ms: int) -> list[tuple[int, K]]:
        """Move to `now_ms`; returns every (tick, item) that came due, in tick order."""
        target = now_ms // self.tick_ms
        due: list[tuple[int, K]] = []
        spans, slots, wheels, where = self.spans, self.slots, self.wheels, self.where
        while self.now_tick < target and where:
            self.now_tick += 1
            tick = self.now_tick
            for level in range(self.levels - 1, -1, -1):
                if tick % spans[level]:
                    continue
                index = (tick // spans[level]) % slots
                bucket = wheels[level][index]
                if not bucket:
                    continue
                wheels[level][index] = {}
                for item, item_tick in bucket.items():
                    if item_tick <= tick:
                        due.append((item_tick, item))
                        del where[item]
                    else:  # cascade down (or wait another rotation)
                        self._place(item_tick, item)
        self.now_tick = max(self.now_tick, target)
        return due


class MemoryIdempotencyStore:
    """The in-process store: an LRU capacity (an `OrderedDict`, most recent last) plus a TTL on
    a timing wheel. A key leaving by eviction or release also leaves the wheel, so the store
    never holds more than `capacity` keys, in the dict and in the wheel alike, whatever the
    key stream."""

    __slots__ = ("_entries", "_next_tick_ms", "_wheel", "begin", "capacity", "evicted",
                 "expired", "ttl_ms")  # fmt: skip

    def __init__(self, capacity: int, ttl_ms: int, *, tick_ms: int = 1_000, start_ms: int = 0):
        if capacity <= 0 or ttl_ms <= 0:
            raise ValueError("need capacity > 0 and ttl_ms > 0")
        self.capacity = capacity
        self.ttl_ms = ttl_ms
        # key -> (fingerprint, response or None while in flight, expires_ms): tuples of atoms,
        # which the garbage collector stops tracking, unlike lists
        self._entries: OrderedDict[str, tuple[bytes, bytes | None, int]] = OrderedDict()
        # 4096 one-second slots hold an hour's TTL in level 0; level 1 reaches 194 days
        self._wheel: TimingWheel[str] = TimingWheel(tick_ms, slots=4096, levels=3,
                                                    start_ms=start_ms)  # fmt: skip
        self._next_tick_ms = (start_ms // tick_ms + 1) * tick_ms
        self.evicted = 0  # by capacity
        self.expired = 0  # by TTL
        self.begin = self._make_begin()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    @property
    def footprint(self) -> int:
        """Keys held in the dict plus items in the wheel (at most 2 x capacity)."""
        return len(self._entries) + len(self._wheel)

    def _expire(self, now_ms: int) -> None:
        wheel = self._wheel
        entries = self._entries
        for _, key in wheel.advance(now_ms):
            entry = entries.get(key)
            if entry is not None and entry[2] <= now_ms:
                del entries[key]
                self.expired += 1
        self._next_tick_ms = (now_ms // wheel.tick_ms + 1) * wheel.tick_ms

    def _make_begin(self) -> Callable[[str, bytes, int], tuple[Status, bytes | None]]:
        """`begin` as a closure over the store's parts: locals instead of attribute loads on
        every call (this is the hot path of every order)."""
        store, entries, wheel = self, self._entries, self._wheel
        get, move_to_end, popitem = entries.get, entries.move_to_end, entries.popitem
        level0, where, discard = wheel.wheels[0], wheel.where, wheel.discard
        slots, tick_ms, ttl, capacity = wheel.slots, wheel.tick_ms, self.ttl_ms, self.capacity

        def begin(key: str, fingerprint: bytes, now_ms: int) -> tuple[Status, bytes | None]:
            """Check `key`; when new, record it as in flight (see the module docstring)."""
            if now_ms >= store._next_tick_ms:
                store._expire(now_ms)
            entry = get(key)
            if entry is not None:
                if entry[2] > now_ms:
                    move_to_end(key)
                    if entry[0] != fingerprint:
                        return _CONFLICT_RESULT
                    response: bytes | None = entry[1]
                    return _IN_FLIGHT_RESULT if response is None else (REPLAY, response)
                del entries[key]  # expired, its tick not reached yet
                discard(key)
            expires = now_ms + ttl
            entries[key] = (fingerprint, None, expires)
            tick = -(-expires // tick_ms)
            if 0 < tick - wheel.now_tick < slots:  # level 0, inline: the common case
                slot = level0[tick % slots]
                slot[key] = tick
                where[key] = slot
            else:
                wheel.add(key, expires)
            if len(entries) > capacity:
                old, _ = popitem(False)
                del where.pop(old)[old]
                store.evicted += 1
            return _NEW_RESULT

        return begin

    def complete(self, key: str, response: bytes, now_ms: int) -> None:
        """Record the first response of `key` (a no-op if it has gone or is complete)."""
        entry = self._entries.get(key)
        if entry is not None and entry[1] is None:
            self._entries[key] = (entry[0], bytes(response), entry[2])

    def response(self, key: str) -> bytes | None:
        """The recorded first response of `key` (None if it has none or is not held), without
        touching its recency or its time to live."""
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    def release(self, key: str, now_ms: int) -> None:
        """Forget an in-flight `key` (its request had no effect); a completed key stays."""
        entry = self._entries.get(key)
        if entry is not None and entry[1] is None:
            del self._entries[key]
            self._wheel.discard(key)


class RecentRequests:
    """Keys by count, not by time: the `capacity` most recently begun keys, with the same
    NEW / REPLAY / IN_FLIGHT / CONFLICT answers as `MemoryIdempotencyStore`.

    For what must be remembered however the clock moves, e.g. a symbol's parts of
    idempotent requests: a simulated clock may jump from 0 to 2023 between a deposit and the
    first order, which would expire every key by time at once."""

    __slots__ = ("_entries", "capacity", "evicted")

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("need capacity > 0")
        self.capacity = capacity
        self._entries: OrderedDict[str, tuple[bytes, bytes | None]] = OrderedDict()
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._entries)

    def begin(self, key: str, fingerprint: bytes) -> tuple[Status, bytes | None]:
        """Check `key`; when new, record it as in flight (evicting the oldest when full)."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            if entry[0] != fingerprint:
                return _CONFLICT_RESULT
            return _IN_FLIGHT_RESULT if entry[1] is None else (REPLAY, entry[1])
        self._entries[key] = (fingerprint, None)
        if len(self._entries) > self.capacity:
            self._entries.popitem(False)
            self.evicted += 1
        return _NEW_RESULT

    def complete(self, key: str, response: bytes) -> None:
        """Record the first response of an in-flight `key`."""
        entry = self._entries.get(key)
        if entry is not None and entry[1] is None:
            self._entries[key] = (entry[0], bytes(response))

    def release(self, key: str) -> None:
        """Forget an in-flight `key` whose request had no effect."""
        entry = self._entries.get(key)
        if entry is not None and entry[1] is None:
            del self._entries[key]


def valid_key(key: object) -> bool:
    """Whether `key` can be a key of every store: a str that is valid Unicode (no lone
    surrogates, which neither UTF-8 for Redis nor the native store can hold)."""
    if type(key) is not str:
        return False
    if key.isascii():
        return True
    try:
        key.encode()
    except UnicodeEncodeError:
        return False
    return True


def order_key(account: str, client_order_id: str) -> str:
    """The idempotency key of an order: its account and client order id."""
    return f"order:{account}:{client_order_id}"
