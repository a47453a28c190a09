"""A symbol's part of an idempotent request runs at most once, across retries and restarts.

`SymbolService.handle_part(request_id, commands)` journals the part as one line holding the
request id, the commands that ran and the answers that were not journaled (refusals, a keyed
order's first answer). A repeat of the request id is answered with the first answers, from
memory or, after a restart, from the journal; the same id with other commands is -9203; a
part cut off by a crash is not in the journal at all, so its retry runs it once.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import Code, VenueError
from bot4.core.instruments import Instrument
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.results import Ack
from bot4.risk.config import RiskFile
from bot4.risk.pretrade import RiskEngine
from bot4.service.auth import TimestampGuard
from bot4.service.commands import Command, Deposit, Part, decode, encode
from bot4.service.idempotency import MemoryIdempotencyStore
from bot4.service.journal import FileJournal, MemoryJournal
from bot4.service.symbol import SymbolService

T = 1_700_000_000_000
BUY, SELL, LIMIT, GTC = Side.BUY, Side.SELL, OrderType.LIMIT, TimeInForce.GTC


def bid(account: str, lots: int, price: int = 2_990_000, cid: str | None = None) -> NewOrder:
    return NewOrder(account, BUY, LIMIT, lots, price, GTC, client_order_id=cid)


def ask(account: str, lots: int, price: int = 3_010_000) -> NewOrder:
    return NewOrder(account, SELL, LIMIT, lots, price, GTC)


def make(btc: Instrument, journal: Any, **kwargs: Any) -> SymbolService:
    store = MemoryIdempotencyStore(1_000, 3_600_000)
    return SymbolService(btc, journal, reference_price=3_000_000, idempotency=store, **kwargs)


def funded(btc: Instrument, journal: Any, **kwargs: Any) -> SymbolService:
    svc = make(btc, journal, **kwargs)
    for account in ("a", "b"):
        svc.handle(Command("deposit", Deposit(account, "USDT", 10**15), 0))
        svc.handle(Command("deposit", Deposit(account, "BTC", 10**12), 0))
    return svc


def orders_of(svc: SymbolService) -> int:
    return sum(1 for r in svc.events_since(0) if r.execution_type.value == "NEW")


def test_a_part_runs_once_and_a_repeat_gets_its_first_answers(btc: Instrument) -> None:
    journal = MemoryJournal()
    svc = funded(btc, journal)
    part = [Command("submit", bid("a", 100), T), Command("submit", ask("b", 100), T)]
    first = svc.handle_part("r-1", part)
    assert all(isinstance(r, Ack) for r in first) and orders_of(svc) == 2
    lines = len(journal.data)
    later = [c._replace(now=T + 5_000) for c in part]  # a retry carries a later time
    assert svc.handle_part("r-1", later) == first
    assert orders_of(svc) == 2 and len(journal.data) == lines  # nothing placed or journaled
    other = svc.handle_part("r-1", [Command("submit", bid("a", 101), T)])
    assert len(other) == 1 and isinstance(other[0], VenueError)
    assert other[0].code == Code.IDEMPOTENCY_CONFLICT
    assert isinstance(svc.handle_part("r-2", part)[0], Ack) and orders_of(svc) == 4


def test_the_part_is_one_journal_line_with_its_request_id(btc: Instrument) -> None:
    journal = MemoryJournal()
    svc = funded(btc, journal)
    before = len(journal.data)
    svc.handle_part("r-1", [Command("submit", bid("a", 100), T),
                            Command("submit", bid("poor", 100), T)])  # fmt: skip
    assert len(journal.data) == before + 1
    command = decode(journal.data[-1])
    assert command.kind == "part" and command.now == T
    part: Part = command.request
    assert (part.request_id, part.size) == ("r-1", 2)
    assert [i for i, _ in part.entries] == [0, 1]  # both reached the engine (poor's refusal too)
    assert encode(command) == journal.data[-1]


def test_first_answers_survive_a_restart_refusals_and_keyed_orders_included(
    tmp_path: Path, btc: Instrument
) -> None:
    """Refused before the journal (the guard, the clock, a -9203), refused by the engine, a
    keyed order answered from its first run: after a restart the retry gets every one of
    those answers back, equal, and nothing runs again."""
    path = tmp_path / "BTCUSDT.journal"
    svc = funded(btc, FileJournal(path, fsync="never"), guard=TimestampGuard())
    keyed = bid("a", 50, cid="k-1")
    first_keyed = svc.handle(Command("submit", keyed, T))
    part = [
        Command("submit", bid("a", 100), T + 10),
        Command("submit", bid("a", 100), T + 10, timestamp=T - 60_000),  # -1021: too old
        Command("submit", bid("poor", 100), T + 10),  # -2015 (no such account), journaled
        Command("submit", keyed, T + 10),  # the keyed order again: its first answer
        Command("submit", keyed._replace(quantity=51), T + 10),  # its key, other order: -9203
        Command("submit", bid("a", 100), 5),  # -9401: before the clock
        Command("deposit", Deposit("b", "USDT", 1), 0),
    ]
    first = svc.handle_part("r-1", part)
    codes = [getattr(r, "code", None) for r in first]
    assert codes == [None, -1021, -2015, None, -9203, -9401, None]
    assert first[3] == first_keyed
    digest = svc.state_digest()
    svc.journal.close()  # type: ignore[attr-defined]
    again = funded_from(path, btc)
    assert again.state_digest() == digest
    retry = again.handle_part("r-1", [c._replace(now=T + 99) for c in part])
    assert retry == first
    assert again.state_digest() == digest


def funded_from(path: Path, btc: Instrument) -> SymbolService:
    """A restarted symbol over an existing journal (no new deposits)."""
    return make(btc, FileJournal(path, fsync="never"), guard=TimestampGuard())


def test_a_part_torn_by_a_crash_is_not_applied_and_its_retry_runs_once(
    tmp_path: Path, btc: Instrument
) -> None:
    path = tmp_path / "BTCUSDT.journal"
    svc = funded(btc, FileJournal(path, fsync="never"))
    before = svc.state_digest()
    part = [Command("submit", bid("a", 100), T), Command("submit", bid("b", 100), T)]
    svc.handle_part("r-1", part)
    svc.journal.close()  # type: ignore[attr-defined]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # the crash cut the part's line
    again = make(btc, FileJournal(path, fsync="never"))
    assert again.failure is None and again.state_digest() == before
    retry = again.handle_part("r-1", part)
    assert all(isinstance(r, Ack) for r in retry) and orders_of(again) == 2
    assert again.handle_part("r-1", part) == retry and orders_of(again) == 2


def test_grants_from_the_desk_inside_a_part_replay_exactly(btc: Instrument) -> None:
    """A part whose order asks the desk for exposure journals the grant inside the part
    (index -1); replay rebuilds the same grants, state and answers."""
    config = RiskFile.model_validate({"valuation_asset": "USDT",
                                      "account": {"max_gross_exposure": "1000000"}})  # fmt: skip
    asked: list[tuple[str, int]] = []

    def desk(account: str, amount: int) -> int:
        asked.append((account, amount))
        return amount * 2

    journal = MemoryJournal()

    def build() -> SymbolService:
        risk = RiskEngine(config, {"BTCUSDT": btc}, leased=True)
        return make(btc, journal, risk=risk, desk=desk)

    svc = build()
    svc.handle(Command("deposit", Deposit("a", "USDT", 10**15), 0))
    first = svc.handle_part("r-1", [Command("submit", bid("a", 1_000), T)])
    assert isinstance(first[0], Ack) and asked
    part: Part = decode(journal.data[-1]).request
    assert [i for i, _ in part.entries] == [-1, 0]  # the grant, then the order
    calls = len(asked)
    again = build()
    assert len(asked) == calls  # replay asks the desk nothing
    assert again.state_digest() == svc.state_digest()
    assert again.risk is not None and again.risk.granted() == svc.risk.granted()  # type: ignore[union-attr]
    assert again.handle_part("r-1", [Command("submit", bid("a", 1_000), T)]) == first


def test_bad_parts_are_refused_typed_and_change_nothing(btc: Instrument) -> None:
    journal = MemoryJournal()
    svc = funded(btc, journal)
    before = svc.state_digest(), len(journal.data)
    for request_id in ("", 5, None, "x" * 257):
        result = svc.handle_part(request_id, [Command("submit", bid("a", 1), T)])  # type: ignore[arg-type]
        assert [getattr(r, "code", None) for r in result] == [-1130]
    for commands in ([Command("submit", 1.5, T)], [Command("explode", None, T)], [None]):
        result = svc.handle_part("r", commands)  # type: ignore[list-item]
        assert [getattr(r, "code", None) for r in result] == [-1130]
    assert (svc.state_digest(), len(journal.data)) == before
    plain = SymbolService(btc, MemoryJournal())  # no idempotency store: no request ids
    assert [getattr(r, "code", None) for r in plain.handle_part("r", [])] == [-1130]


@given(st.integers(0, 2**32 - 1), st.integers(2, 40))
def test_any_stream_of_parts_replays_to_the_same_state_and_answers(seed: int, size: int) -> None:
    """Random parts (orders, cancels, deposits, repeats of earlier request ids, conflicting
    ones) against one symbol; a service rebuilt from the journal has the same state, and
    answers every earlier request id with exactly the first answers."""
    from bot4.core.instruments import load_symbols
    from tests.conftest import SYMBOLS_FILE

    btc = load_symbols(SYMBOLS_FILE)["BTCUSDT"]
    rng = random.Random(seed)
    journal = MemoryJournal()
    svc = funded(btc, journal)
    sent: dict[str, list[Command]] = {}
    answers: dict[str, list[Any]] = {}
    now = T
    for _ in range(size):
        now += rng.randint(0, 3)
        if sent and rng.random() < 0.3:
            rid = rng.choice(sorted(sent))
            before = svc.state_digest()
            assert svc.handle_part(rid, sent[rid]) == answers[rid]
            assert svc.state_digest() == before  # nothing ran again
            continue
        rid = f"r-{rng.randint(0, 10**6)}"
        part = []
        for _ in range(rng.randint(1, 4)):
            roll = rng.random()
            account = rng.choice("ab")
            if roll < 0.6:
                side, price = rng.choice([(BUY, 2_999_000), (SELL, 3_001_000), (BUY, 3_001_000)])
                cid = rng.choice([None, None, f"c{rng.randint(0, 5)}"])
                order = NewOrder(account, side, LIMIT, rng.randint(1, 500), price, GTC,
                                 client_order_id=cid)  # fmt: skip
                part.append(Command("submit", order, now))
            elif roll < 0.85:
                part.append(Command("cancel", CancelOrder(account, rng.randint(1, 30)), now))
            else:
                part.append(Command("deposit", Deposit(account, "USDT", rng.randint(1, 9)), 0))
        result = svc.handle_part(rid, part)
        if rid in sent:
            if encode_all(part) != encode_all(sent[rid]):
                assert [getattr(r, "code", None) for r in result] == [-9203]
            else:
                assert result == answers[rid]
            continue
        sent[rid], answers[rid] = part, result
    again = make(btc, journal)
    assert again.state_digest() == svc.state_digest()
    for rid, part in sent.items():
        assert again.handle_part(rid, part) == answers[rid]
    assert again.state_digest() == svc.state_digest()


def encode_all(commands: list[Command]) -> list[bytes]:
    return [encode(c._replace(now=0)) for c in commands]
