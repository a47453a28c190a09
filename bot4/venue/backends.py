"""The engine's two implementations: the Python specification and the native core.

`new_ledger`, `new_fee_book` and `new_engine` build either behind one API; `Venue` and
`SymbolService` take the same `backend`. The native one (`bot4.venue.native`) is the default;
the Python engine stays the executable specification of the venue, and the native one answers
the same, byte for byte.
"""

from __future__ import annotations

from typing import Literal, overload

from bot4.core.accounts import Ledger
from bot4.core.fees import FeeSchedule
from bot4.core.instruments import Instrument
from bot4.venue.engine import MatchingEngine
from bot4.venue.feebook import FeeBook
from bot4.venue.limits import ExchangeLimits
from bot4.venue.native import NativeEngine
from bot4.venue.nativeledger import NativeFeeBook, NativeLedger
from bot4.venue.rules import EventSink

Backend = Literal["python", "native"]
BACKENDS: tuple[Backend, ...] = ("python", "native")
DEFAULT_BACKEND: Backend = "native"


def check_backend(backend: object) -> Backend:
    """`backend` if it names one, else ValueError saying which there are."""
    if backend == "python":
        return "python"
    if backend == "native":
        return "native"
    raise ValueError(f"unknown engine backend {backend!r}: use 'python' or 'native'")


@overload
def new_ledger(backend: Literal["python"]) -> Ledger: ...
@overload
def new_ledger(backend: Literal["native"]) -> NativeLedger: ...
@overload
def new_ledger(backend: Backend = ...) -> Ledger | NativeLedger: ...
def new_ledger(backend: Backend = DEFAULT_BACKEND) -> Ledger | NativeLedger:
    """An empty ledger for engines of `backend`."""
    return NativeLedger() if check_backend(backend) == "native" else Ledger()


def new_fee_book(
    schedule: FeeSchedule | None, ledger: Ledger | NativeLedger
) -> FeeBook | NativeFeeBook:
    """The venue's fee book over `ledger`, of the ledger's backend."""
    if isinstance(ledger, NativeLedger):
        return NativeFeeBook(schedule, ledger)
    return FeeBook(schedule, ledger)


def new_engine(
    instrument: Instrument,
    ledger: Ledger | NativeLedger | None = None,
    *,
    backend: Backend = DEFAULT_BACKEND,
    reference_price: int | None = None,
    history: int = 10_000,
    on_events: EventSink | None = None,
    fees: FeeBook | NativeFeeBook | None = None,
    exchange: ExchangeLimits | None = None,
) -> MatchingEngine | NativeEngine:
    """A matching engine of `backend` on `ledger` (a new one of the same backend if None);
    the other arguments are `MatchingEngine`'s."""
    if check_backend(backend) == "native":
        if ledger is not None and not isinstance(ledger, NativeLedger):
            raise TypeError("a native engine keeps its balances in a NativeLedger")
        return NativeEngine(
            instrument, ledger, reference_price=reference_price, history=history,
            on_events=on_events, fees=fees, exchange=exchange,
        )  # fmt: skip
    if ledger is not None and not isinstance(ledger, Ledger):
        raise TypeError("a Python engine keeps its balances in a Ledger")
    if fees is not None and not isinstance(fees, FeeBook):
        raise TypeError("a Python engine charges through a FeeBook")
    return MatchingEngine(
        instrument, ledger, reference_price=reference_price, history=history,
        on_events=on_events, fees=fees, exchange=exchange,
    )  # fmt: skip
