"""A symbol's clock never runs back: a command older than it is refused (-9401), typed.

The bug: through the Python API, after orders at 1,700,000,000,000 ms an order at -1 was
accepted and reported with transactTime -1. The symbol's clock is the latest time of a
journaled command; an older command is refused before the journal and changes nothing. A
deposit has no time of its own (the API sends 0) and takes the clock's. After a restart the
journal gives the clock back, so the rule holds across restarts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import bot4
from bot4.api import Client
from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import Bot4Error, Category, Code, VenueError
from bot4.core.instruments import Instrument
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.results import Ack
from bot4.service.commands import Command, Deposit, decode
from bot4.service.journal import MemoryJournal
from bot4.service.symbol import SymbolService

T = 1_700_000_000_000
BID = NewOrder("a", Side.BUY, OrderType.LIMIT, 100, 2_990_000, TimeInForce.GTC)


def service(btc: Instrument, journal: MemoryJournal) -> SymbolService:
    return SymbolService(btc, journal, reference_price=3_000_000)


def test_an_older_command_is_refused_and_changes_nothing(btc: Instrument) -> None:
    journal = MemoryJournal()
    svc = service(btc, journal)
    svc.handle(Command("deposit", Deposit("a", "USDT", 10**15), 0))
    ack = svc.handle(Command("submit", BID, T))
    assert isinstance(ack, Ack) and ack.transact_time == T and svc.now == T
    before = svc.state_digest(), len(journal.data), svc.engine.seq
    for old in (-1, 0, T - 1):
        for command in (Command("submit", BID, old), Command("cancel", CancelOrder("a", 1), old)):
            refused = svc.handle(command)
            assert isinstance(refused, VenueError), refused
            assert refused.code == Code.TIME_BEHIND == -9401
            assert refused.category is Category.VALIDATION and not refused.retryable
            assert str(old) in refused.msg and str(T) in refused.msg
    assert (svc.state_digest(), len(journal.data), svc.engine.seq) == before
    same = svc.handle(Command("submit", BID, T))  # the same instant is not the past
    assert isinstance(same, Ack) and same.transact_time == T


def test_a_deposit_takes_the_symbols_time(btc: Instrument) -> None:
    journal = MemoryJournal()
    svc = service(btc, journal)
    svc.handle(Command("deposit", Deposit("a", "USDT", 10**15), 0))
    svc.handle(Command("submit", BID, T))
    assert svc.handle(Command("deposit", Deposit("b", "USDT", 5), 0)) is None
    assert decode(journal.data[-1]).now == T  # journaled at the clock's time
    assert svc.engine.ledger.balance("b", "USDT").free == 5


def test_refused_commands_do_not_move_the_clock_and_restarts_keep_it(btc: Instrument) -> None:
    """The clock is a fold over the journal: what was refused (here an unfunded order, refused
    by the engine after the journal, and a bad one refused before it) counts only if it was
    journaled, so a restarted symbol has the very same clock."""
    journal = MemoryJournal()
    svc = service(btc, journal)
    svc.handle(Command("deposit", Deposit("a", "USDT", 10**15), 0))
    svc.handle(Command("submit", BID, T))
    bad = svc.handle(Command("submit", BID._replace(quantity=-5), T + 10))
    assert isinstance(bad, VenueError) and svc.now == T + 10  # journaled (the engine refused)
    assert isinstance(svc.handle(Command("grant", None, T + 20)), VenueError)  # not journaled
    assert svc.now == T + 10
    again = service(btc, journal)
    assert again.now == T + 10 and again.state_digest() == svc.state_digest()
    refused = again.handle(Command("submit", BID, T + 9))
    assert isinstance(refused, VenueError) and refused.code == -9401


def test_the_desks_pushes_never_take_the_clock_back(btc: Instrument) -> None:
    """A kill switch pushed with an older time (the desk's clock lags) is applied at the
    symbol's time, not refused: the desk's word must always land."""
    from bot4.risk.config import RiskFile
    from bot4.risk.pretrade import RiskEngine

    journal = MemoryJournal()
    risk = RiskEngine(RiskFile.model_validate({"valuation_asset": "USDT"}), {"BTCUSDT": btc})
    svc = SymbolService(btc, journal, reference_price=3_000_000, risk=risk)
    svc.handle(Command("deposit", Deposit("a", "USDT", 10**15), 0))
    svc.handle(Command("submit", BID, T))
    acks = svc.set_state("a", "KILLED", "kill switch", now=5)
    assert len(acks) == 1 and acks[0].transact_time == T
    assert decode(journal.data[-1]).now == T


@pytest.fixture()
def client(ray_local: None, tmp_path: Path) -> Iterator[Client]:
    c = bot4.connect(symbols=["BTCUSDT"], journal_dir=tmp_path, fsync="never",
                     reference_prices={"BTCUSDT": 3_000_000})  # fmt: skip
    try:
        yield c
    finally:
        c.shutdown()


def test_through_the_python_api_an_order_in_the_past_is_refused(client: Client) -> None:
    """The issue's reproduction: orders at 1,700,000,000,000 ms, then one at -1."""
    client.deposit("a", "BTCUSDT", "USDT", 10**15)
    assert client.submit("BTCUSDT", BID, T).transact_time == T
    with pytest.raises(Bot4Error) as err:
        client.submit("BTCUSDT", BID, -1)
    assert err.value.code == -9401
    digest = client.state_digest("BTCUSDT")
    results = client.submit_batch({"BTCUSDT": [BID, BID]}, T - 1)["BTCUSDT"]
    assert [getattr(r, "code", None) for r in results] == [-9401, -9401]
    assert client.state_digest("BTCUSDT") == digest
    client.deposit("b", "BTCUSDT", "USDT", 7)  # time 0: takes the symbol's
    assert client.balances("BTCUSDT", "b")["USDT"] == (7, 0)
