"""What it costs to put a symbol's commands and answers on the wire, and to journal a command.

One taker order of a symbol lane, built with a real `SymbolService` on BTCUSDT
(configs/symbols.toml): a resting SELL, then a BUY IOC that fills it, with a client order id,
`timestamp` and `recv_window`. Its payloads are the `[Command]` the driver sends and the
`[Ack]` it gets back (the taker's NEW and TRADE reports plus the maker's TRADE report). Each
is timed, in µs per call (best of `--repeat` runs of `--number` calls):

* codec: `bot4.service.wire` encode and decode (and the lean form of the Ack); for the Ack,
  also `bot4.service.nativewire`, the binary form the symbol actor answers with;
* pickle: C `pickle.dumps` / `loads` (protocol 5) of the objects;
* journal: `commands.encode` of the command (its fast path) against the generic encoder;
* ray: the serializer a Ray call or compiled graph uses (`SerializationContext.serialize`:
  msgpack, cloudpickle for anything else) on the objects against the codec's bytes, timed
  last, in a local Ray with one CPU. Ray's deserializer needs a buffer of its object store,
  so it is not timed here. Skipped with `--no-ray` or when Ray does not start.

    python benchmarks/wire.py [--number N] [--repeat R] [--no-ray] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import pickle
import sys
import timeit
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

# benchmarks/platform.py shadows the standard `platform` module, which Ray imports
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bot4.core.enums import OrderType, Side, TimeInForce  # noqa: E402
from bot4.core.instruments import load_symbols  # noqa: E402
from bot4.core.orders import NewOrder  # noqa: E402
from bot4.service import commands, nativewire, wire  # noqa: E402
from bot4.service.commands import Command, Deposit  # noqa: E402
from bot4.service.journal import MemoryJournal  # noqa: E402
from bot4.service.symbol import SymbolService  # noqa: E402

PRICE = 3_000_000  # 30000.00


def payloads() -> tuple[list[Command], list[Any]]:
    """The taker's `[Command]` and the `[Ack]` the symbol answered it with."""
    instrument = load_symbols(ROOT / "configs" / "symbols.toml")["BTCUSDT"]
    service = SymbolService(instrument, MemoryJournal(), reference_price=PRICE)
    service.handle_batch([Command("deposit", Deposit(account, asset, 10**17), 0)
                          for account in ("maker", "taker")
                          for asset in ("BTC", "USDT")])  # fmt: skip
    service.handle(Command("submit", NewOrder("maker", Side.SELL, OrderType.LIMIT, 1_000, PRICE,
                                              TimeInForce.GTC), 1))  # fmt: skip
    order = NewOrder("taker", Side.BUY, OrderType.LIMIT, 1_000, PRICE, TimeInForce.IOC,
                     client_order_id="taker-1")  # fmt: skip
    taker = [Command("submit", order, 2, 2, 5_000)]
    acks = service.handle_batch(taker)
    assert len(acks[0].reports) == 3, acks
    return taker, acks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    number: int = args.number
    repeat: int = args.repeat

    def us(call: Callable[[], object]) -> float:
        return min(timeit.repeat(call, number=number, repeat=repeat)) / number * 1e6

    taker, acks = payloads()
    blobs = {"[Command]": wire.encode_commands(taker), "[Ack]": wire.encode_results(acks)}
    assert wire.decode_commands(blobs["[Command]"]) == taker
    assert wire.decode_results(blobs["[Ack]"]) == acks
    lean = wire.lean_results(acks)
    rows: dict[str, dict[str, float]] = {}
    for name, value, encode, decode in (
        ("[Command]", taker, wire.encode_commands, wire.decode_commands),
        ("[Ack]", acks, wire.encode_results, wire.decode_results),
    ):
        blob, pickled = blobs[name], pickle.dumps(value, 5)
        rows[name] = {
            "codec_encode": us(partial(encode, value)),
            "codec_decode": us(partial(decode, blob)),
            "codec_bytes": len(blob),
            "pickle_dumps": us(partial(pickle.dumps, value, 5)),
            "pickle_loads": us(partial(pickle.loads, pickled)),
            "pickle_bytes": len(pickled),
        }
    rows["[Ack]"]["lean_encode"] = us(lambda: wire.lean_results(acks))
    rows["[Ack]"]["lean_decode"] = us(lambda: wire.decode_lean(lean))
    rows["[Ack]"]["lean_bytes"] = len(lean)
    binary = nativewire.encode_results(acks)
    assert nativewire.decode_results(binary) == acks
    rows["[Ack]"]["native_encode"] = us(lambda: nativewire.encode_results(acks))
    rows["[Ack]"]["native_decode"] = us(lambda: nativewire.decode_results(binary))
    rows["[Ack]"]["native_bytes"] = len(binary)
    command = taker[0]
    assert commands.encode(command) == commands._generic_encode(command)
    journal = {"fast": us(partial(commands.encode, command)),
               "generic": us(partial(commands._generic_encode, command))}  # fmt: skip
    journal["ratio"] = journal["generic"] / journal["fast"]
    if not args.no_ray:  # last: a running Ray takes CPU from the other timings
        ray_rows(rows, {"[Command]": taker, "[Ack]": acks}, blobs, us)
    if args.json:
        print(json.dumps({"payloads": rows, "journal_encode": journal}, indent=2))
        return 0
    for name, row in rows.items():
        print(f"{name} (codec {row['codec_bytes']:.0f} B, pickle {row['pickle_bytes']:.0f} B)")
        print(f"  codec   encode {row['codec_encode']:6.2f} µs   "
              f"decode {row['codec_decode']:6.2f} µs")  # fmt: skip
        if "lean_encode" in row:
            print(f"  lean    encode {row['lean_encode']:6.2f} µs   "
                  f"decode {row['lean_decode']:6.2f} µs   ({row['lean_bytes']:.0f} B)")  # fmt: skip
            enc, dec, size = row["native_encode"], row["native_decode"], row["native_bytes"]
            print(f"  native  encode {enc:6.2f} µs   decode {dec:6.2f} µs   ({size:.0f} B)")
        print(f"  pickle  dumps  {row['pickle_dumps']:6.2f} µs   "
              f"loads  {row['pickle_loads']:6.2f} µs")  # fmt: skip
        if "ray_serialize" in row:
            codec = row["codec_encode"] + row["ray_serialize_bytes"]
            print(f"  ray     serialize objects {row['ray_serialize']:6.2f} µs, codec bytes "
                  f"{row['ray_serialize_bytes']:.2f} µs (with codec encode {codec:.2f} µs: "
                  f"{row['ray_serialize'] / codec:.0f}x less)")  # fmt: skip
    print(f"journal encode: fast {journal['fast']:.2f} µs, generic {journal['generic']:.2f} µs, "
          f"{journal['ratio']:.1f}x")  # fmt: skip
    return 0


def ray_rows(rows: dict[str, dict[str, float]], values: dict[str, Any], blobs: dict[str, bytes],
             us: Callable[[Callable[[], object]], float]) -> None:  # fmt: skip
    """Ray's serializer on the objects and on the codec's bytes."""
    try:
        import ray

        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR)  # fmt: skip
    except Exception as exc:  # no Ray here: say so and time the rest
        print(f"(ray skipped: {exc!r})", file=sys.stderr)
        return
    try:
        worker: Any = ray._private.worker.global_worker
        context = worker.get_serialization_context()
        for name, value in values.items():
            rows[name]["ray_serialize"] = us(partial(context.serialize, value))
            rows[name]["ray_serialize_bytes"] = us(partial(context.serialize, blobs[name]))
    finally:
        ray.shutdown()


if __name__ == "__main__":
    sys.exit(main())
