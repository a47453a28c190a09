"""Throughput and memory of the in-memory idempotency store under a long key stream.

`--keys` (default 10,000,000) order keys `order:acctN:cid` go through a store of capacity
`--capacity` (default 1,000,000) with a one-hour TTL, on a simulated clock that advances
1 ms per key (so about 2.8 hours pass and the TTL wheel expires keys too). One key in ten
repeats a recent one, as a client retry, which gets the first response back. Every new key
is completed with a small response, as after the venue answered.

Keys are made in chunks outside the timed sections. One operation is what a gateway does per
request: `begin` (check-and-record), then `complete` when the key was new. The script samples
the process RSS after each chunk, so a flat RSS once the store is full shows. The baseline, in
the same process, is an unbounded plain `dict` doing get-then-set on the first `--capacity`
keys.

    python benchmarks/idempotency.py [--keys N] [--capacity C] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot4.service.idempotency import NEW, MemoryIdempotencyStore  # noqa: E402

CHUNK = 200_000


def rss_mb() -> float:
    """The current resident set size (Linux /proc), in MB."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--keys", type=int, default=10_000_000)
    parser.add_argument("--capacity", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    store = MemoryIdempotencyStore(args.capacity, 3_600_000)
    begin, complete = store.begin, store.complete
    response, fingerprint = b'{"orderId":1,"status":"NEW"}', b"fp"
    total_s = 0.0
    samples: list[tuple[int, float]] = []
    replays = 0
    done = 0
    gc.collect()
    while done < args.keys:
        n = min(CHUNK, args.keys - done)
        ids = [
            i - rng.randint(1, 50) if i % 10 == 0 and i > 50 else i for i in range(done, done + n)
        ]
        keys = [f"order:acct{(j * 7919) % 1000}:c{j}" for j in ids]
        t0 = time.perf_counter()
        now = done
        for key in keys:
            status, _ = begin(key, fingerprint, now)
            if status is NEW:
                complete(key, response, now)
            else:
                replays += 1
            now += 1
        total_s += time.perf_counter() - t0
        done += n
        samples.append((done, rss_mb()))
    full = [mb for count, mb in samples if count >= 2 * args.capacity]
    baseline: dict[str, bytes] = {}
    base_keys = [f"order:acct{i % 1000}:c{i}" for i in range(args.capacity)]
    t0 = time.perf_counter()
    for key in base_keys:
        if baseline.get(key) is None:
            baseline[key] = fingerprint
    base_s = time.perf_counter() - t0
    result = {
        "keys": args.keys,
        "capacity": args.capacity,
        "ops_per_s": round(args.keys / total_s),
        "baseline_dict_ops_per_s": round(args.capacity / base_s),
        "ratio_to_baseline": round((args.keys / total_s) / (args.capacity / base_s), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_when_full_mb": [round(min(full), 1), round(max(full), 1)] if full else None,
        "entries": len(store),
        "evicted": store.evicted,
        "expired": store.expired,
        "replays": replays,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"idempotency store, capacity {args.capacity:,}, {args.keys:,} keys:")
    print(f"  check-and-record (begin, then complete when new): {result['ops_per_s']:,} ops/s")
    print(f"  baseline unbounded dict get+set: {result['baseline_dict_ops_per_s']:,} ops/s "
          f"(ratio {result['ratio_to_baseline']})")  # fmt: skip
    print(f"  RSS once full: {result['rss_when_full_mb']} MB; peak {result['peak_rss_mb']} MB")
    print(f"  entries {len(store):,}, evicted {store.evicted:,}, expired {store.expired:,}, "
          f"replays {replays:,}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
