"""Commands as bytes: the requests a symbol journals before it acknowledges them.

A command is (kind, request, now). The request is one of the core's request NamedTuples
(`NewOrder`, `CancelOrder`, `AmendOrder`, `CancelReplace`, `NewOco`, `NewOto`, `NewOtoco`,
`CancelOrderList`), a `Deposit`, or what the risk desk decided for the symbol (`Grant`,
`RiskState`). The encoding is one JSON line: NamedTuples and enums are
tagged by type name, so decoding gives back equal values, and the same command always encodes
to the same bytes. The engine is deterministic, so replaying a journal of commands rebuilds
the exact state (`state_digest`) of the symbol.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from enum import Enum
from json.encoder import encode_basestring_ascii as _quote
from typing import Any, NamedTuple

from bot4.core import enums, orders
from bot4.core.errors import Category, VenueError


class Deposit(NamedTuple):
    """Credit `units` of `asset` to an account's free balance."""

    account: str
    asset: str
    units: int


class Grant(NamedTuple):
    """The risk desk's whole grant of gross exposure to this symbol for an account (units of
    the valuation asset)."""

    account: str
    total: int


class RiskState(NamedTuple):
    """An account's trading state (a `TradingState` value), as the risk desk set it."""

    account: str
    state: str
    reason: str


class Part(NamedTuple):
    """One symbol's part of an idempotent request (a cross-symbol batch, a deposit), journaled
    as one line so that a crash keeps all of it or none of it.

    `entries` are the journaled commands in the order they ran, each with its index in the
    part (-1 for what the symbol journaled on its own, e.g. a grant from the desk). `answers`
    are the part's other answers by index: a `VenueError` for a refusal that was not
    journaled, or the order key (a str) of a keyed order that was answered from its first run.
    """

    request_id: str
    fingerprint: str  # hex sha256 of the part's commands, their times left out
    size: int
    entries: tuple[tuple[int, Command], ...]
    answers: tuple[tuple[int, VenueError | str], ...]


_TUPLES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        orders.NewOrder,
        orders.CancelOrder,
        orders.AmendOrder,
        orders.CancelReplace,
        orders.ListLeg,
        orders.NewOco,
        orders.NewOto,
        orders.NewOtoco,
        orders.CancelOrderList,
        Deposit,
        Grant,
        RiskState,
    )
}
_ENUMS: dict[str, type[Enum]] = {
    name: obj
    for name, obj in vars(enums).items()
    if isinstance(obj, type) and issubclass(obj, Enum) and obj is not Enum
}
KINDS = ("submit", "cancel", "amend", "cancel_replace", "oco", "oto", "otoco", "cancel_list",
         "deposit", "grant", "risk_state", "part")  # fmt: skip


class Command(NamedTuple):
    """One journaled request: what to do, with which request, at which time (ms).

    `timestamp` and `recv_window` are the client's, as on a signed request (ms, or µs with 16
    digits): the symbol's timestamp guard checks them against `now` before anything else.
    They are not journaled (a command in the journal already passed the guard).
    """

    kind: str
    request: Any
    now: int
    timestamp: int | None = None
    recv_window: int | None = None


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return {"e": type(value).__name__, "v": value.value}
    if isinstance(value, tuple) and type(value).__name__ in _TUPLES:
        return {"t": type(value).__name__, "f": [_plain(v) for v in value]}
    if value is None or isinstance(value, bool | int | str):
        return value
    raise TypeError(f"cannot journal a {type(value).__name__}")


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        if "e" in value:
            return _ENUMS[value["e"]](value["v"])
        cls = _TUPLES[value["t"]]
        return cls(*(_typed(v) for v in value["f"]))
    return value


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _generic_encode(command: Command) -> bytes:
    """`encode` for any command, through `json` (TypeError/ValueError for what it cannot)."""
    if command.kind not in KINDS:
        raise ValueError(f"unknown command kind {command.kind!r}")
    if type(command.now) is not int:  # `decode` reads back only an int time
        raise TypeError(f"a command's time is an int, got {command.now!r}")
    if command.kind == "part" or type(command.request) is Part:
        if command.kind != "part" or type(command.request) is not Part:
            raise TypeError("a part is journaled as a part command")
        return _part_json(command.request, command.now).encode() + b"\n"
    body = {"k": command.kind, "n": command.now, "r": _plain(command.request)}
    return _json(body).encode() + b"\n"


def _answer(answer: VenueError | str) -> list[Any]:
    if type(answer) is VenueError:
        e = answer
        return ["e", e.code, e.msg, e.category.value, e.retryable, e.retry_after_ms]
    if type(answer) is str:
        return ["k", answer]
    raise TypeError(f"cannot journal a part answer {answer!r}")


def _part_json(part: Part, now: int) -> str:
    rid, fingerprint, size, entries, answers = part
    lines = [(index, encode(command)) for index, command in entries]
    return encode_part(rid, fingerprint, size, lines, answers, now).decode().rstrip()


def encode_part(request_id: str, fingerprint: str, size: int, lines: list[tuple[int, bytes]],
                answers: list[tuple[int, VenueError | str]] | tuple[tuple[int, VenueError | str],
                                                                      ...],
                now: int) -> bytes:  # fmt: skip
    """The journal line of a `Part` whose commands are already encoded (`lines`, each with its
    index in the part): they are written inline, as they are."""
    if type(request_id) is not str or type(fingerprint) is not str or type(size) is not int:
        raise TypeError("a part's request id and fingerprint are str, its size an int")
    inner = ",".join(f"[{_int(index)},{line.decode().rstrip()}]" for index, line in lines)
    rest = _json([[index, _answer(a)] for index, a in answers])
    return (
        f'{{"k":"part","n":{_int(now)},"r":{{"f":[{_quote(request_id)},{_quote(fingerprint)},'
        f'{size},[{inner}],{rest}],"t":"Part"}}}}\n'
    ).encode()


def fingerprint(commands: list[Command]) -> str:
    """What identifies a part's commands whatever their times (hex sha256); TypeError or
    ValueError for a command that cannot be journaled."""
    digest = hashlib.sha256()
    for command in commands:
        digest.update(encode(command._replace(now=0)))
    return digest.hexdigest()


# The fast path writes the generic encoder's bytes directly for the commonest requests. Its
# tables come from the generic encoder, keyed by id() (Enum.__hash__ is a Python call; an
# enum member lives as long as its class, so its id names it for good).
_KIND_JSON = {kind: _json(kind) for kind in KINDS if kind != "part"}
_ENUM_JSON = {id(m): _json(_plain(m)) for cls in _ENUMS.values() for m in cls} | {id(None): "null"}


def fast_tables() -> tuple[dict[str, str], list[tuple[Any, str]]]:
    """What the fast path writes for a kind and for an enum member (or None), for an encoder
    of the same lines elsewhere (`bot4.service.nativecommands`)."""
    members: list[tuple[Any, str]] = [(m, _json(_plain(m))) for c in _ENUMS.values() for m in c]
    return dict(_KIND_JSON), [*members, (None, "null")]


def _str(value: Any) -> str:
    """A str or None as JSON (ASCII, as `json.dumps` writes it); TypeError for anything else."""
    if type(value) is str:
        return _quote(value)
    if value is None:
        return "null"
    raise TypeError


def _int(value: Any) -> str:
    """An int (not a bool) or None as JSON; TypeError for anything else."""
    if type(value) is int:
        return int.__repr__(value)  # what json.dumps writes; ValueError past the digit limit
    if value is None:
        return "null"
    raise TypeError


def _new_order_json(r: orders.NewOrder) -> str:
    account, side, type_, qty, price, tif, quote_qty, cid, stp, stop, trailing = r
    e = _ENUM_JSON
    return (f'{{"f":[{_str(account)},{e[id(side)]},{e[id(type_)]},{_int(qty)},{_int(price)},'
            f'{e[id(tif)]},{_int(quote_qty)},{_str(cid)},{e[id(stp)]},{_int(stop)},'
            f'{_int(trailing)}],"t":"NewOrder"}}')  # fmt: skip


def _cancel_json(r: orders.CancelOrder) -> str:
    account, order_id, orig_cid, new_cid, restriction = r
    return (f'{{"f":[{_str(account)},{_int(order_id)},{_str(orig_cid)},{_str(new_cid)},'
            f'{_ENUM_JSON[id(restriction)]}],"t":"CancelOrder"}}')  # fmt: skip


def _deposit_json(r: Deposit) -> str:
    account, asset, units = r
    return f'{{"f":[{_str(account)},{_str(asset)},{_int(units)}],"t":"Deposit"}}'


_FAST: dict[type, Callable[[Any], str]] = {
    orders.NewOrder: _new_order_json,
    orders.CancelOrder: _cancel_json,
    Deposit: _deposit_json,
}


def encode(command: Command) -> bytes:
    """One line of JSON (with its newline) for a command.

    NewOrder, CancelOrder and Deposit requests of plain ints, strs, None and enum members
    take a fast path; it writes the very bytes of the generic encoder, which does the rest
    (and raises TypeError or ValueError for what cannot be journaled)."""
    fast = _FAST.get(type(command.request))
    if fast is not None and type(command.now) is int:
        try:
            kind, now, request = _KIND_JSON[command.kind], _int(command.now), fast(command.request)
            return f'{{"k":{kind},"n":{now},"r":{request}}}\n'.encode()
        except (KeyError, TypeError, ValueError):
            pass  # something unusual: the generic encoder decides
    return _generic_encode(command)


def _command(body: Any) -> Command:
    kind, now = body["k"], body["n"]
    if kind not in KINDS or type(now) is not int:
        raise ValueError("unknown kind or a time that is not an int")
    if kind == "part":
        rid, fingerprint, size, entries, answers = body["r"]["f"]
        request: Any = Part(rid, fingerprint, size,
                            tuple((index, _command(c)) for index, c in entries),
                            tuple((index, _answer_of(a)) for index, a in answers))  # fmt: skip
    else:
        request = _typed(body["r"])
    return Command(kind, request, now)


def _answer_of(item: list[Any]) -> VenueError | str:
    if item[0] == "e":
        _, code, msg, category, retryable, retry_after_ms = item
        return VenueError(code, msg, Category(category), retryable, retry_after_ms)
    if item[0] == "k" and type(item[1]) is str:
        return str(item[1])
    raise ValueError("unknown part answer")


def decode(line: bytes) -> Command:
    """The command of one encoded line (raises ValueError on a malformed one)."""
    try:
        return _command(json.loads(line))
    except json.JSONDecodeError as exc:
        raise ValueError(f"malformed journal line: {line[:80]!r} (not JSON)") from exc
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        why = f"{type(exc).__name__}: {exc}"
        raise ValueError(f"malformed journal line: {line[:80]!r} ({why})") from exc
