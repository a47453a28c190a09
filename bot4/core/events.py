"""Execution reports: the engine's event log, one report per order change.

A report carries what Binance's executionReport carries, in engine units, plus `seq`, the
symbol's event sequence number (strictly increasing, no gaps). `encode` gives the canonical
bytes a journal stores and a test hashes; `to_venue` gives the venue's JSON field names and
decimal strings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from bot4.core.enums import (
    ContingencyType,
    ExecutionType,
    ExpiryReason,
    ListOrderStatus,
    ListStatusType,
    OrderStatus,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)
from bot4.core.money import format_units

if TYPE_CHECKING:
    from bot4.core.instruments import Instrument


class ExecutionReport(NamedTuple):
    # what the order is (the same in each of its reports)
    symbol: str
    account: str
    order_id: int
    client_order_id: str  # on a cancel: the cancel's own id (Binance "c")
    side: Side
    type: OrderType
    time_in_force: TimeInForce | None
    price: int  # ticks
    orig_qty: int  # lots
    quote_order_qty: int  # quote units
    creation_time: int
    working_time: int  # -1 while a stop order waits for its trigger
    stp_mode: StpMode
    stop_price: int  # ticks, 0 if none
    trailing_delta: int  # basis points, 0 if none
    order_list_id: int  # -1 when not in a list
    # what this event did
    seq: int
    orig_client_order_id: str  # the order's own id on a cancel (Binance "C"), else ""
    execution_type: ExecutionType
    status: OrderStatus
    expiry_reason: ExpiryReason
    last_qty: int  # lots
    last_price: int  # ticks
    cum_qty: int  # lots
    cum_quote: int  # tick-lots
    commission: int  # units of commission_asset
    commission_asset: str  # "" when no trade
    trade_id: int  # -1 when not a trade
    is_maker: bool
    is_working: bool  # on the book after this event
    transact_time: int
    # self-trade prevention (Binance v, A, B, pL, U); -1/0 when none
    prevented_match_id: int
    prevented_qty: int  # lots, cumulative
    last_prevented_qty: int  # lots, this event
    prevented_price: int  # ticks: the price the prevented match would have traded at
    counter_order_id: int


def encode(report: ExecutionReport) -> bytes:
    """Canonical one-line form: every field, enums by value, '|' separated."""
    parts = []
    for value in report:
        if value is None:
            parts.append("")
        elif isinstance(value, bool):
            parts.append("1" if value else "0")
        elif hasattr(value, "value"):
            parts.append(str(value.value))
        else:
            parts.append(str(value))
    return ("|".join(parts) + "\n").encode()


def digest(reports: Iterable[ExecutionReport]) -> str:
    """SHA-256 over the canonical encoding of a stream of reports."""
    h = hashlib.sha256()
    for report in reports:
        h.update(encode(report))
    return h.hexdigest()


FEE_ASSET_UNIT = Decimal("0.00000001")
"""The unit of a commission paid in neither base nor quote (BNB, 8 decimals, by default)."""


def commission_unit(instrument: Instrument, asset: str, fee_unit: Decimal) -> Decimal:
    """The unit a commission in `asset` is counted in: base, quote, or the fee asset's."""
    if asset == instrument.base:
        return instrument.base_unit
    return instrument.quote_unit if asset == instrument.quote or not asset else fee_unit


def to_venue(
    report: ExecutionReport, instrument: Instrument, fee_unit: Decimal = FEE_ASSET_UNIT
) -> dict[str, Any]:
    """The report as Binance's user-data-stream executionReport (decimal strings, ms times).

    `fee_unit` is the unit of a commission paid in the fee asset (BNB)."""
    tick, step = instrument.tick, instrument.step
    ticklot = tick * step
    out: dict[str, Any] = {
        "e": "executionReport",
        "E": report.transact_time,
        "s": report.symbol,
        "c": report.client_order_id,
        "S": report.side.value,
        "o": report.type.value,
        "f": report.time_in_force.value if report.time_in_force else "GTC",
        "q": format_units(report.orig_qty, step),
        "p": format_units(report.price, tick),
        "C": report.orig_client_order_id,
        "x": report.execution_type.value,
        "X": report.status.value,
        "r": "NONE",
        "i": report.order_id,
        "l": format_units(report.last_qty, step),
        "z": format_units(report.cum_qty, step),
        "L": format_units(report.last_price, tick),
        "n": format_units(
            report.commission, commission_unit(instrument, report.commission_asset, fee_unit)
        ),
        "N": report.commission_asset or None,
        "T": report.transact_time,
        "t": report.trade_id,
        "w": report.is_working,
        "m": report.is_maker,
        "O": report.creation_time,
        "Z": format_units(report.cum_quote, ticklot),
        "Y": format_units(report.last_qty * report.last_price, ticklot),
        "Q": format_units(report.quote_order_qty, instrument.quote_unit),
        "W": report.working_time,
        "eR": report.expiry_reason.value,
        "g": report.order_list_id,
        "V": report.stp_mode.value,
        "P": format_units(report.stop_price, tick),
        "seq": report.seq,
    }
    if report.trailing_delta:
        out["d"] = report.trailing_delta
    if report.prevented_match_id >= 0:
        out["v"] = report.prevented_match_id
        out["A"] = format_units(report.prevented_qty, step)
        out["B"] = format_units(report.last_prevented_qty, step)
        out["U"] = report.counter_order_id
        out["pl"] = format_units(report.last_prevented_qty, step)
        out["pL"] = format_units(report.prevented_price, tick)
        out["pY"] = format_units(report.last_prevented_qty * report.prevented_price, ticklot)
    return out


class ListStatus(NamedTuple):
    """Binance's listStatus event: an order list started, changed or finished.

    It rides with the execution reports of the same request and takes no sequence number of
    its own (`seq` is that of the latest report before it): it is derived from those reports.
    """

    seq: int
    symbol: str
    order_list_id: int
    contingency_type: ContingencyType
    list_status_type: ListStatusType
    list_order_status: ListOrderStatus
    list_client_order_id: str
    transact_time: int
    orders: tuple[tuple[int, str], ...]  # (orderId, clientOrderId) per leg

    def to_venue(self) -> dict[str, Any]:
        """The venue's listStatus field names."""
        return {
            "e": "listStatus",
            "E": self.transact_time,
            "s": self.symbol,
            "g": self.order_list_id,
            "c": self.contingency_type.value,
            "l": self.list_status_type.value,
            "L": self.list_order_status.value,
            "r": "NONE",
            "C": self.list_client_order_id,
            "T": self.transact_time,
            "O": [{"s": self.symbol, "i": i, "c": c} for i, c in self.orders],
        }


class Gap(NamedTuple):
    """Reports a reader never saw: sequence numbers `first`..`last` of `symbol`."""

    symbol: str
    first: int
    last: int


class SequenceTracker:
    """Follows each symbol's report stream and says when reports were lost or replayed.

    Sequence numbers start at 1 and grow by exactly 1 per report; a jump is a gap (lost
    events: resynchronise), a number at or below the last one seen is a duplicate to drop.
    """

    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    def observe(self, report: ExecutionReport) -> Gap | None:
        """Record one report; the gap before it, if any. Duplicates raise `ValueError`."""
        last = self.last.get(report.symbol, 0)
        if report.seq <= last:
            raise ValueError(f"{report.symbol}: seq {report.seq} already seen (last {last})")
        self.last[report.symbol] = report.seq
        if report.seq == last + 1:
            return None
        return Gap(report.symbol, last + 1, report.seq - 1)
