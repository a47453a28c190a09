"""The order path's risk gate: circuit breakers, then pre-trade risk, then the venue.

Every order of an account goes through one `RiskGate`, so that risk sees every report its
orders cause. The gate feeds the venue's answers back to the breakers: refusals as rejects,
internal faults as errors, latency when the caller measured it, and trade prices for the
volatility rule.

The kill switch (`kill`) moves the account to KILLED and cancels all its open orders on every
symbol. From then on only orders that reduce a position pass, until an operator calls `reset`.
"""

from __future__ import annotations

from bot4.core.errors import VenueError
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.results import Ack
from bot4.risk.breakers import BreakerBoard
from bot4.risk.pretrade import RiskEngine
from bot4.service.admission import breaker_refusal, learn
from bot4.venue.exchange import Venue


class RiskGate:
    """A venue behind pre-trade risk and circuit breakers."""

    def __init__(self, venue: Venue, risk: RiskEngine, breakers: BreakerBoard | None = None):
        self.venue = venue
        self.risk = risk
        self.breakers = breakers

    def submit(
        self, symbol: str, req: NewOrder, now: int, *, latency_us: int | None = None
    ) -> Ack | VenueError:
        """Place an order if the breakers and risk allow it."""
        breakers = None if self.breakers is None else self.breakers.lane(symbol)
        refused = breaker_refusal(breakers, now) or self.risk.check(symbol, req, now)
        if refused is not None:
            return refused
        result = self.venue.submit(symbol, req, now)
        learn(breakers, self.risk, symbol, result,
              result.reports if isinstance(result, Ack) else (), now, latency_us)  # fmt: skip
        return result

    def cancel(self, symbol: str, req: CancelOrder, now: int) -> Ack | VenueError:
        """Cancel an order; risk releases what it held."""
        result = self.venue.cancel(symbol, req, now)
        if isinstance(result, Ack):
            self.risk.on_reports(symbol, result.reports, now)
        return result

    def kill(self, account: str, now: int) -> list[Ack]:
        """Engage the kill switch: block new risk and cancel every open order everywhere."""
        self.risk.kill(account, now)
        cancelled: list[Ack] = []
        for symbol, engine in sorted(self.venue.engines.items()):
            acks = engine.cancel_all(account, now)
            if isinstance(acks, VenueError):
                continue  # nothing open on this symbol
            for ack in acks:
                self.risk.on_reports(symbol, ack.reports, now)
            cancelled += acks
        return cancelled

    def reset(self, account: str, now: int) -> None:
        """The operator's reset after a kill, halt or breach."""
        self.risk.reset(account, now)
