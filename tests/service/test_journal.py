"""Commands as journal lines, the file journal, and a symbol rebuilt exactly from its journal."""

from __future__ import annotations

import random
from enum import Enum
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot4.core import enums
from bot4.core.enums import (
    CancelReplaceMode,
    CancelRestriction,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)
from bot4.core.errors import Category, VenueError
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
from bot4.service import commands
from bot4.service.commands import Command, Deposit, decode, encode
from bot4.service.journal import FileJournal, MemoryJournal
from bot4.service.nativeidempotency import new_idempotency_store
from bot4.service.symbol import SymbolService
from bot4.venue.backends import Backend

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


@given(
    st.integers(0, 10**12),
    st.integers(0, 10**9),
    st.sampled_from(list(OrderType)),
    st.none() | st.text(alphabet="ab-_1", max_size=36),
    st.integers(0, 2**40),
)
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


@pytest.mark.parametrize("keep", [0, 1, 50, 100_000])
def test_events_since_is_the_same_from_either_engine(btc: Instrument, keep: int) -> None:
    """The native engine keeps its reports itself (no Python object held per report); what
    `events_since` answers is what the Python engine's deque answers, window and all."""
    spec, native = (
        SymbolService(btc, MemoryJournal(), reference_price=3_000_000, keep_events=keep, backend=b)
        for b in ("python", "native")
    )
    for i in range(4):
        stream = [c._replace(now=c.now + 1_000 * i) for c in order_stream(150, seed=10 + i)]
        assert spec.handle_batch(stream) == native.handle_batch(stream)
        last = spec.engine.seq
        for seq, limit in [(0, 10_000), (-5, 7), (last - 3, 10), (last - 60, 20), (last, 5),
                           (last + 9, 5), (3, 0), (2**64, 5), (-(2**70), 3)]:  # fmt: skip
            assert native.events_since(seq, limit) == spec.events_since(seq, limit), (seq, limit)
    assert native.events_since("0", 5) == spec.events_since("0", 5) == []  # type: ignore[arg-type]
    assert native._native is not None and native._native.kept_reports() == (min(keep, last), keep)


def test_a_batch_keeps_its_reports_for_events_since_too(btc: Instrument) -> None:
    from bot4.venue.batch import encode_requests
    from bot4.venue.native import NativeEngine

    per_call = funded_native(btc)
    batched = funded_native(btc)
    requests = [(c.now, c.request) for c in order_stream(120, seed=7) if c.kind == "submit"]
    for now, request in requests:
        per_call.submit(request, now)
    batched.submit_batch(encode_requests(requests))
    assert isinstance(batched, NativeEngine) and batched.kept_reports()[0] > 0
    assert batched.events_since(-1, 10**6) == per_call.events_since(-1, 10**6)


def funded_native(btc: Instrument) -> Any:
    from bot4.venue.backends import new_engine

    engine = new_engine(btc, backend="native", reference_price=3_000_000)
    engine.keep_reports(1_000)
    for account in ("a", "b", "c"):
        for asset in ("BTC", "USDT"):
            engine.ledger.deposit(account, asset, 10**15)
    return engine


def test_events_since_reads_the_kept_window(btc: Instrument) -> None:
    service = SymbolService(btc, MemoryJournal(), reference_price=3_000_000, keep_events=50)
    service.handle_batch(order_stream(200, seed=2))
    last = service.engine.seq
    kept = service.events_since(0)
    assert len(kept) == 50 and [r.seq for r in kept] == list(range(last - 49, last + 1))
    assert [r.seq for r in service.events_since(last - 3)] == [last - 2, last - 1, last]
    assert service.events_since(last) == [] and len(service.events_since(0, limit=7)) == 7


@pytest.mark.parametrize("store", ["python", "native"])
def test_a_retried_order_gets_its_first_answer_even_after_a_restart(
    btc: Instrument, store: Backend
) -> None:
    journal = MemoryJournal()

    def service() -> SymbolService:
        keys = new_idempotency_store(1_000, 60_000, backend=store)
        return SymbolService(btc, journal, reference_price=3_000_000, idempotency=keys)

    first = service()
    first.handle_batch(order_stream(0, seed=1))  # deposits
    order = NewOrder("a", SELL, OrderType.LIMIT, 500, 3_000_000, TimeInForce.GTC,
                     client_order_id="retry-me")  # fmt: skip
    ack = first.handle(Command("submit", order, 10))
    again = first.handle(Command("submit", order, 20))  # the client timed out and retried
    assert again == ack and len(journal.data) == 7  # answered, not journaled, not placed
    assert again.status is ack.status and again.reports[0].side is ack.reports[0].side
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
        Command("submit", plain, 61)
    )
    # a deposit to an account that is not Unicode is refused, and replays the same
    bad = second.handle(Command("deposit", Deposit("x\ud800", "USDT", 5), 65))
    assert isinstance(bad, VenueError) and bad.code == -1130
    assert service().state_digest() == second.state_digest()
    # a client id no store can hold (a lone surrogate) is not keyed: the venue refuses it
    odd = order._replace(client_order_id="bad\ud800")
    refused = second.handle(Command("submit", odd, 70))
    assert isinstance(refused, VenueError) and refused == second.handle(Command("submit", odd, 71))


# ------------------------------------------------- encode's fast path against the generic one

MEMBERS: list[Enum] = [m for obj in vars(enums).values()
                       if isinstance(obj, type) and issubclass(obj, Enum) for m in obj]  # fmt: skip
ODD_TEXT = st.text(st.characters(exclude_categories=[]), max_size=12) | st.sampled_from(
    ['"', "\\", 'a"b\\c', "\x00\x1f\x7f", "\u2028\u2029", "üñí€", "\ud800", "😀", "</script>"]
)  # control characters, quotes, backslashes, lone surrogates, non-BMP
BIG_INTS = st.integers() | st.sampled_from([0, -1, 2**63, -(2**63) - 1, 10**40, -(10**40)])
KINDS = st.sampled_from([k for k in commands.KINDS if k != "part"])  # parts: test_parts.py


def opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def typed_commands() -> st.SearchStrategy[Command]:
    """NewOrders, CancelOrders and Deposits of the field types the fast path writes."""
    new = st.builds(NewOrder, ODD_TEXT, opt(st.sampled_from(Side)), opt(st.sampled_from(OrderType)),
                    BIG_INTS, BIG_INTS, opt(st.sampled_from(TimeInForce)), BIG_INTS,
                    opt(ODD_TEXT), opt(st.sampled_from(StpMode)), BIG_INTS, BIG_INTS)  # fmt: skip
    cancel = st.builds(CancelOrder, ODD_TEXT, opt(BIG_INTS), opt(ODD_TEXT), opt(ODD_TEXT),
                       opt(st.sampled_from(CancelRestriction)))  # fmt: skip
    deposit = st.builds(Deposit, ODD_TEXT, ODD_TEXT, BIG_INTS)
    return st.builds(Command, KINDS, new | cancel | deposit, BIG_INTS, opt(BIG_INTS),
                     opt(BIG_INTS))  # fmt: skip


def outcome(encoder: Any, command: Any) -> bytes | tuple[type, str]:
    try:
        return encoder(command)  # type: ignore[no-any-return]
    except (TypeError, ValueError) as exc:
        return type(exc), str(exc)


@given(typed_commands())
def test_the_fast_path_writes_the_generic_encoders_bytes(command: Command) -> None:
    expected = outcome(commands._generic_encode, command)
    with mock.patch.object(commands, "_generic_encode", side_effect=AssertionError):
        fast = outcome(encode, command)  # never falls back: these are all the fast path's
    assert fast == expected
    if isinstance(fast, bytes):
        assert decode(fast) == command._replace(timestamp=None, recv_window=None)


ANYTHING = (st.none() | st.booleans() | BIG_INTS | st.floats() | ODD_TEXT
            | st.sampled_from([*MEMBERS, *Category]) | st.just([1]) | st.just(("t", 1))
            | st.builds(ListLeg, st.sampled_from(OrderType)))  # fmt: skip


@given(typed_commands(), st.integers(0, 12), ANYTHING, st.text(max_size=8))
def test_one_odd_value_encodes_or_fails_as_the_generic_encoder_does(
    command: Command, field: int, value: Any, kind: str
) -> None:
    request = command.request
    if field < len(request):  # one odd field in the request
        command = command._replace(request=request._replace(**{request._fields[field]: value}))
    else:  # an odd time or kind
        command = command._replace(now=value) if field % 2 else command._replace(kind=kind)
    assert outcome(encode, command) == outcome(commands._generic_encode, command)


def test_bools_and_floats_behave_as_before() -> None:
    order = NewOrder("a", BUY, OrderType.LIMIT, 10, 100, TimeInForce.GTC)
    for bad in (order._replace(quantity=1.5), order._replace(price=2.0)):  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="cannot journal a float"):
            encode(Command("submit", bad, 1))
    with pytest.raises(TypeError, match="cannot journal a float"):
        encode(Command("deposit", Deposit("a", "BTC", 1.0), 1))  # type: ignore[arg-type]
    # a bool in a request is journaled as JSON true (the engine then refuses it); a command's
    # time must be an int, as `decode` reads it back
    line = encode(Command("submit", order._replace(quantity=True), 1))
    assert line == commands._generic_encode(Command("submit", order._replace(quantity=True), 1))
    assert b'"LIMIT"},true,100,' in line
    for now in (True, 2.5):
        with pytest.raises(TypeError, match="time is an int"):
            encode(Command("submit", order, now))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown command kind"):
        encode(Command("Submit", order, 1))
    with pytest.raises(ValueError):
        encode(Command("submit", order._replace(quantity=10**5000), 1))  # past int's str limit
