"""Journal lines in native code: `encode` gives the very bytes of `commands.encode`.

`bot4._native.JournalCodec` (native/src/pyjournal.rs) writes the line of a `NewOrder`, a
`CancelOrder` or a `Deposit` command of plain ints (within 64 bits), strs, None and enum
members, from the fast path's own tables; anything else it leaves to `commands.encode`, the
specification, which decides (and raises TypeError or ValueError for what cannot be
journaled). A differential test holds the two to the same bytes.
"""

from __future__ import annotations

from bot4._native import JournalCodec
from bot4.core.orders import CancelOrder, NewOrder
from bot4.service import commands
from bot4.service.commands import Command, Deposit

_CODEC = JournalCodec((Command, NewOrder, CancelOrder, Deposit), *commands.fast_tables())


def encode(command: Command) -> bytes:
    """One line of JSON (with its newline) for a command, as `commands.encode` writes it."""
    line = _CODEC.encode(command)
    return line if line is not None else commands.encode(command)
