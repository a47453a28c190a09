"""Order rate limits as integer token buckets, mirroring the venue's ORDERS limits.

A bucket of `limit` orders per `interval_ms` starts full and refills continuously at
`limit / interval_ms` orders per millisecond. Tokens are kept scaled by `interval_ms`, so all
arithmetic is on integers. A refused order gets a retry-after hint: the milliseconds until
one whole token is back.
"""

from __future__ import annotations


class TokenBucket:
    """`limit` orders per `interval_ms`, refilled continuously."""

    __slots__ = ("interval_ms", "label", "last_ms", "level", "limit")

    def __init__(self, limit: int, interval_ms: int, label: str = "") -> None:
        if limit <= 0 or interval_ms <= 0:
            raise ValueError("a rate limit needs limit > 0 and interval_ms > 0")
        self.limit = limit
        self.interval_ms = interval_ms
        self.label = label or f"{interval_ms}ms"
        self.level = limit * interval_ms  # tokens x interval_ms: starts full
        self.last_ms: int | None = None

    def _refill(self, now_ms: int) -> int:
        last = self.last_ms
        level = self.level
        if last is not None and now_ms > last:
            level = min(self.limit * self.interval_ms, level + (now_ms - last) * self.limit)
        return level

    def retry_after(self, now_ms: int) -> int:
        """Milliseconds until one order can pass (0: now)."""
        missing = self.interval_ms - self._refill(now_ms)
        return 0 if missing <= 0 else -(-missing // self.limit)

    def take(self, now_ms: int) -> bool:
        """Spend one token at `now_ms` if there is one (time going backwards adds nothing)."""
        level, last, interval = self.level, self.last_ms, self.interval_ms
        if last is None or now_ms > last:
            if last is not None:
                level += (now_ms - last) * self.limit
                full = self.limit * interval
                if level > full:
                    level = full
            self.last_ms = now_ms
        if level < interval:
            self.level = level
            return False
        self.level = level - interval
        return True

    def give_back(self) -> None:
        """Return the token of an order that another check then refused."""
        self.level = min(self.limit * self.interval_ms, self.level + self.interval_ms)
