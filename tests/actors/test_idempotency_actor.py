"""The shared idempotency actor on a real local Ray, on both tiers (memory and Redis): the
store's protocol through the actor, one store for every handle, what survives a crash of the
actor's process (Redis keys do, memory keys do not), and errors returned, never raised."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import ray
from ray.exceptions import GetTimeoutError, RayActorError

from bot4.actors.idempotency import IdempotencyActor, deploy_idempotency
from bot4.core.errors import Code, VenueError
from bot4.infra.redis_store import STORE_UNAVAILABLE_CODE, StoreUnavailable
from bot4.service.idempotency import CONFLICT, IN_FLIGHT, NEW, REPLAY, MemoryIdempotencyStore
from tests.support.redis_server import free_port

TIMEOUT = 60
Deploy = Callable[..., Any]

pytestmark = pytest.mark.usefixtures("ray_local")


def call(ref: Any) -> Any:
    return ray.get(ref, timeout=TIMEOUT)


@pytest.fixture()
def deploy() -> Iterator[Deploy]:
    """`deploy(**kwargs)`: an idempotency actor under a fresh unique name (and, on Redis, a
    fresh key prefix); every actor made is killed for good after the test, passed or failed."""
    actors: list[Any] = []

    def make(**kwargs: Any) -> Any:
        kwargs.setdefault("name", f"idempotency-test-{uuid.uuid4().hex}")
        kwargs.setdefault("prefix", f"bot4:test:{uuid.uuid4().hex}:")
        actor = deploy_idempotency(**kwargs)
        actors.append(actor)
        return actor

    try:
        yield make
    finally:  # each one, even when a kill fails or the test did
        for actor in actors:
            with contextlib.suppress(Exception):
                ray.kill(actor, no_restart=True)


@pytest.fixture(params=["memory", "redis"])
def tier(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture()
def actor(tier: str, deploy: Deploy, request: pytest.FixtureRequest) -> Any:
    """A fresh actor of either tier (the same protocol tests run on both)."""
    if tier == "redis":
        return deploy(redis_url=request.getfixturevalue("redis_url"))
    return deploy()


def restart(actor: Any) -> int:
    """SIGKILL the actor's process; wait (bounded) until Ray's restarted instance answers."""
    old = call(actor.pid.remote())
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            new: int = ray.get(actor.pid.remote(), timeout=5)
        except (RayActorError, GetTimeoutError):
            time.sleep(0.05)
            continue
        if new != old:
            return new
        time.sleep(0.05)
    raise AssertionError(f"the actor was not restarted within {TIMEOUT}s")


def assert_invalid(result: object, name: str) -> None:
    assert isinstance(result, VenueError), result
    assert result.code == Code.INVALID_PARAMETER
    assert f"'{name}'" in result.msg


# --- the protocol through the actor, on both tiers ----------------------------------------------


def test_tier_and_size(actor: Any, tier: str) -> None:
    assert call(actor.tier.remote()) == tier
    call(actor.begin.remote("k", b"fp", 1))
    assert call(actor.size.remote()) == (1 if tier == "memory" else None)
    assert call(actor.pid.remote()) != os.getpid()


def test_new_in_flight_then_replay_of_the_first_response(actor: Any) -> None:
    assert call(actor.begin.remote("deposit:alice:1", b"fp", 1)) == (NEW, None)
    assert call(actor.begin.remote("deposit:alice:1", b"fp", 2)) == (IN_FLIGHT, None)
    assert call(actor.complete.remote("deposit:alice:1", b'{"id":7}', 3)) is None
    assert call(actor.complete.remote("deposit:alice:1", b'{"id":8}', 4)) is None  # ignored
    assert call(actor.begin.remote("deposit:alice:1", b"fp", 5)) == (REPLAY, b'{"id":7}')


def test_same_key_with_another_fingerprint_is_a_conflict(actor: Any) -> None:
    call(actor.begin.remote("k", b"buy 1", 1))
    assert call(actor.begin.remote("k", b"buy 2", 2)) == (CONFLICT, None)
    call(actor.complete.remote("k", b"ack", 3))
    assert call(actor.begin.remote("k", b"sell", 4)) == (CONFLICT, None)
    assert call(actor.begin.remote("k", b"buy 1", 5)) == (REPLAY, b"ack")


def test_release_lets_a_retry_be_new(actor: Any) -> None:
    call(actor.begin.remote("k", b"fp", 1))
    assert call(actor.release.remote("k", 2)) is None
    assert call(actor.begin.remote("k", b"fp", 3)) == (NEW, None)
    call(actor.complete.remote("k", b"done", 4))
    call(actor.release.remote("k", 5))  # too late: it has a response
    assert call(actor.begin.remote("k", b"fp", 6)) == (REPLAY, b"done")


def test_begin_many_and_complete_many(actor: Any) -> None:
    call(actor.begin.remote("b", b"fb", 1))
    call(actor.complete.remote("b", b"rb", 1))
    call(actor.begin.remote("c", b"fc", 1))
    items = [("a", b"fa"), ("b", b"fb"), ("c", b"fc"), ("d", b"other"), ("a", b"fa")]
    call(actor.begin.remote("d", b"fd", 1))
    assert call(actor.begin_many.remote(items, 2)) == [
        (NEW, None),
        (REPLAY, b"rb"),
        (IN_FLIGHT, None),
        (CONFLICT, None),
        (IN_FLIGHT, None),  # the batch's own first item
    ]
    assert call(actor.complete_many.remote([("a", b"ra"), ("c", b"rc")], 3)) is None
    assert call(actor.begin_many.remote([("a", b"fa"), ("c", b"fc")], 4)) == [
        (REPLAY, b"ra"),
        (REPLAY, b"rc"),
    ]
    assert call(actor.begin_many.remote([], 5)) == []
    assert call(actor.complete_many.remote([], 5)) is None


def test_two_handles_share_the_keys(
    tier: str, deploy: Deploy, request: pytest.FixtureRequest
) -> None:
    name = f"idempotency-test-{uuid.uuid4().hex}"
    url = request.getfixturevalue("redis_url") if tier == "redis" else None
    actor = deploy(name=name, redis_url=url)
    other: Any = ray.get_actor(name, namespace="bot4")  # typed Never on attribute access
    again = deploy(name=name, redis_url=url)  # attaches to the running actor
    pid = call(actor.pid.remote())
    assert call(other.pid.remote()) == pid
    assert call(again.pid.remote()) == pid
    call(actor.begin.remote("batch:alice:1", b"fp", 1))
    assert call(other.begin.remote("batch:alice:1", b"fp", 2)) == (IN_FLIGHT, None)
    call(other.complete.remote("batch:alice:1", b"resp", 3))
    assert call(again.begin.remote("batch:alice:1", b"fp", 4)) == (REPLAY, b"resp")


def test_bad_input_is_an_invalid_parameter_and_the_actor_answers(actor: Any, tier: str) -> None:
    assert_invalid(call(actor.begin.remote(42, b"fp", 1)), "key")
    assert_invalid(call(actor.begin.remote(None, b"fp", 1)), "key")
    assert_invalid(call(actor.begin.remote("lone \ud800 surrogate", b"fp", 1)), "key")
    assert_invalid(call(actor.begin.remote("k", b"fp", 2**64)), "now_ms")
    assert_invalid(call(actor.begin.remote("k", "fp", 1)), "fingerprint")
    # (a bytearray argument would not do: Ray delivers a top-level bytearray as bytes)
    assert_invalid(call(actor.begin.remote("k", b"fp", "1")), "now_ms")
    assert_invalid(call(actor.begin.remote("k", b"fp", None)), "now_ms")
    assert_invalid(call(actor.complete.remote(b"k", b"r", 1)), "key")
    assert_invalid(call(actor.complete.remote("k", "r", 1)), "response")
    assert_invalid(call(actor.release.remote(["k"], 1)), "key")
    assert_invalid(call(actor.begin_many.remote("not a list", 1)), "items")
    assert_invalid(call(actor.begin_many.remote([("k",)], 1)), "items")
    assert_invalid(call(actor.begin_many.remote([("a", b"f"), (1, b"f")], 1)), "key")
    assert_invalid(call(actor.begin_many.remote([("a", b"f"), ("\udfff", b"f")], 1)), "key")
    assert_invalid(call(actor.begin_many.remote([("a", b"f"), ("b", "f")], 1)), "fingerprint")
    assert_invalid(call(actor.begin_many.remote([("a", b"f")], 1.5)), "now_ms")
    assert_invalid(call(actor.complete_many.remote([("a", 7)], 1)), "response")
    assert_invalid(call(actor.complete_many.remote(None, 1)), "items")
    # nothing was touched: "a" and "k" are still new, and the actor is the same process
    pid = call(actor.pid.remote())
    assert call(actor.begin_many.remote([("a", b"f"), ("k", b"fp")], 2)) == [(NEW, None)] * 2
    if tier == "memory":
        assert call(actor.size.remote()) == 2
    assert call(actor.pid.remote()) == pid


# --- restarts: Redis keeps the keys, memory loses them -------------------------------------------


def test_redis_keys_survive_a_killed_actor_process(deploy: Deploy, redis_url: str) -> None:
    actor = deploy(redis_url=redis_url)
    call(actor.begin.remote("done", b"fp", 1))
    call(actor.complete.remote("done", b"resp", 2))
    call(actor.begin.remote("pending", b"fp", 3))
    restart(actor)
    assert call(actor.tier.remote()) == "redis"
    assert call(actor.begin.remote("done", b"fp", 4)) == (REPLAY, b"resp")
    assert call(actor.begin.remote("pending", b"fp", 5)) == (IN_FLIGHT, None)


def test_memory_keys_are_lost_when_the_actor_restarts(deploy: Deploy) -> None:
    """Documents the memory tier's limit: after a crash a retried request is NEW again."""
    actor = deploy()
    call(actor.begin.remote("done", b"fp", 1))
    call(actor.complete.remote("done", b"resp", 2))
    assert call(actor.size.remote()) == 1
    restart(actor)
    assert call(actor.size.remote()) == 0
    assert call(actor.begin.remote("done", b"fp", 3)) == (NEW, None)


# --- Redis down -------------------------------------------------------------------------------


def test_redis_down_returns_store_unavailable_and_the_actor_answers(deploy: Deploy) -> None:
    actor = deploy(redis_url=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    pid = call(actor.pid.remote())
    for ref in (
        actor.begin.remote("k", b"fp", 1),
        actor.complete.remote("k", b"r", 2),
        actor.release.remote("k", 3),
        actor.begin_many.remote([("a", b"f"), ("b", b"f")], 4),
        actor.complete_many.remote([("a", b"r")], 5),
    ):
        result = call(ref)
        assert isinstance(result, VenueError), result
        assert result.code == STORE_UNAVAILABLE_CODE
        assert result.retryable
    assert call(actor.tier.remote()) == "redis"
    assert call(actor.size.remote()) is None
    assert call(actor.pid.remote()) == pid  # the same process: it did not die


# --- the adapter's batch failure, without Ray -------------------------------------------------


class FailingStore(MemoryIdempotencyStore):
    """A memory store whose `begin` raises `StoreUnavailable` from the `fail_at`-th call."""

    __slots__ = ("calls", "fail_at")

    def __init__(self, fail_at: int) -> None:
        super().__init__(100, 60_000)
        self.fail_at = fail_at
        self.calls = 0
        inner = self.begin

        def begin(key: str, fingerprint: bytes, now_ms: int) -> Any:
            self.calls += 1
            if self.calls >= self.fail_at:
                raise StoreUnavailable("test")
            return inner(key, fingerprint, now_ms)

        self.begin = begin


def test_begin_many_failing_part_way_releases_what_it_began() -> None:
    adapter = IdempotencyActor.__ray_actor_class__()  # type: ignore[attr-defined]
    store = FailingStore(fail_at=4)
    adapter.store = store
    store.begin("old", b"f", 1)  # in flight for someone else before the batch: call 1
    items = [("a", b"f"), ("old", b"f"), ("b", b"f"), ("c", b"f")]
    result = adapter.begin_many(items, 2)
    assert isinstance(result, VenueError) and result.code == STORE_UNAVAILABLE_CODE
    assert "a" not in store  # begun by the batch, released
    assert "old" in store  # not the batch's: kept
    assert "b" not in store and "c" not in store
