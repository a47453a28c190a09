"""Throughput and memory of the idempotency stores under a long key stream.

`--keys` (default 10,000,000) order keys `order:acctN:cid` go through a store of capacity
`--capacity` (default 1,000,000) with a one-hour TTL, on a simulated clock that advances
1 ms per key (so about 2.8 hours pass and the TTL wheel expires keys too). One key in ten
repeats a recent one, as a client retry, which gets the first response back. Every new key
is completed with a small response, as after the venue answered.

One operation is what a gateway does per request: `begin` (check-and-record), then
`complete` when the key was new. Three passes run the same stream, each on a fresh store:
the native store (`NativeIdempotencyStore`) through its batch calls, one `begin_many` and
one `complete_many` per `--batch` keys (1,000), as a batching gateway or actor uses it
(`ops_per_s`); the native store one call at a time
(`native_call_ops_per_s`); and the Python specification (`python_ops_per_s`). Keys are made
in chunks outside the timed sections. Each pass samples the process RSS after each chunk,
so a flat RSS once the store is full shows; the native pass runs first, in a fresh process.
The baseline, in the same process, is an unbounded plain `dict` doing get-then-set on the
first `--capacity` keys (`baseline_ops_per_s`).

    python benchmarks/idempotency.py [--keys N] [--capacity C] [--batch B] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot4.service.idempotency import NEW, MemoryIdempotencyStore  # noqa: E402
from bot4.service.nativeidempotency import NativeIdempotencyStore  # noqa: E402

CHUNK = 200_000
TTL_MS = 3_600_000
RESPONSE, FINGERPRINT = b'{"orderId":1,"status":"NEW"}', b"fp"


def rss_mb() -> float:
    """The current resident set size (Linux /proc), in MB."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def chunks(keys: int, seed: int) -> Iterator[tuple[int, list[str]]]:
    """(first key's number, keys) per chunk of the stream; one key in ten a recent retry."""
    rng = random.Random(seed)
    done = 0
    while done < keys:
        n = min(CHUNK, keys - done)
        ids = [
            i - rng.randint(1, 50) if i % 10 == 0 and i > 50 else i for i in range(done, done + n)
        ]
        yield done, [f"order:acct{(j * 7919) % 1000}:c{j}" for j in ids]
        done += n


def run_pass(store: Any, how: str, args: argparse.Namespace) -> dict[str, Any]:
    """Push the stream through `store` (`how`: "batch" or "call"); its figures."""
    total_s, replays = 0.0, 0
    samples: list[tuple[int, float]] = []
    gc.collect()
    for done, keys in chunks(args.keys, args.seed):
        if how == "batch":
            b = args.batch
            parts = [(keys[i : i + b], list(range(done + i, done + i + len(keys[i : i + b]))))
                     for i in range(0, len(keys), b)]  # fmt: skip
            prints, responses = [FINGERPRINT] * b, [RESPONSE] * b
            t0 = time.perf_counter()
            for part, times in parts:
                answers = store.begin_many(part, prints[: len(part)], times)
                news = [k for k, (status, _) in zip(part, answers, strict=True) if status is NEW]
                store.complete_many(news, responses[: len(news)])
                replays += len(part) - len(news)
            total_s += time.perf_counter() - t0
        else:
            begin, complete = store.begin, store.complete
            t0 = time.perf_counter()
            now = done
            for key in keys:
                status, _ = begin(key, FINGERPRINT, now)
                if status is NEW:
                    complete(key, RESPONSE, now)
                else:
                    replays += 1
                now += 1
            total_s += time.perf_counter() - t0
        samples.append((done + len(keys), rss_mb()))
    full = [mb for count, mb in samples if count >= 2 * args.capacity]
    return {
        "ops_per_s": round(args.keys / total_s),
        "rss_when_full_mb": [round(min(full), 1), round(max(full), 1)] if full else None,
        "entries": len(store),
        "evicted": store.evicted,
        "expired": store.expired,
        "replays": replays,
    }


def baseline(capacity: int) -> int:
    """Plain dict get-then-set ops/s over `capacity` fresh keys."""
    table: dict[str, bytes] = {}
    keys = [f"order:acct{i % 1000}:c{i}" for i in range(capacity)]
    t0 = time.perf_counter()
    for key in keys:
        if table.get(key) is None:
            table[key] = FINGERPRINT
    return round(capacity / (time.perf_counter() - t0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--keys", type=int, default=10_000_000)
    parser.add_argument("--capacity", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1_000, help="keys per batch call (1,000)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    native = run_pass(NativeIdempotencyStore(args.capacity, TTL_MS), "batch", args)
    peak_native = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    call = run_pass(NativeIdempotencyStore(args.capacity, TTL_MS), "call", args)
    spec = run_pass(MemoryIdempotencyStore(args.capacity, TTL_MS), "call", args)
    base = baseline(args.capacity)
    same = all(native[k] == x[k] for x in (call, spec) for k in ("entries", "evicted", "expired",
                                                                  "replays"))  # fmt: skip
    result = {
        "keys": args.keys,
        "capacity": args.capacity,
        "ops_per_s": native["ops_per_s"],
        "native_call_ops_per_s": call["ops_per_s"],
        "python_ops_per_s": spec["ops_per_s"],
        "baseline_ops_per_s": base,
        "ratio_to_baseline": round(native["ops_per_s"] / base, 3),
        "call_ratio_to_baseline": round(call["ops_per_s"] / base, 3),
        "python_ratio_to_baseline": round(spec["ops_per_s"] / base, 3),
        "peak_rss_mb": round(peak_native, 1),
        "rss_when_full_mb": native["rss_when_full_mb"],
        "python_rss_when_full_mb": spec["rss_when_full_mb"],
        "entries": native["entries"],
        "evicted": native["evicted"],
        "expired": native["expired"],
        "replays": native["replays"],
        "agree": same,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"idempotency stores, capacity {args.capacity:,}, {args.keys:,} keys "
          "(begin, then complete when new):")  # fmt: skip
    print(f"  native, batch calls: {result['ops_per_s']:,} ops/s "
          f"(ratio to baseline {result['ratio_to_baseline']})")  # fmt: skip
    print(f"  native, one call each: {result['native_call_ops_per_s']:,} ops/s")
    print(f"  python: {result['python_ops_per_s']:,} ops/s")
    print(f"  baseline unbounded dict get+set: {base:,} ops/s")
    full, peak = result["rss_when_full_mb"], result["peak_rss_mb"]
    print(f"  RSS once full: native {full} MB (peak {peak} MB), "
          f"python {result['python_rss_when_full_mb']} MB")  # fmt: skip
    print(f"  entries {result['entries']:,}, evicted {result['evicted']:,}, "
          f"expired {result['expired']:,}, replays {result['replays']:,}; "
          f"the three passes agree: {same}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
