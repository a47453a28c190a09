"""The native idempotency store against its Python specification: any stream of calls gets
the same answers, evictions, expiries and counters from both; bad input changes nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot4.service.idempotency import NEW, REPLAY, MemoryIdempotencyStore
from bot4.service.nativeidempotency import NativeIdempotencyStore, new_idempotency_store

KEYS = [f"order:acct{i % 3}:c{i}" for i in range(12)] + ["k" * 40, "ünïcode-key"]

step = st.one_of(
    st.tuples(
        st.just("begin"),
        st.sampled_from(KEYS),
        st.sampled_from([b"a", b"b", b""]),
        st.integers(-3_000, 20_000),
    ),
    st.tuples(st.just("complete"), st.sampled_from(KEYS), st.binary(max_size=8)),
    st.tuples(st.just("release"), st.sampled_from(KEYS)),
    st.tuples(st.just("response"), st.sampled_from(KEYS)),
    st.tuples(st.just("jump"), st.integers(0, 10**10)),  # the clock leaps far ahead
)


def observe(store: MemoryIdempotencyStore | NativeIdempotencyStore) -> tuple[object, ...]:
    return (len(store), store.evicted, store.expired, store.footprint,
            tuple(key in store for key in KEYS))  # fmt: skip


@given(steps=st.lists(step, max_size=150), capacity=st.integers(1, 8),
       ttl=st.integers(1, 5_000), tick=st.sampled_from([1, 7, 100, 1_000]))  # fmt: skip
def test_any_call_stream_gets_the_same_answers_from_both(
    steps: list[tuple], capacity: int, ttl: int, tick: int
) -> None:
    spec = MemoryIdempotencyStore(capacity, ttl, tick_ms=tick)
    native = NativeIdempotencyStore(capacity, ttl, tick_ms=tick)
    now = 0
    for s in steps:
        if s[0] == "begin":
            now = max(0, now + s[3] // 10) if s[3] >= 0 else max(0, now + s[3])  # back, at times
            assert native.begin(s[1], s[2], now) == spec.begin(s[1], s[2], now), s
        elif s[0] == "jump":
            now += s[1]
            assert native.begin("jump", b"", now) == spec.begin("jump", b"", now)
        elif s[0] == "complete":
            native.complete(s[1], s[2], now)
            spec.complete(s[1], s[2], now)
        elif s[0] == "release":
            native.release(s[1], now)
            spec.release(s[1], now)
        else:
            assert native.response(s[1]) == spec.response(s[1])
        assert observe(native) == observe(spec), s


@given(st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from([b"a", b"b"]),
                          st.integers(0, 3_000)), max_size=60))  # fmt: skip
def test_a_batch_answers_as_its_calls_one_by_one(calls: list[tuple[str, bytes, int]]) -> None:
    one, many = NativeIdempotencyStore(5, 1_000), NativeIdempotencyStore(5, 1_000)
    times = sorted(t for _, _, t in calls)
    keys = [k for k, _, _ in calls]
    answers = many.begin_many(keys, [f for _, f, _ in calls], times)
    assert answers == [one.begin(k, f, t) for (k, f, _), t in zip(calls, times, strict=True)]
    news = [k for k, (status, _) in zip(keys, answers, strict=True) if status is NEW]
    many.complete_many(news, [k.encode() for k in news])
    for key in news:
        one.complete(key, key.encode(), 0)
    assert observe(many) == observe(one)
    assert [many.response(k) for k in KEYS] == [one.response(k) for k in KEYS]


def test_a_replay_returns_the_first_response_byte_for_byte() -> None:
    store = new_idempotency_store(10, 60_000)
    assert isinstance(store, NativeIdempotencyStore)
    assert store.begin("k", b"f", 0) == (NEW, None)
    store.complete("k", b'{"orderId":7}', 1)
    status, response = store.begin("k", b"f", 2)
    assert status is REPLAY and response == b'{"orderId":7}'
    assert isinstance(new_idempotency_store(10, 60_000, backend="python"), MemoryIdempotencyStore)
    with pytest.raises(ValueError, match="backend"):
        new_idempotency_store(10, 60_000, backend="rust")  # type: ignore[arg-type]


def test_a_shape_it_cannot_hold_is_refused() -> None:
    for capacity, ttl in [(0, 1), (1, 0), (-1, 5)]:
        with pytest.raises(ValueError, match="capacity"):
            NativeIdempotencyStore(capacity, ttl)


def test_bad_input_raises_and_changes_nothing() -> None:
    store = NativeIdempotencyStore(4, 1_000)
    store.begin("a", b"f", 0)
    before = observe(store)
    with pytest.raises(TypeError, match="keys must be str"):
        store.begin_many(["b", 7], [b"", b""], [1, 1])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="fingerprints must be bytes"):
        store.begin_many(["b", "c"], [b"", "x"], [1, 1])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="length"):
        store.begin_many(["b", "c"], [b""], [1, 1])
    with pytest.raises(OverflowError):
        store.begin_many(["b"], [b""], [2**64])
    with pytest.raises(TypeError, match="responses must be bytes"):
        store.complete_many(["a", "b"], [b"r", None])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        store.begin(None, b"", 0)  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        store.begin("b", b"", -(2**70))
    assert observe(store) == before and store.response("a") is None
    assert 5 not in store
