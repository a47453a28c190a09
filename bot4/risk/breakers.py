"""Circuit breakers for pre-trade risk: per venue and per symbol, CLOSED / OPEN / HALF_OPEN.

A breaker watches order outcomes (`record`) and trade prices (`record_price`) over a sliding
window of `window_ms` and trips to OPEN when a rule fires:

- reject rate  `rejects / results > max_reject_rate`   (needs `min_events` results)
- error rate   `errors / results > max_error_rate`     (needs `min_events` results)
- latency      nearest-rank `latency_percentile` of the window's latencies `> max_latency_us`
               (needs `min_events` latency samples)
- volatility   `(hi - lo) * 10_000 > price_band_bps * lo` over the window's prices

At the limit a rule does not fire; just over it does. Rules are checked in that order and the
first one that fires is the reason. OPEN refuses everything until `cooldown_ms` has passed;
the next `allow` then moves to HALF_OPEN, which admits `probe_orders` probes. All of them
succeeding closes the breaker (result window cleared); any failure re-opens it with
PROBE_FAILED and restarts the cool-down. Every transition appends one `BreakerEvent`.

Time is integer milliseconds passed in by the caller. A time earlier than the latest one seen
by the breaker is treated as that latest time (the clock never runs backwards), so the windows
stay ordered and a cool-down can't be shortened by a stale timestamp.

The window keeps entries with `time > now - window_ms`. Rate rules use running counters, so
`record` is O(1) amortised; the latency rule selects its percentile from the window only when
it is enabled and has enough samples. Volatility uses monotonic min/max deques (O(1) amortised).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from bot4.core.stats import nearest_rank

__all__ = [
    "Admission",
    "BreakerBoard",
    "BreakerConfig",
    "BreakerEvent",
    "BreakerState",
    "CircuitBreaker",
    "TripReason",
]


class BreakerState(enum.Enum):
    """CLOSED lets orders through, OPEN refuses them, HALF_OPEN admits a few probes."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class TripReason(enum.Enum):
    """Why a breaker opened."""

    REJECT_RATE = "REJECT_RATE"
    ERROR_RATE = "ERROR_RATE"
    LATENCY = "LATENCY"
    VOLATILITY = "VOLATILITY"
    MANUAL = "MANUAL"
    PROBE_FAILED = "PROBE_FAILED"


_Rate = Annotated[float, Field(strict=True, gt=0, le=1, allow_inf_nan=False)]


class BreakerConfig(BaseModel):
    """Thresholds of one breaker. A rule whose limit is None is disabled."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_ms: StrictInt = Field(default=10_000, gt=0)
    min_events: StrictInt = Field(default=20, ge=1)
    max_reject_rate: _Rate | None = 0.5
    max_error_rate: _Rate | None = 0.2
    latency_percentile: float = Field(default=99.0, strict=True, gt=0, le=100, allow_inf_nan=False)
    max_latency_us: StrictInt | None = Field(default=None, gt=0)
    price_band_bps: StrictInt | None = Field(default=None, gt=0)
    cooldown_ms: StrictInt = Field(default=30_000, ge=0)
    probe_orders: StrictInt = Field(default=3, ge=1)


@dataclass(frozen=True, slots=True)
class BreakerEvent:
    """One state transition of one breaker. `reason` is None for recoveries and resets."""

    time_ms: int
    breaker: str
    from_state: BreakerState
    to_state: BreakerState
    reason: TripReason | None
    detail: str


@dataclass(frozen=True, slots=True)
class Admission:
    """A board's answer: if refused, which breaker refused and the state it was in."""

    allowed: bool
    breaker: str | None = None
    state: BreakerState | None = None


ADMITTED = Admission(True)


def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    return value


def _bps_text(lo: int, hi: int) -> str:
    """(hi - lo) / lo in basis points, rounded up to 0.01 bps, by integer arithmetic."""
    hundredths = -((-(hi - lo) * 1_000_000) // lo)
    return f"{hundredths // 100}.{hundredths % 100:02d}"


class CircuitBreaker:
    """One breaker. Feed it outcomes and prices; ask `allow` before each order."""

    def __init__(self, name: str, config: BreakerConfig) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("a breaker needs a non-empty name")
        self.name = name
        self.config = config
        self.events: list[BreakerEvent] = []
        self._state = BreakerState.CLOSED
        self._clock: int | None = None
        self._opened_at: int | None = None
        self._probes_admitted = 0
        self._probes_succeeded = 0
        # Outcome window: (time, rejected, error); running counters over it.
        self._results: deque[tuple[int, bool, bool]] = deque()
        self._rejects = 0
        self._errors = 0
        self._latencies: deque[tuple[int, int]] = deque()
        # Price window plus monotonic deques: front of _lows is the min, of _highs the max.
        self._prices: deque[tuple[int, int]] = deque()
        self._lows: deque[tuple[int, int]] = deque()
        self._highs: deque[tuple[int, int]] = deque()

    @property
    def state(self) -> BreakerState:
        """The current state (OPEN becomes HALF_OPEN only inside `allow`)."""
        return self._state

    # -- public operations -------------------------------------------------------------

    def allow(self, now_ms: int) -> bool:
        """May one order go out now? In HALF_OPEN a True answer admits (uses up) one probe."""
        if not self._admissible(now_ms):
            return False
        if self._state is BreakerState.HALF_OPEN:
            self._probes_admitted += 1
        return True

    def admit(self, now_ms: int) -> Admission:
        """`allow` as an `Admission`: this breaker's name and state when it refuses."""
        if self.allow(now_ms):
            return ADMITTED
        return Admission(False, self.name, self._state)

    def record(
        self,
        now_ms: int,
        *,
        ok: bool = True,
        rejected: bool = False,
        error: bool = False,
        latency_us: int | None = None,
    ) -> None:
        """Record one order outcome.

        The outcome failed if `rejected`, `error` or `not ok`; `ok=False` without a flag counts
        as an error. In CLOSED it joins the window and the rules are checked; in HALF_OPEN it
        is a probe result (a latency over `max_latency_us` also fails it); in OPEN it is ignored.
        """
        if latency_us is not None and _check_int("latency_us", latency_us) < 0:
            raise ValueError(f"latency_us must be >= 0, got {latency_us}")
        now = self._tick(now_ms)
        is_error = error or not (ok or rejected)
        if self._state is BreakerState.CLOSED:
            self._add_result(now, rejected, is_error, latency_us)
            self._check_rates(now)
        elif self._state is BreakerState.HALF_OPEN:
            self._probe_result(now, rejected, is_error, latency_us)

    def record_price(self, now_ms: int, price: int) -> None:
        """Record a trade price (integer ticks). Trips VOLATILITY in CLOSED or HALF_OPEN.

        Prices are kept in every state, so a breach still inside the window when the breaker
        is HALF_OPEN re-opens it.
        """
        if _check_int("price", price) <= 0:
            raise ValueError(f"price must be > 0, got {price}")
        now = self._tick(now_ms)
        self._add_price(now, price)
        band = self.config.price_band_bps
        if band is None or self._state is BreakerState.OPEN:
            return
        lo, hi = self._lows[0][1], self._highs[0][1]
        if (hi - lo) * 10_000 > band * lo:
            self._open(
                now,
                TripReason.VOLATILITY,
                f"price range {lo}..{hi} is {_bps_text(lo, hi)} bps > band {band} bps "
                f"in {self.config.window_ms} ms",
            )

    def trip(self, now_ms: int, reason: TripReason = TripReason.MANUAL, detail: str = "") -> None:
        """Open now from any state (an OPEN breaker re-opens: the cool-down restarts)."""
        self._open(self._tick(now_ms), reason, detail)

    def reset(self, now_ms: int) -> None:
        """Operator reset: CLOSED from any state, windows cleared, one event (reason None)."""
        now = self._tick(now_ms)
        self._clear_results()
        self._prices.clear()
        self._lows.clear()
        self._highs.clear()
        self._transition(now, BreakerState.CLOSED, None, "reset by operator")

    def snapshot(self) -> dict[str, object]:
        """State and window counts (as of the last call) for metrics."""
        return {
            "name": self.name,
            "state": self._state.value,
            "results": len(self._results),
            "rejects": self._rejects,
            "errors": self._errors,
            "latency_samples": len(self._latencies),
            "prices": len(self._prices),
            "opened_at_ms": self._opened_at,
            "probes_admitted": self._probes_admitted,
            "probes_succeeded": self._probes_succeeded,
            "transitions": len(self.events),
        }

    # -- internals ---------------------------------------------------------------------

    def _tick(self, now_ms: int) -> int:
        """Advance the breaker's clock; an earlier time counts as the latest one seen."""
        now = _check_int("now_ms", now_ms)
        if self._clock is not None and now < self._clock:
            return self._clock
        self._clock = now
        return now

    def _admissible(self, now_ms: int) -> bool:
        """`allow` without using up a probe (it may still move OPEN -> HALF_OPEN)."""
        now = self._tick(now_ms)
        if self._state is BreakerState.OPEN:
            assert self._opened_at is not None
            if now < self._opened_at + self.config.cooldown_ms:
                return False
            self._transition(
                now,
                BreakerState.HALF_OPEN,
                None,
                f"cool-down of {self.config.cooldown_ms} ms elapsed; "
                f"admitting {self.config.probe_orders} probes",
            )
        if self._state is BreakerState.HALF_OPEN:
            return self._probes_admitted < self.config.probe_orders
        return True

    def _transition(
        self, now: int, to: BreakerState, reason: TripReason | None, detail: str
    ) -> None:
        self.events.append(BreakerEvent(now, self.name, self._state, to, reason, detail))
        self._state = to
        self._probes_admitted = 0
        self._probes_succeeded = 0
        self._opened_at = now if to is BreakerState.OPEN else None

    def _open(self, now: int, reason: TripReason, detail: str) -> None:
        self._transition(now, BreakerState.OPEN, reason, detail)

    def _clear_results(self) -> None:
        self._results.clear()
        self._latencies.clear()
        self._rejects = 0
        self._errors = 0

    def _add_result(self, now: int, rejected: bool, error: bool, latency_us: int | None) -> None:
        self._results.append((now, rejected, error))
        self._rejects += rejected
        self._errors += error
        if latency_us is not None:
            self._latencies.append((now, latency_us))
        horizon = now - self.config.window_ms
        results = self._results
        while results[0][0] <= horizon:
            _, old_rejected, old_error = results.popleft()
            self._rejects -= old_rejected
            self._errors -= old_error
        latencies = self._latencies
        while latencies and latencies[0][0] <= horizon:
            latencies.popleft()

    def _check_rates(self, now: int) -> None:
        cfg = self.config
        n = len(self._results)
        if n >= cfg.min_events:
            if cfg.max_reject_rate is not None and self._rejects / n > cfg.max_reject_rate:
                detail = (
                    f"reject rate {self._rejects}/{n} = {self._rejects / n:.4f} "
                    f"> {cfg.max_reject_rate} in {cfg.window_ms} ms"
                )
                self._open(now, TripReason.REJECT_RATE, detail)
                return
            if cfg.max_error_rate is not None and self._errors / n > cfg.max_error_rate:
                detail = (
                    f"error rate {self._errors}/{n} = {self._errors / n:.4f} "
                    f"> {cfg.max_error_rate} in {cfg.window_ms} ms"
                )
                self._open(now, TripReason.ERROR_RATE, detail)
                return
        samples = len(self._latencies)
        if cfg.max_latency_us is not None and samples >= cfg.min_events:
            value = nearest_rank([lat for _, lat in self._latencies], cfg.latency_percentile)
            if value > cfg.max_latency_us:
                detail = (
                    f"p{cfg.latency_percentile:g} latency {value} us > {cfg.max_latency_us} us "
                    f"over {samples} samples in {cfg.window_ms} ms"
                )
                self._open(now, TripReason.LATENCY, detail)

    def _probe_result(self, now: int, rejected: bool, error: bool, latency_us: int | None) -> None:
        limit = self.config.max_latency_us
        slow = limit is not None and latency_us is not None and latency_us > limit
        if rejected or error or slow:
            parts = ["rejected"] if rejected else []
            parts += ["error"] if error else []
            parts += [f"latency {latency_us} us > {limit} us"] if slow else []
            self._open(now, TripReason.PROBE_FAILED, "probe failed: " + ", ".join(parts))
            return
        self._probes_succeeded += 1
        if self._probes_succeeded >= self.config.probe_orders:
            self._clear_results()
            self._transition(
                now, BreakerState.CLOSED, None, f"{self._probes_succeeded} probes succeeded"
            )

    def _add_price(self, now: int, price: int) -> None:
        self._prices.append((now, price))
        lows, highs = self._lows, self._highs
        while lows and lows[-1][1] >= price:
            lows.pop()
        lows.append((now, price))
        while highs and highs[-1][1] <= price:
            highs.pop()
        highs.append((now, price))
        horizon = now - self.config.window_ms
        for window in (self._prices, lows, highs):
            while window[0][0] <= horizon:
                window.popleft()


class BreakerBoard:
    """One venue-level breaker plus one per symbol (created on first use with the symbol's config
    or the default). An order goes out only if both its venue and its symbol breaker allow it.
    """

    def __init__(
        self,
        venue: BreakerConfig,
        symbols: Mapping[str, BreakerConfig] | None = None,
        default: BreakerConfig | None = None,
        *,
        venue_name: str = "venue",
    ) -> None:
        self.venue = CircuitBreaker(venue_name, venue)
        self._configs: dict[str, BreakerConfig] = dict(symbols or {})
        self._default = default if default is not None else BreakerConfig()
        self._symbols: dict[str, CircuitBreaker] = {}
        if venue_name in self._configs:
            raise ValueError(f"symbol {venue_name!r} clashes with the venue breaker's name")

    def breaker(self, symbol: str) -> CircuitBreaker:
        """The symbol's breaker, created on first use."""
        found = self._symbols.get(symbol)
        if found is None:
            if symbol == self.venue.name:
                raise ValueError(f"symbol {symbol!r} clashes with the venue breaker's name")
            found = CircuitBreaker(symbol, self._configs.get(symbol, self._default))
            self._symbols[symbol] = found
        return found

    def allow(self, symbol: str, now_ms: int) -> Admission:
        """Venue first, then symbol. A probe is used up only when both breakers admit."""
        sym = self.breaker(symbol)
        for brk in (self.venue, sym):
            if not brk._admissible(now_ms):
                return Admission(False, brk.name, brk.state)
        self.venue.allow(now_ms)
        sym.allow(now_ms)
        return ADMITTED

    def lane(self, symbol: str) -> SymbolBreakers:
        """The venue's and `symbol`'s breakers as one, for an order of that symbol."""
        return SymbolBreakers(self, symbol)

    def record(
        self,
        symbol: str,
        now_ms: int,
        *,
        ok: bool = True,
        rejected: bool = False,
        error: bool = False,
        latency_us: int | None = None,
    ) -> None:
        """Record one order outcome with the venue breaker and the symbol's breaker."""
        sym = self.breaker(symbol)
        for brk in (self.venue, sym):
            brk.record(now_ms, ok=ok, rejected=rejected, error=error, latency_us=latency_us)

    def record_price(self, symbol: str, now_ms: int, price: int) -> None:
        """Record a trade price with the symbol's breaker only."""
        self.breaker(symbol).record_price(now_ms, price)

    def events(self) -> list[BreakerEvent]:
        """All events, venue first then symbols in creation order, stably sorted by time."""
        merged = list(self.venue.events)
        for brk in self._symbols.values():
            merged.extend(brk.events)
        merged.sort(key=lambda ev: ev.time_ms)
        return merged

    def snapshot(self) -> dict[str, dict[str, object]]:
        """Every breaker's snapshot, by breaker name."""
        out = {self.venue.name: self.venue.snapshot()}
        for name, brk in self._symbols.items():
            out[name] = brk.snapshot()
        return out


class SymbolBreakers:
    """A board's breakers for one symbol's orders (the venue's and the symbol's), with the
    single breaker's `admit`/`record`/`record_price`, so an order path takes either."""

    __slots__ = ("board", "symbol")

    def __init__(self, board: BreakerBoard, symbol: str) -> None:
        self.board = board
        self.symbol = symbol

    def admit(self, now_ms: int) -> Admission:
        return self.board.allow(self.symbol, now_ms)

    def record(
        self,
        now_ms: int,
        *,
        ok: bool = True,
        rejected: bool = False,
        error: bool = False,
        latency_us: int | None = None,
    ) -> None:
        self.board.record(self.symbol, now_ms, ok=ok, rejected=rejected, error=error,
                          latency_us=latency_us)  # fmt: skip

    def record_price(self, now_ms: int, price: int) -> None:
        self.board.record_price(self.symbol, now_ms, price)
