"""Used signatures, remembered exactly as long as their requests could still be replayed.

A signed request can pass the timestamp guard until its own ``timestamp + recvWindow``: both
are signed, so a replay carries the same ones. `ReplayMemory` keeps each accepted signature
until that instant and never forgets one earlier. Memory is bounded by `capacity` live
signatures: when it is full, a new signature is refused (`FULL`, the caller answers with a
retryable error) instead of forgetting an old one, which would reopen it to replay (fail
closed). Expiry runs on a timing wheel of millisecond ticks, O(1) per signature: a signature
leaves at the first millisecond boundary after its last instant. Time is passed in (µs).
"""

from __future__ import annotations

import enum

from bot4.service.idempotency import TimingWheel


class Seen(enum.Enum):
    """What `ReplayMemory.record` found."""

    RECORDED = "RECORDED"  # first sight: remembered until its request expires
    REPLAYED = "REPLAYED"  # seen before, and its request can still pass the window
    FULL = "FULL"  # not seen, but `capacity` live signatures leave no room: refuse for now


class ReplayMemory:
    """Signatures with the last µs at which their request can pass (``timestamp + window``)."""

    __slots__ = ("_last_us", "_wheel", "capacity", "expired", "refused")

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("need capacity > 0")
        self.capacity = capacity
        self._last_us: dict[str, int] = {}  # signature -> last µs its request can pass
        # millisecond slots: a signature leaves at the first ms boundary after its last µs;
        # level 0 spans 4 s, level 1 4.6 h (the longest window is 61 s)
        self._wheel: TimingWheel[str] = TimingWheel(1, slots=4096, levels=3)
        self.expired = 0  # signatures forgotten once their request could no longer pass
        self.refused = 0  # new signatures refused because the memory was full

    def __len__(self) -> int:
        return len(self._last_us)

    def __contains__(self, key: object) -> bool:
        return key in self._last_us

    def record(self, key: str, last_us: int, now_us: int) -> Seen:
        """Remember `key` until `last_us` (the last instant its request passes the window),
        unless it is remembered already (`REPLAYED`) or there is no room (`FULL`)."""
        self._expire(now_us)
        known = self._last_us.get(key)
        if known is not None and known >= now_us:
            return Seen.REPLAYED
        if known is None and len(self._last_us) >= self.capacity:
            self.refused += 1
            return Seen.FULL
        self._last_us[key] = last_us
        self._wheel.add(key, last_us // 1_000 + 1)  # due once now_us > last_us
        return Seen.RECORDED

    def _expire(self, now_us: int) -> None:
        """Forget the signatures whose requests can no longer pass."""
        last = self._last_us
        for _, key in self._wheel.advance(now_us // 1_000):
            del last[key]  # due at the first ms after its last µs: now_us > last_us
            self.expired += 1
