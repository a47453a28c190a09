"""Idempotent submission: one suite for the stores (in memory, native and Redis), then the
memory store's bounds (capacity, TTL, timing wheel) as properties under any key stream."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot4.infra.redis_store import RedisIdempotencyStore
from bot4.service.idempotency import (
    CONFLICT,
    IN_FLIGHT,
    NEW,
    REPLAY,
    IdempotencyStore,
    MemoryIdempotencyStore,
    TimingWheel,
    order_key,
)
from bot4.service.nativeidempotency import NativeIdempotencyStore
from tests.support.redis_server import redis_store_factory

MakeStore = Callable[[int], IdempotencyStore]


@pytest.fixture(params=["memory", "native", "redis"])
def make_store(request: pytest.FixtureRequest) -> MakeStore:
    """`make(ttl_ms)`: a fresh store of each kind (the same suite runs on all three)."""
    if request.param == "redis":
        return redis_store_factory(request.getfixturevalue("redis_url"))  # type: ignore[return-value]
    if request.param == "native":
        return lambda ttl_ms: NativeIdempotencyStore(1_000, ttl_ms, tick_ms=10)
    return lambda ttl_ms: MemoryIdempotencyStore(1_000, ttl_ms, tick_ms=10)


def wait_past(store: IdempotencyStore, key: str, ttl_ms: int, now: int) -> int:
    """Let `key`'s TTL run out; the `now` to use after it. The memory store takes our clock, so
    `now` just moves past the TTL. Redis keeps its own clock: its TTL is cut to 1 ms there
    (PEXPIRE, so Redis's own expiry removes the key) and the key waited for (bounded, nothing
    asserted on time), instead of sleeping through a short TTL that a slow machine overruns."""
    if isinstance(store, RedisIdempotencyStore):
        full = store.prefix + key
        assert store.client.pexpire(full, 1)
        deadline = time.monotonic() + 30
        while store.client.exists(full) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not store.client.exists(full), f"Redis did not expire {key}"
    return now + ttl_ms + 20


# --- the shared suite -------------------------------------------------------------------------


def test_first_sight_then_replay_of_the_first_response(make_store: MakeStore) -> None:
    store = make_store(60_000)
    key = order_key("alice", "my-order-1")
    assert store.begin(key, b"fp", 1) == (NEW, None)
    assert store.begin(key, b"fp", 2) == (IN_FLIGHT, None)  # still being processed
    store.complete(key, b'{"orderId":7}', 3)
    store.complete(key, b'{"orderId":8}', 4)  # the first response wins
    assert store.begin(key, b"fp", 5) == (REPLAY, b'{"orderId":7}')
    assert store.begin(key, b"fp", 6) == (REPLAY, b'{"orderId":7}')


def test_same_key_with_another_payload_is_a_conflict(make_store: MakeStore) -> None:
    store = make_store(60_000)
    store.begin("k", b"buy 1 @ 100", 1)
    assert store.begin("k", b"buy 2 @ 100", 2) == (CONFLICT, None)
    store.complete("k", b"ack", 3)
    assert store.begin("k", b"sell", 4) == (CONFLICT, None)
    assert store.begin("k", b"buy 1 @ 100", 5) == (REPLAY, b"ack")


def test_release_lets_a_retry_run_but_never_forgets_a_response(make_store: MakeStore) -> None:
    store = make_store(60_000)
    store.begin("k", b"fp", 1)
    store.release("k", 2)  # the request failed before any effect
    assert store.begin("k", b"fp", 3) == (NEW, None)
    store.complete("k", b"done", 4)
    store.release("k", 5)  # too late: it has a response
    assert store.begin("k", b"fp", 6) == (REPLAY, b"done")
    store.complete("never-begun", b"x", 7)  # nothing to complete
    assert store.begin("never-begun", b"fp", 8) == (NEW, None)


def test_keys_expire_after_their_ttl(make_store: MakeStore) -> None:
    """A completed key replays while its TTL runs (60 s: no race with a slow machine) and is
    forgotten once it has expired: NEW again, on both stores (see `wait_past`)."""
    store = make_store(60_000)
    store.begin("k", b"fp", 1_000)
    store.complete("k", b"ack", 1_001)
    assert store.begin("k", b"fp", 1_100) == (REPLAY, b"ack")
    assert store.begin("k", b"fp", 60_999) == (REPLAY, b"ack")  # one ms before its TTL ends
    later = wait_past(store, "k", 60_000, 1_000)
    assert store.begin("k", b"other", later) == (NEW, None)  # gone: a new request


def test_keys_are_independent(make_store: MakeStore) -> None:
    store = make_store(60_000)
    for i in range(50):
        assert store.begin(order_key("acct", f"c{i}"), b"fp", i)[0] is NEW
    assert store.begin(order_key("other", "c1"), b"fp", 60)[0] is NEW
    assert store.begin(order_key("acct", "c1"), b"fp", 61)[0] is IN_FLIGHT


# --- the memory store's bounds ----------------------------------------------------------------


def test_capacity_evicts_the_least_recently_used() -> None:
    store = MemoryIdempotencyStore(3, 60_000)
    for key in "abc":
        store.begin(key, b"fp", 1)
    store.begin("a", b"fp", 2)  # a is now the most recent
    store.begin("d", b"fp", 3)  # evicts b, the least recently used
    assert "b" not in store and {"a", "c", "d"} <= {k for k in "abcd" if k in store}
    assert len(store) == 3 and store.evicted == 1 and store.footprint == 6
    with pytest.raises(ValueError):
        MemoryIdempotencyStore(0, 1)


def test_expired_key_comes_back_new_before_its_wheel_tick() -> None:
    store = MemoryIdempotencyStore(10, 1_500, tick_ms=1_000)
    store.begin("k", b"fp", 0)
    assert store.begin("k", b"fp2", 1_600) == (NEW, None)  # expired at 1,500; tick at 2,000
    assert store.begin("k", b"fp2", 1_700) == (IN_FLIGHT, None)
    assert store.footprint == 2
    store.begin("x", b"fp", 5_000)
    assert store.expired == 1 and "k" not in store


keys = st.lists(
    st.tuples(st.integers(0, 40), st.integers(0, 2), st.integers(0, 300)),  # key, payload, dt
    max_size=300,
)


@given(stream=keys, capacity=st.integers(1, 12), ttl=st.integers(1, 2_000))
def test_no_duplicate_within_capacity_and_ttl_and_memory_stays_bounded(
    stream: list[tuple[int, int, int]], capacity: int, ttl: int
) -> None:
    """Against a reference LRU+TTL: the store answers NEW exactly when the key is not among
    the `capacity` most recently used keys still inside their TTL; footprint stays bounded."""
    store = MemoryIdempotencyStore(capacity, ttl, tick_ms=50)
    model: dict[int, tuple[int, int]] = {}  # key -> (payload, expires), in recency order
    now = 0
    for key, payload, dt in stream:
        now += dt
        model = {k: v for k, v in model.items() if v[1] > now}
        status, _ = store.begin(str(key), bytes([payload]), now)
        if key in model:
            first = model.pop(key)
            model[key] = first  # most recent
            assert status is (IN_FLIGHT if first[0] == payload else CONFLICT)
        else:
            assert status is NEW
            model[key] = (payload, now + ttl)
            if len(model) > capacity:
                del model[next(iter(model))]
        assert len(store) <= capacity and store.footprint <= 2 * capacity


@given(st.integers(1, 50))
def test_adversarial_distinct_keys_keep_memory_flat(capacity: int) -> None:
    store = MemoryIdempotencyStore(capacity, 10**9)  # nothing ever expires
    for i in range(20 * capacity):
        store.begin(f"k{i}", b"fp", i)
        store.complete(f"k{i}", b"r", i)
        assert store.footprint <= 2 * capacity
    assert store.evicted == 19 * capacity


# --- the timing wheel -------------------------------------------------------------------------


@given(st.lists(st.integers(0, 200_000), min_size=1, max_size=200), st.integers(2, 8),
       st.integers(1, 3))  # fmt: skip
def test_wheel_fires_each_item_once_at_its_tick(delays: list[int], slots: int, levels: int) -> None:
    wheel: TimingWheel[int] = TimingWheel(10, slots=slots, levels=levels, start_ms=1_000)
    for i, delay in enumerate(delays):
        wheel.add(i, 1_000 + delay)
    fired: dict[int, int] = {}
    now = 1_000
    while len(fired) < len(delays):
        now += 37
        for tick, item in wheel.advance(now):
            assert item not in fired
            fired[item] = now
            assert tick == max(-(-(1_000 + delays[item]) // 10), 101)  # overdue: next tick
            # never early, and no later than the tick plus this step
            assert 1_000 + delays[item] <= now < max(1_000 + delays[item], tick * 10) + 37 + 10
    assert len(wheel) == 0


def test_wheel_discard_and_move() -> None:
    wheel: TimingWheel[str] = TimingWheel(10, slots=4, levels=2)
    wheel.add("a", 50)
    wheel.add("b", 500)  # beyond level 1's reach: waits in the top level
    wheel.add("a", 80)  # moved
    wheel.discard("b")
    wheel.discard("nothing")
    assert [item for _, item in wheel.advance(70)] == []
    assert [item for _, item in wheel.advance(80)] == ["a"]
    assert wheel.advance(10_000) == [] and wheel.now_tick == 1_000
    wheel.add("late", 5)  # already overdue: the next tick
    assert wheel.advance(10_010) == [(1_001, "late")]
    with pytest.raises(ValueError):
        TimingWheel(0)
