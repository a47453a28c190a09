"""Commands as journal lines, the file journal, and a symbol rebuilt exactly from its journal."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot4.core.commands import Command, Deposit, decode, encode
from bot4.core.enums import CancelReplaceMode, OrderType, Side, StpMode, TimeInForce
from bot4.core.errors import VenueError
from bot4.core.instruments import Instrument
from bot4.core.orders import (
    AmendOrder,
    CancelOrder,
    CancelOrderList,
    CancelReplace,
    ListLeg,
    NewOco,
    NewOrder,
    NewOto,
)
from bot4.infra.journal import FileJournal
from bot4.sim.service import MemoryJournal, SymbolService

BUY, SELL = Side.BUY, Side.SELL


def order_stream(n: int, seed: int) -> list[Command]:
    """Deposits, then limit and market orders around 30000 and cancels of earlier ones."""
    rng = random.Random(seed)
    out = [Command("deposit", Deposit(a, asset, 10**15), 0)
           for a in ("a", "b", "c") for asset in ("BTC", "USDT")]  # fmt: skip
    for i in range(n):
        account = rng.choice("abc")
        if rng.random() < 0.3 and i:
            out.append(Command("cancel", CancelOrder(account, rng.randint(1, i)), i))
            continue
        side = rng.choice([BUY, SELL])
        qty = rng.randint(100, 5_000)
        if rng.random() < 0.15:
            req = NewOrder(account, side, OrderType.MARKET, qty)
        else:
            req = NewOrder(account, side, OrderType.LIMIT, qty, 3_000_000 + rng.randint(-50, 50),
                           TimeInForce.GTC, client_order_id=f"c{i}")  # fmt: skip
        out.append(Command("submit", req, i))
    return out


def test_every_kind_of_command_round_trips() -> None:
    leg = ListLeg(OrderType.LIMIT_MAKER, price=11_000, client_order_id="x")
    new = NewOrder("a", BUY, OrderType.LIMIT, 5, 100, TimeInForce.GTC, stp_mode=StpMode.NONE)
    commands = [
        Command("submit", new, 1),
        Command("cancel", CancelOrder("a", 3, None), 2),
        Command("amend", AmendOrder("a", 2, 3), 3),
        Command("cancel_replace",
                CancelReplace(CancelOrder("a", 3), new, CancelReplaceMode.ALLOW_FAILURE), 4),
        Command("oco", NewOco("a", SELL, 5, leg, ListLeg(OrderType.STOP_LOSS, stop_price=9)), 5),
        Command("oto", NewOto(new, new._replace(side=SELL)), 6),
        Command("cancel_list", CancelOrderList("a", 0), 7),
        Command("deposit", Deposit("a", "USDT", 10), 8),
    ]  # fmt: skip
    for command in commands:
        line = encode(command)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert decode(line) == command and encode(decode(line)) == line


@given(st.integers(0, 10**12), st.integers(0, 10**9), st.sampled_from(list(OrderType)),
       st.none() | st.text(alphabet="ab-_1", max_size=36), st.integers(0, 2**40))
def test_orders_round_trip(qty: int, price: int, otype: OrderType, cid: str | None,
                           now: int) -> None:  # fmt: skip
    command = Command("submit", NewOrder("acct", SELL, otype, qty, price, None, 0, cid), now)
    assert decode(encode(command)) == command


@pytest.mark.parametrize("line", [b"", b"{}", b"not json", b'{"k":"fly","n":1,"r":null}',
                                  b'{"k":"submit","n":"1","r":null}'])  # fmt: skip
def test_malformed_lines_are_refused(line: bytes) -> None:
    with pytest.raises(ValueError):
        decode(line)


def test_unknown_kinds_and_values_are_not_journaled(btc: Instrument) -> None:
    with pytest.raises(ValueError):
        encode(Command("explode", None, 1))
    service = SymbolService(btc, MemoryJournal())
    bad = service.handle(Command("submit", NewOrder("a", BUY, OrderType.LIMIT, 1.5, 1), 1))  # type: ignore[arg-type]
    assert isinstance(bad, VenueError) and bad.code == -1130
    assert service.journal.data == [] and service.applied == 0  # type: ignore[attr-defined]
    assert isinstance(service.handle(Command("deposit", Deposit("a", "BTC", -1), 2)), VenueError)


def test_a_symbol_rebuilt_from_its_journal_has_the_same_state(btc: Instrument) -> None:
    journal = MemoryJournal()
    first = SymbolService(btc, journal, reference_price=3_000_000)
    results = first.handle_batch(order_stream(3_000, seed=4))
    assert sum(1 for r in results if getattr(r, "reports", None)) > 1_500
    again = SymbolService(btc, journal, reference_price=3_000_000)
    assert again.recovered == first.applied == len(journal.data)
    assert again.state_digest() == first.state_digest()


def test_file_journal_survives_a_cut_off_write(tmp_path: Path, btc: Instrument) -> None:
    path = tmp_path / "j" / "BTCUSDT.journal"
    journal = FileJournal(path, fsync="never")
    service = SymbolService(btc, journal, reference_price=3_000_000)
    service.handle_batch(order_stream(200, seed=1))
    digest = service.state_digest()
    journal.close()
    with open(path, "ab") as fh:  # a crash in the middle of the next write
        fh.write(encode(order_stream(1, seed=9)[-1])[:20])
    reopened = FileJournal(path, fsync="always")
    assert reopened.dropped == 20
    rebuilt = SymbolService(btc, reopened, reference_price=3_000_000)
    assert rebuilt.state_digest() == digest and rebuilt.recovered == 206
    rebuilt.handle(Command("deposit", Deposit("z", "USDT", 1), 500))
    reopened.close()
    assert len(path.read_bytes().splitlines()) == 207
    with pytest.raises(ValueError):
        FileJournal(path, fsync="sometimes")  # type: ignore[arg-type]


def test_file_journal_lines_are_durable_at_commit(tmp_path: Path) -> None:
    """Appends are buffered; `commit` writes them out together (group commit)."""
    path = tmp_path / "BTCUSDT.journal"
    journal = FileJournal(path, fsync="always")
    journal.append(b"one\n")
    journal.append(b"two\n")
    assert path.read_bytes() == b""
    journal.commit()
    assert path.read_bytes() == b"one\ntwo\n" and list(journal.lines()) == [b"one\n", b"two\n"]
    journal.close()


def test_events_since_reads_the_kept_window(btc: Instrument) -> None:
    service = SymbolService(btc, MemoryJournal(), reference_price=3_000_000, keep_events=50)
    service.handle_batch(order_stream(200, seed=2))
    last = service.engine.seq
    kept = service.events_since(0)
    assert len(kept) == 50 and [r.seq for r in kept] == list(range(last - 49, last + 1))
    assert [r.seq for r in service.events_since(last - 3)] == [last - 2, last - 1, last]
    assert service.events_since(last) == [] and len(service.events_since(0, limit=7)) == 7


def test_a_retried_order_gets_its_first_answer_even_after_a_restart(btc: Instrument) -> None:
    from bot4.core.idempotency import MemoryIdempotencyStore

    journal = MemoryJournal()

    def service() -> SymbolService:
        return SymbolService(btc, journal, reference_price=3_000_000,
                             idempotency=MemoryIdempotencyStore(1_000, 60_000))  # fmt: skip

    first = service()
    first.handle_batch(order_stream(0, seed=1))  # deposits
    order = NewOrder("a", SELL, OrderType.LIMIT, 500, 3_000_000, TimeInForce.GTC,
                     client_order_id="retry-me")  # fmt: skip
    ack = first.handle(Command("submit", order, 10))
    again = first.handle(Command("submit", order, 20))  # the client timed out and retried
    assert again == ack and len(journal.data) == 7  # answered, not journaled, not placed
    conflict = first.handle(Command("submit", order._replace(price=3_000_100), 30))
    assert isinstance(conflict, VenueError) and conflict.code == -9203
    # the actor restarts: the journal refills the store
    second = service()
    assert second.state_digest() == first.state_digest()
    assert second.handle(Command("submit", order, 40)) == ack
    other = second.handle(Command("submit", order._replace(client_order_id="new"), 50))
    assert other.order_id == ack.order_id + 1  # type: ignore[union-attr]
    # a plain order (no client id) is never keyed
    plain = order._replace(client_order_id=None)
    assert second.handle(Command("submit", plain, 60)) != second.handle(
        Command("submit", plain, 61))
