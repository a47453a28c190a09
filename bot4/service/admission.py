"""Admission of a new order on the order path, shared by the symbol service and the gate:
the circuit breakers first, then pre-trade risk; and what both learn from the order's outcome
(risk its reports, the breakers refused or not, failed or not, and the prices it traded)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from bot4.core import errors
from bot4.core.errors import Category, Code, VenueError
from bot4.core.events import ExecutionReport
from bot4.risk.breakers import Admission
from bot4.risk.pretrade import RiskEngine


class Breakers(Protocol):
    """What admission asks of breakers: one `CircuitBreaker`, or a board's `SymbolBreakers`."""

    def admit(self, now_ms: int) -> Admission: ...

    def record(
        self,
        now_ms: int,
        *,
        ok: bool = True,
        rejected: bool = False,
        error: bool = False,
        latency_us: int | None = None,
    ) -> None: ...

    def record_price(self, now_ms: int, price: int) -> None: ...


def breaker_refusal(breakers: Breakers | None, now: int) -> VenueError | None:
    """-9111 (retryable) naming the breaker that refuses an order now and its state, if one
    does; an admission in HALF_OPEN uses up one probe."""
    if breakers is None:
        return None
    admission = breakers.admit(now)
    if admission.allowed:
        return None
    state = admission.state.value if admission.state is not None else "open"
    return errors.risk(Code.RISK_BREAKER_OPEN,
                       f"Risk: circuit breaker {admission.breaker} is {state}.",
                       retryable=True)  # fmt: skip


def learn(
    breakers: Breakers | None,
    risk: RiskEngine | None,
    symbol: str,
    result: Any,
    reports: Sequence[ExecutionReport],
    now: int,
    latency_us: int | None = None,
) -> None:
    """Tell risk and the breakers how a new order went: its result and the reports it set off
    (a venue refusal releases what risk held; a refusal or an internal fault counts against
    the breakers, a taker trade's price feeds the volatility rule)."""
    if risk is not None:
        risk.on_result(symbol, result, reports, now)
    if breakers is None:
        return
    if isinstance(result, VenueError):
        breakers.record(now, ok=False, rejected=result.category in errors.REFUSALS,
                        error=result.category is Category.INTERNAL,
                        latency_us=latency_us)  # fmt: skip
    else:
        breakers.record(now, latency_us=latency_us)
    for r in reports:
        if r.trade_id >= 0 and not r.is_maker:
            breakers.record_price(now, r.last_price)
