"""Journal lines written in native code are the very bytes of the Python encoder, for any
command: the native codec writes the commonest ones and leaves every other to Python."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.orders import AmendOrder, CancelOrder, NewOrder
from bot4.service import commands, nativecommands
from bot4.service.commands import Command, Deposit, Grant
from tests.service.test_wire import ODD, fast_commands


def same_line(command: Command) -> None:
    try:
        expected: Any = commands.encode(command)
    except (TypeError, ValueError) as exc:
        expected = type(exc)
    try:
        got: Any = nativecommands.encode(command)
    except (TypeError, ValueError) as exc:
        got = type(exc)
    assert got == expected, command


@given(fast_commands())
def test_any_fast_path_command_gets_the_python_encoders_bytes(command: Command) -> None:
    same_line(command)


@given(fast_commands(), st.integers(0, 10), ODD)
def test_odd_fields_are_left_to_python_and_get_its_answer(
    command: Command, field: int, odd: Any
) -> None:
    request = command.request
    same_line(
        command._replace(request=request._replace(**{request._fields[field % len(request)]: odd}))
    )
    same_line(command._replace(now=odd))


def test_the_commonest_commands_are_written_natively() -> None:
    order = NewOrder("alice", Side.BUY, OrderType.LIMIT, 5, 3_000_000, TimeInForce.GTC,
                     client_order_id="c-1 \"ü😀\"\n\x00")  # fmt: skip
    native = [Command("submit", order, 10**12), Command("cancel", CancelOrder("alice", 1), 5),
              Command("deposit", Deposit("bob", "USDT", 10**17), 0)]  # fmt: skip
    for command in native:
        assert nativecommands._CODEC.encode(command) == commands.encode(command)
    python = [Command("amend", AmendOrder("a", 5, 1), 1), Command("grant", Grant("a", 7), 1),
              Command("deposit", Deposit("b", "U", 2**70), 0),
              Command("submit", order._replace(quantity=True), 1),
              Command("submit", order._replace(account="\ud800"), 1)]  # fmt: skip
    for command in python:
        assert nativecommands._CODEC.encode(command) is None
        same_line(command)
