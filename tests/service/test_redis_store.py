"""`RedisIdempotencyStore` against a real redis-server (started by the ``redis_url`` fixture)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import redis

from bot4.core.errors import Bot4Error, Category
from bot4.infra.redis_store import STORE_UNAVAILABLE_CODE, RedisIdempotencyStore, StoreUnavailable
from bot4.service.idempotency import CONFLICT, IN_FLIGHT, NEW, REPLAY, IdempotencyStore
from tests.support import redis_server
from tests.support.redis_server import (
    RedisServer,
    RedisServerMissing,
    free_port,
    redis_store_factory,
)

TTL_MS = 60_000
Factory = Callable[[int], RedisIdempotencyStore]


@pytest.fixture(scope="module")
def make(redis_url: str) -> Factory:
    return redis_store_factory(redis_url)


@pytest.fixture()
def store(make: Factory) -> RedisIdempotencyStore:
    return make(TTL_MS)


def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


# the interface


def test_is_an_idempotency_store(store: RedisIdempotencyStore) -> None:
    typed: IdempotencyStore = store
    assert typed.begin("k", b"fp", 0) == (NEW, None)


def test_new_then_in_flight(store: RedisIdempotencyStore) -> None:
    assert store.begin("k", b"fp", 0) == (NEW, None)
    assert store.begin("k", b"fp", 1) == (IN_FLIGHT, None)
    assert store.begin("other", b"fp", 1) == (NEW, None)


def test_conflict_on_other_fingerprint(store: RedisIdempotencyStore) -> None:
    assert store.begin("k", b"fp-1", 0) == (NEW, None)
    assert store.begin("k", b"fp-2", 0) == (CONFLICT, None)
    store.complete("k", b"answer", 0)
    assert store.begin("k", b"fp-2", 0) == (CONFLICT, None)
    assert store.begin("k", b"fp-1", 0) == (REPLAY, b"answer")


@pytest.mark.parametrize("response", [b"", b"\x00\xff\r\n binary \x00", bytes(range(256)) * 40])
def test_replay_returns_the_first_response_byte_for_byte(
    store: RedisIdempotencyStore, response: bytes
) -> None:
    assert store.begin("k", b"\x00fp\xff", 0) == (NEW, None)
    store.complete("k", response, 0)
    status, replayed = store.begin("k", b"\x00fp\xff", 0)
    assert status is REPLAY
    assert type(replayed) is bytes and replayed == response


def test_first_response_wins(store: RedisIdempotencyStore) -> None:
    store.begin("k", b"fp", 0)
    store.complete("k", b"first", 0)
    store.complete("k", b"second", 0)
    assert store.begin("k", b"fp", 0) == (REPLAY, b"first")


def test_complete_of_an_unknown_key_is_a_no_op(store: RedisIdempotencyStore) -> None:
    store.complete("never-begun", b"answer", 0)
    assert store.client.exists(store.prefix + "never-begun") == 0
    assert store.begin("never-begun", b"fp", 0) == (NEW, None)


def test_release_forgets_an_in_flight_key(store: RedisIdempotencyStore) -> None:
    store.begin("k", b"fp", 0)
    store.release("k", 0)
    assert store.begin("k", b"other-fp", 0) == (NEW, None)
    store.release("unknown", 0)  # a no-op


def test_release_keeps_a_completed_key(store: RedisIdempotencyStore) -> None:
    store.begin("k", b"fp", 0)
    store.complete("k", b"answer", 0)
    store.release("k", 0)
    assert store.begin("k", b"fp", 0) == (REPLAY, b"answer")


def test_complete_after_release_is_a_no_op(store: RedisIdempotencyStore) -> None:
    store.begin("k", b"fp", 0)
    store.release("k", 0)
    store.complete("k", b"late", 0)
    assert store.begin("k", b"fp", 0) == (NEW, None)


def test_prefixes_isolate_stores(make: Factory) -> None:
    first, second = make(TTL_MS), make(TTL_MS)
    assert first.prefix != second.prefix
    assert first.begin("k", b"fp", 0) == (NEW, None)
    assert second.begin("k", b"other", 0) == (NEW, None)
    assert first.client.exists(first.prefix + "k", second.prefix + "k") == 2


# time: by Redis's own clock, never by ours


def server_ms(client: redis.Redis) -> int:
    """Redis's clock now, in ms."""
    seconds, micros = client.time()
    return int(seconds) * 1_000 + int(micros) // 1_000


def expires_at_ms(store: RedisIdempotencyStore, key: str) -> tuple[int, int]:
    """When Redis will expire `key`, by Redis's clock in ms, and how exact that is: PEXPIRETIME
    (Redis >= 7) is exact (0); before that, TIME and PTTL in one transaction are within 1 ms."""
    try:
        return int(store.client.execute_command("PEXPIRETIME", store.prefix + key)), 0
    except redis.ResponseError:  # an older server
        pipe = store.client.pipeline(transaction=True)
        pipe.time().pttl(store.prefix + key)
        (seconds, micros), left = pipe.execute()
        assert int(left) >= 0, f"no TTL on {key}: PTTL {left}"
        return int(seconds) * 1_000 + int(micros) // 1_000 + int(left), 1


def expire_now(store: RedisIdempotencyStore, key: str) -> None:
    """Let Redis expire `key` by its own mechanism (PEXPIRE 1), as when its TTL runs out;
    wait (bounded, not asserted on time) until it is gone."""
    assert store.client.pexpire(store.prefix + key, 1)
    assert wait_until(lambda: store.client.exists(store.prefix + key) == 0, timeout=30.0)


def test_keys_expire_ttl_after_their_first_begin(make: Factory) -> None:
    """The deadline Redis holds is exactly ttl_ms after the first begin (bracketed by Redis's
    clock before and after it), later calls (begin, complete) leave it where it is, and once
    Redis expires the key the store answers NEW. No assertion depends on how fast this runs."""
    store = make(TTL_MS)
    before = server_ms(store.client)
    assert store.begin("k", b"fp", 0) == (NEW, None)
    after = server_ms(store.client)
    deadline, slack = expires_at_ms(store, "k")
    assert before + TTL_MS - slack <= deadline <= after + TTL_MS + slack

    def unchanged() -> bool:
        return abs(expires_at_ms(store, "k")[0] - deadline) <= slack

    assert store.begin("k", b"fp", 0) == (IN_FLIGHT, None)  # a repeat does not extend it
    assert unchanged()
    store.complete("k", b"answer", 0)  # keeps the remaining TTL
    assert unchanged()
    assert store.begin("k", b"fp", 0) == (REPLAY, b"answer")
    assert unchanged()
    expire_now(store, "k")
    assert store.begin("k", b"fp", 0) == (NEW, None)
    assert expires_at_ms(store, "k")[0] >= deadline - slack  # a fresh TTL from this begin


def test_an_in_flight_key_expires_too(make: Factory) -> None:
    """A short TTL really runs out on Redis's clock (waited for, bounded, never timed): the
    key goes, and another fingerprint is then NEW, not CONFLICT."""
    store = make(200)
    assert store.begin("k", b"fp", 0) == (NEW, None)
    assert wait_until(lambda: store.client.exists(store.prefix + "k") == 0, timeout=30.0)
    assert store.begin("k", b"other", 0) == (NEW, None)


def test_now_ms_is_ignored(store: RedisIdempotencyStore) -> None:
    """The `now_ms` arguments move nothing: the deadline stays TTL_MS after the first begin."""
    before = server_ms(store.client)
    store.begin("k", b"fp", 0)
    deadline, slack = expires_at_ms(store, "k")
    assert deadline >= before + TTL_MS - slack
    assert store.begin("k", b"fp", 10**15) == (IN_FLIGHT, None)
    store.complete("k", b"r", -(10**15))
    assert abs(expires_at_ms(store, "k")[0] - deadline) <= slack


# concurrency


def test_racing_begins_give_exactly_one_new(redis_url: str) -> None:
    threads_count, rounds = 8, 20
    stores = [RedisIdempotencyStore.from_url(redis_url, TTL_MS, prefix="bot4:race:")
              for _ in range(threads_count)]  # fmt: skip
    stores[0].client.delete(*(f"bot4:race:key-{i}" for i in range(rounds)))
    results: list[list[object]] = [[] for _ in range(rounds)]
    barriers = [threading.Barrier(threads_count, timeout=10) for _ in range(rounds)]

    def run(store: RedisIdempotencyStore) -> None:
        for i in range(rounds):
            barriers[i].wait()
            results[i].append(store.begin(f"key-{i}", b"fp", 0)[0])

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    for statuses in results:
        assert len(statuses) == threads_count
        assert statuses.count(NEW) == 1
        assert statuses.count(IN_FLIGHT) == threads_count - 1
    for store in stores:
        store.close()


# failing closed


def assert_unavailable(exc: pytest.ExceptionInfo[StoreUnavailable]) -> None:
    error = exc.value
    assert isinstance(error, Bot4Error)
    assert error.code == STORE_UNAVAILABLE_CODE == -9202
    assert error.category is Category.BACKPRESSURE
    assert error.retryable
    assert error.msg == "Idempotency store unavailable: request not accepted."
    assert error.detail and error.detail in str(error)
    assert isinstance(error.__cause__, redis.RedisError)


@pytest.mark.timeout(60)  # a hang fails the test; no assertion on how long it took
def test_a_closed_port_fails_closed() -> None:
    """Nothing listens: every operation raises StoreUnavailable (it never waits forever)."""
    store = RedisIdempotencyStore.from_url(f"redis://127.0.0.1:{free_port()}/0", TTL_MS,
                                           connect_timeout=0.5)  # fmt: skip
    with pytest.raises(StoreUnavailable) as exc:
        store.begin("k", b"fp", 0)
    assert_unavailable(exc)
    with pytest.raises(StoreUnavailable):
        store.complete("k", b"answer", 0)
    with pytest.raises(StoreUnavailable):
        store.release("k", 0)


def test_a_stopped_server_fails_closed() -> None:
    with RedisServer() as server:
        store = RedisIdempotencyStore.from_url(server.url, TTL_MS, connect_timeout=0.5)
        assert store.begin("k", b"fp", 0) == (NEW, None)
        assert store.begin("k", b"fp", 0) == (IN_FLIGHT, None)
        server.stop()
        for _ in range(3):  # never a NEW, however often it is asked
            with pytest.raises(StoreUnavailable) as exc:
                store.begin("k", b"fp", 0)
            assert_unavailable(exc)
            with pytest.raises(StoreUnavailable):
                store.begin("fresh", b"fp", 0)
        with pytest.raises(StoreUnavailable):
            store.complete("k", b"answer", 0)
        store.close()


def test_a_redis_error_fails_closed(store: RedisIdempotencyStore) -> None:
    store.client.set(store.prefix + "k", b"not a hash")  # WRONGTYPE for the scripts
    with pytest.raises(StoreUnavailable) as exc:
        store.begin("k", b"fp", 0)
    assert_unavailable(exc)
    assert "WRONGTYPE" in str(exc.value)


def test_an_unexpected_reply_fails_closed(
    store: RedisIdempotencyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for reply in ([], [7], None):
        monkeypatch.setattr(store, "_begin", lambda keys, args, reply=reply: reply)
        with pytest.raises(StoreUnavailable, match="unexpected reply"):
            store.begin("k", b"fp", 0)


def test_scripts_reload_after_a_script_flush(store: RedisIdempotencyStore) -> None:
    store.client.script_flush()
    assert store.begin("k", b"fp", 0) == (NEW, None)
    store.client.script_flush()
    store.complete("k", b"answer", 0)
    assert store.begin("k", b"fp", 0) == (REPLAY, b"answer")


# construction


def test_bad_arguments(redis_url: str) -> None:
    with pytest.raises(ValueError, match="ttl_ms"):
        RedisIdempotencyStore.from_url(redis_url, 0)
    decoding = redis.Redis.from_url(redis_url, decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses"):
        RedisIdempotencyStore(decoding, TTL_MS)
    decoding.close()


def test_a_missing_redis_server_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_server.shutil, "which", lambda name: None)
    monkeypatch.setattr(redis_server, "_FALLBACK_PATHS", ("/nonexistent/redis-server",))
    with pytest.raises(RedisServerMissing, match=r"apt-get install -y redis-server.*make test"):
        RedisServer().start()
