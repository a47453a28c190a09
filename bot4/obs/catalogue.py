"""Every metric bot4 exports: name, kind, help text, tags and (histograms) buckets.

Names are given without a unit suffix of the exporter: prometheus-client and Ray both add
``_total`` to counters, and histograms get ``_bucket``/``_sum``/``_count``. Inside Ray the
metrics agent also prefixes application metrics with ``ray_`` (so ``bot4_orders`` is scraped
as ``ray_bot4_orders_total``); the dashboards in ``dashboards/`` use those names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge", "histogram"]


def log_buckets(low: float, high: float, per_decade: int) -> tuple[float, ...]:
    """Upper bounds from `low` to `high`, `per_decade` per factor of ten (for reading p99.9
    from a histogram, neighbouring bounds should differ by well under 2x)."""
    bounds: list[float] = []
    k = 0
    while True:
        value = low * 10 ** (k / per_decade)
        if value > high * (1 + 1e-9):
            return tuple(bounds)
        bounds.append(float(f"{value:.6g}"))
        k += 1


LATENCY_BUCKETS = log_buckets(1e-6, 10.0, 10)  # 1 µs to 10 s, 26% apart


@dataclass(frozen=True)
class Spec:
    """One metric."""

    name: str
    kind: Kind
    help: str
    tags: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()


SPECS: tuple[Spec, ...] = (
    Spec("bot4_orders", "counter", "Order requests by type and outcome (the order's status "
         "after the request, or REJECTED).", ("symbol", "type", "outcome")),
    Spec("bot4_rejects", "counter", "Refused requests by error code.", ("symbol", "code")),
    Spec("bot4_fills", "counter", "Fills (one per side of a trade) by liquidity.",
         ("symbol", "liquidity")),
    Spec("bot4_traded_notional", "counter", "Traded notional in the quote asset (taker side).",
         ("symbol", "quote")),
    Spec("bot4_fees", "counter", "Commission charged, in the asset it was charged in.",
         ("symbol", "asset")),
    Spec("bot4_match_latency_seconds", "histogram", "Time the symbol spends on one command "
         "(guard, idempotency, risk, journal and matching).", ("symbol",), LATENCY_BUCKETS),
    Spec("bot4_submit_latency_seconds", "histogram", "Client round trip of a submit, from the "
         "call to the acknowledgement.", ("symbol", "path"), LATENCY_BUCKETS),
    Spec("bot4_journal_append_seconds", "histogram", "Time to make a command or a batch "
         "durable in the journal (flush, and fsync with fsync always): how long durability "
         "holds up an answer.", ("symbol",), LATENCY_BUCKETS),
    Spec("bot4_mailbox_depth", "gauge", "Calls a client has queued on a symbol actor and not "
         "seen answered.", ("symbol",)),
    Spec("bot4_mailbox_sheds", "counter", "Calls refused because a mailbox was full (-9301).",
         ("symbol",)),
    Spec("bot4_trading_state", "gauge", "1 for an account's current trading state (accounts "
         "that are not ACTIVE, and those that were).", ("account", "state")),
    Spec("bot4_risk_breaches", "counter", "Loss-limit breaches that changed an account's state.",
         ("account", "state")),
    Spec("bot4_kill_switch", "counter", "Kill switch engagements.", ("account",)),
    Spec("bot4_breaker_state", "gauge", "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
         ("symbol", "breaker")),
    Spec("bot4_symbol_stopped", "gauge", "1 while a symbol refuses everything (-9501) because "
         "its journal could not be replayed; 0 when it started cleanly.", ("symbol",)),
    Spec("bot4_sequence_gaps", "counter", "Execution-report sequence gaps a subscriber saw "
         "(reports it missed).", ("symbol",)),
    Spec("bot4_sim_orders", "counter", "Orders the market simulator sent, by kind.",
         ("symbol", "kind")),
    Spec("bot4_sim_trades", "counter", "Trades the simulator's flow made.", ("symbol",)),
)  # fmt: skip

BY_NAME = {spec.name: spec for spec in SPECS}
