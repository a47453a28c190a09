"""The idempotency store on Redis: the same interface as `MemoryIdempotencyStore`, shared by
every process of a cluster.

Each idempotency key is one Redis hash, ``<prefix><key>``, with two fields: ``f`` the request's
fingerprint and ``r`` its first response (absent while the request is in flight). Every
operation is one Lua script, so it runs atomically on the server in one round trip:

* ``begin``: if the hash is missing, create it with the fingerprint and ``PEXPIRE`` ttl_ms
  (SET NX PX semantics) and answer NEW; otherwise compare the fingerprint (CONFLICT) and answer
  REPLAY with the stored response or IN_FLIGHT.
* ``complete``: ``HSETNX`` the response only if the hash still exists: the first response
  wins, and writing a field of an existing hash keeps its remaining TTL.
* ``release``: delete the hash only if it has no response yet.

Each script touches exactly one key, so it also works on a Redis Cluster.

Time: keys expire ``ttl_ms`` after their first ``begin`` by Redis's own clock. The ``now_ms``
arguments exist for interface compatibility and are ignored.

Memory: there is no ``capacity`` and no ``__len__``; memory is bounded by the TTLs and by the
server's ``maxmemory`` (use a ``volatile-*`` eviction policy, or ``noeviction`` so that a full
server fails closed instead of forgetting keys).

Failure: when Redis is down, slow or answers an error, every operation raises
`StoreUnavailable` (code -9202, backpressure, retryable). It fails closed: it never answers NEW
unless Redis has recorded the key, so a duplicate is never accepted. A timeout after Redis ran
``begin`` leaves the key in flight until its TTL; a retry then sees IN_FLIGHT, never NEW.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from bot4.core.errors import Bot4Error, Category, VenueError
from bot4.service.idempotency import CONFLICT, IN_FLIGHT, NEW, REPLAY, Status

STORE_UNAVAILABLE_CODE = -9202
STORE_UNAVAILABLE = VenueError(
    STORE_UNAVAILABLE_CODE,
    "Idempotency store unavailable: request not accepted.",
    Category.BACKPRESSURE,
    retryable=True,
)


class StoreUnavailable(Bot4Error):
    """The idempotency store cannot answer for sure, so the request is refused (fail closed).

    `msg` is the client-facing message; `detail` says what went wrong (for logs) and the
    underlying Redis exception is chained as ``__cause__``.
    """

    def __init__(self, detail: str = "") -> None:
        super().__init__(STORE_UNAVAILABLE)
        self.detail = detail
        if detail:
            self.args = (f"{STORE_UNAVAILABLE.code}: {STORE_UNAVAILABLE.msg} ({detail})",)


# KEYS[1] the entry; ARGV[1] the fingerprint, ARGV[2] the TTL in ms.
# Answers {0} NEW, {1, response} REPLAY, {2} IN_FLIGHT, {3} CONFLICT.
_BEGIN = """
local entry = redis.call('HMGET', KEYS[1], 'f', 'r')
local fingerprint, response = entry[1], entry[2]
if not fingerprint then
  redis.call('HSET', KEYS[1], 'f', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {0}
end
if fingerprint ~= ARGV[1] then return {3} end
if response then return {1, response} end
return {2}
"""

# KEYS[1] the entry; ARGV[1] the response. 1 when stored, 0 when gone or already completed.
_COMPLETE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], 'r', ARGV[1])
"""

# KEYS[1] the entry. 1 when an in-flight entry was deleted, else 0.
_RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HEXISTS', KEYS[1], 'r') == 0 then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_BY_CODE = {1: REPLAY, 2: IN_FLIGHT, 3: CONFLICT}


class RedisIdempotencyStore:
    """`IdempotencyStore` on Redis (see the module docstring)."""

    __slots__ = ("_begin", "_complete", "_release", "client", "prefix", "ttl_ms")

    def __init__(self, client: redis.Redis, ttl_ms: int, *, prefix: str = "bot4:idem:") -> None:
        if ttl_ms <= 0:
            raise ValueError("need ttl_ms > 0")
        if client.get_connection_kwargs().get("decode_responses"):
            raise ValueError("the Redis client must return bytes: decode_responses=False")
        self.client = client
        self.ttl_ms = ttl_ms
        self.prefix = prefix
        self._begin = client.register_script(_BEGIN)
        self._complete = client.register_script(_COMPLETE)
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(
        cls,
        url: str,
        ttl_ms: int,
        *,
        prefix: str = "bot4:idem:",
        socket_timeout: float = 1.0,
        connect_timeout: float = 1.0,
        retries: int = 1,
        **kwargs: Any,
    ) -> RedisIdempotencyStore:
        """A store on a new client for `url` (``redis://host:port/db``) with socket timeouts.

        `retries` reconnects after a dropped connection (e.g. a Redis restart) before failing;
        a retried `begin` is safe: if the first attempt ran, the retry sees IN_FLIGHT.
        """
        client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), retries),
            decode_responses=False,
            **kwargs,
        )
        return cls(client, ttl_ms, prefix=prefix)

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()

    def _call(self, script: Any, key: str, *args: bytes | int) -> Any:
        try:
            return script(keys=[self.prefix + key], args=args)
        except RedisError as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def begin(self, key: str, fingerprint: bytes, now_ms: int) -> tuple[Status, bytes | None]:
        """Check `key`; when new, record it as in flight for ttl_ms (`now_ms` is ignored)."""
        reply = self._call(self._begin, key, fingerprint, self.ttl_ms)
        try:
            code = reply[0]
            if code == 0:
                return NEW, None
            if code == 1:
                return REPLAY, bytes(reply[1])
            return _BY_CODE[code], None
        except (IndexError, KeyError, TypeError) as exc:
            raise StoreUnavailable(f"unexpected reply from Redis: {reply!r}") from exc

    def complete(self, key: str, response: bytes, now_ms: int) -> None:
        """Record the first response of `key`; a no-op if it has gone or is already complete."""
        self._call(self._complete, key, bytes(response))

    def release(self, key: str, now_ms: int) -> None:
        """Forget an in-flight `key` so that a retry may run; a completed key stays."""
        self._call(self._release, key)
