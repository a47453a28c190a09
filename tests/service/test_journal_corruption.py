"""A journal that cannot be replayed stops its symbol with the file and line, never past it.

Each case used to raise inside `SymbolService.__init__`, so a restarting actor failed forever
without saying why. Now the service comes up *stopped*: its state is what the lines before the
bad one built, every request is answered -9501 naming the journal and the line, and nothing is
appended, so the bad line is never buried. Only a torn last line (a write cut by a crash,
never acknowledged) is cut, as before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import Category, Code, VenueError
from bot4.core.instruments import Instrument
from bot4.core.orders import NewOrder
from bot4.risk.config import RiskFile
from bot4.risk.pretrade import RiskEngine
from bot4.service.commands import Command, Deposit, encode
from bot4.service.idempotency import MemoryIdempotencyStore
from bot4.service.journal import FileJournal, MemoryJournal
from bot4.service.symbol import SymbolService

ORDERS = [Command("deposit", Deposit("a", "USDT", 10**15), 0),
          Command("deposit", Deposit("a", "BTC", 10**12), 0)] + [
    Command("submit", NewOrder("a", Side.BUY, OrderType.LIMIT, 100, 2_990_000 + i,
                               TimeInForce.GTC), 10 + i) for i in range(5)]  # fmt: skip


def write(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def good_lines() -> list[bytes]:
    return [encode(c) for c in ORDERS]


def digest_after(count: int, btc: Instrument) -> str:
    """The state the first `count` commands build."""
    service = SymbolService(btc, MemoryJournal(), reference_price=3_000_000)
    service.handle_batch(ORDERS[:count])
    return service.state_digest()


@pytest.mark.parametrize(
    ("name", "bad", "at"),
    [
        ("a complete but corrupt last line", b'{"k":"submit","n":99,"r":{"f":[1,2]}\n', 8),
        ("a blank line in the middle", b"\n", 4),
        ("garbage in the middle", b"\x00\xff not json at all\n", 3),
        ("an unknown kind", b'{"k":"explode","n":1,"r":null}\n', 5),
        (
            "a time that is not an int",
            b'{"k":"deposit","n":"1","r":{"f":["a","BTC",1],"t":"Deposit"}}\n',
            2,
        ),
        (
            "a request of a type the journal does not know",
            b'{"k":"submit","n":1,"r":{"f":[],"t":"Bogus"}}\n',
            6,
        ),
    ],
)
def test_a_bad_line_stops_the_symbol_at_that_line(
    tmp_path: Path, btc: Instrument, name: str, bad: bytes, at: int
) -> None:
    path = tmp_path / "BTCUSDT.journal"
    lines = good_lines()
    lines.insert(at - 1, bad)
    write(path, lines)
    journal = FileJournal(path, fsync="never")
    assert journal.dropped == 0  # a complete line is not a torn write: nothing is cut
    service = SymbolService(btc, journal, reference_price=3_000_000,
                            idempotency=MemoryIdempotencyStore(100, 60_000))  # fmt: skip
    failure = service.failure
    assert failure is not None, name
    assert failure.code == Code.SYMBOL_STOPPED == -9501
    assert failure.category is Category.INTERNAL and not failure.retryable
    assert str(path) in failure.msg and f"line {at} " in failure.msg, failure.msg
    assert service.failed_line == at and service.recovered == at - 1
    # the state is exactly what the lines before it built
    assert service.state_digest() == digest_after(at - 1, btc)
    # every request is refused and nothing is appended after the bad line
    before = path.read_bytes()
    new = Command("submit", NewOrder("a", Side.SELL, OrderType.LIMIT, 1, 3_100_000,
                                     TimeInForce.GTC), 100)  # fmt: skip
    assert service.handle(new) is failure
    assert service.handle_batch([new, new]) == [failure, failure]
    assert service.handle_part("r", [new]) == [failure]
    assert service.set_state("a", "KILLED", "x") is failure and service.reclaim("a", 5) == 0
    journal.close()
    assert path.read_bytes() == before


def test_a_line_the_engine_cannot_apply_also_stops_it(tmp_path: Path, btc: Instrument) -> None:
    """A line that decodes but makes replay raise (here a grant of a total that is not a
    number) is reported as 'could not be replayed'."""
    path = tmp_path / "BTCUSDT.journal"
    lines = good_lines()
    lines.insert(2, b'{"k":"grant","n":1,"r":{"f":["a","lots"],"t":"Grant"}}\n')
    write(path, lines)
    config = RiskFile.model_validate({"valuation_asset": "USDT",
                                      "account": {"max_gross_exposure": "1000"}})  # fmt: skip
    risk = RiskEngine(config, {"BTCUSDT": btc}, leased=True)
    service = SymbolService(btc, FileJournal(path, fsync="never"), risk=risk)
    assert service.failure is not None and service.failed_line == 3
    assert "could not be replayed" in service.failure.msg, service.failure.msg


def test_a_torn_last_line_is_still_cut_and_the_symbol_runs(tmp_path: Path, btc: Instrument) -> None:
    path = tmp_path / "BTCUSDT.journal"
    write(path, [*good_lines(), b'{"k":"submit","n":99,"r":{"f":["a"'])  # no newline: torn
    journal = FileJournal(path, fsync="never")
    assert journal.dropped > 0
    service = SymbolService(btc, journal, reference_price=3_000_000)
    assert service.failure is None and service.recovered == len(ORDERS)
    assert service.state_digest() == digest_after(len(ORDERS), btc)
    ack = service.handle(Command("deposit", Deposit("b", "USDT", 1), 50))
    assert not isinstance(ack, VenueError)


def test_a_repaired_journal_replays_in_full(tmp_path: Path, btc: Instrument) -> None:
    """The operator's way out: fix (or drop) the line, restart, and the symbol runs again."""
    path = tmp_path / "BTCUSDT.journal"
    lines = good_lines()
    write(path, [*lines[:3], b"\n", *lines[3:]])
    assert SymbolService(btc, FileJournal(path, fsync="never")).failed_line == 4
    write(path, lines)
    repaired = SymbolService(btc, FileJournal(path, fsync="never"), reference_price=3_000_000)
    assert repaired.failure is None and repaired.state_digest() == digest_after(len(ORDERS), btc)


@pytest.mark.usefixtures("ray_local")
def test_a_symbol_actor_on_a_corrupt_journal_stays_up_and_says_why(tmp_path: Path) -> None:
    """The actor comes up stopped (not crash-looping): orders and queries raise -9501 naming
    the file and line, `health` (what `bot4 status` shows) says so, and after the journal is
    repaired (the bad line and what follows cut) a new actor trades on from the good part."""
    import ray

    import bot4

    journal_dir = tmp_path / "j"
    journal_dir.mkdir()
    path = journal_dir / "BTCUSDT.journal"
    lines = good_lines()
    write(path, [*lines[:3], b'{"kind": "submit", "not": "an order"}\n', *lines[3:]])
    client = bot4.connect(symbols=["BTCUSDT"], journal_dir=journal_dir, fsync="never",
                          reference_prices={"BTCUSDT": 3_000_000})  # fmt: skip
    try:
        order = ORDERS[2].request
        for call in (lambda: client.submit("BTCUSDT", order, 100),
                     lambda: client.balances("BTCUSDT", "a"),
                     lambda: client.get_order("BTCUSDT", "a", 1),
                     lambda: client.events("BTCUSDT")):  # fmt: skip
            with pytest.raises(Exception) as raised:
                call()
            assert getattr(raised.value, "code", None) == Code.SYMBOL_STOPPED
            assert f"{path} line 4" in str(raised.value)
        health = ray.get(client.actors["BTCUSDT"].health.remote(), timeout=60)
        assert health["failed_line"] == 4 and health["recovered"] == 3
        assert health["stopped"] is not None and "line 4" in health["stopped"]
        assert path.read_bytes().count(b"\n") == len(lines) + 1  # nothing appended
    finally:
        client.shutdown()
    write(path, lines[:3])  # the repair: cut the journal at the bad line
    client = bot4.connect(symbols=["BTCUSDT"], journal_dir=journal_dir, fsync="never",
                          reference_prices={"BTCUSDT": 3_000_000})  # fmt: skip
    try:
        ack = client.submit("BTCUSDT", order, 100)
        assert ack.order_id == 2  # order 1 came back from the journal
        assert ray.get(client.actors["BTCUSDT"].health.remote(), timeout=60)["stopped"] is None
    finally:
        client.shutdown()
