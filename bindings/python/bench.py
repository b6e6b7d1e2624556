"""Binding benchmark (issue 5): append and read throughput through the Python API.

Workload, the same for every language: a 64 MiB pool; N = 200,000 appends,
one call each, of ``{"i": <i>, "pad": "xxx…"}`` padded so the compact JSON
is 100 bytes, no tags, durability fast; then every message read back from
the oldest through ``Pool.tail``. Prints one JSON line.

The natural read form here is a ``Message`` object per message (seq, time
and tags at hand; ``data`` parsed only when touched). ``--forms`` also times
reading with ``data`` parsed, and envelope bytes via ``Stream.next_json``.
"""

from __future__ import annotations

import functools
import json
import shutil
import sys
import tempfile
import time

import plasmite

N = 200_000
POOL_SIZE = 64 << 20


@functools.lru_cache(maxsize=None)
def pads() -> dict[int, str]:
    """Padding by digit count of i, so that the compact JSON is 100 bytes."""
    out = {}
    for digits in range(1, 8):
        # {"i":<digits>,"pad":"<pad>"} is 15 bytes of punctuation and keys.
        out[digits] = "x" * (100 - 15 - digits)
    return out


def compact(i: int) -> bytes:
    """The compact JSON of data object ``i``."""
    return ('{"i":%d,"pad":"%s"}' % (i, pads()[len(str(i))])).encode()


def bench_append(pool: plasmite.Pool) -> float:
    # Each data object is built per call, as an application would; the
    # padding is looked up by digit count, per run of i with that many
    # digits, so the loop itself costs no more than building the dict.
    pad = pads()
    append = pool.append
    t0 = time.perf_counter()
    lo = 0
    for digits in range(1, 8):
        hi = min(N, 10**digits)
        p = pad[digits]
        for i in range(lo, hi):
            append({"i": i, "pad": p})
        lo = hi
        if lo >= N:
            break
    return N / (time.perf_counter() - t0)


def bench_read(pool: plasmite.Pool, form: str) -> float:
    t0 = time.perf_counter()
    n = 0
    with pool.tail(max_messages=N) as stream:
        if form == "message":
            for _m in stream:
                n += 1
        elif form == "data":
            for m in stream:
                _ = m.data
                n += 1
        else:
            next_json = stream.next_json
            while next_json() is not None:
                n += 1
    elapsed = time.perf_counter() - t0
    if n != N:
        raise SystemExit(f"read {n} messages, expected {N}")
    return N / elapsed


def main() -> None:
    forms = "--forms" in sys.argv[1:]
    workdir = tempfile.mkdtemp(prefix="plasmite-bench-py-")
    try:
        with plasmite.Client(workdir) as client:
            pool = client.create_pool("bench", POOL_SIZE)
            # Check the workload before timing it.
            probe = pads()[1]
            assert len(json.dumps({"i": 0, "pad": probe}, separators=(",", ":"))) == 100
            append_per_s = bench_append(pool)
            read_per_s = bench_read(pool, "message")
            # Outside the clock: every message is the workload's, in order.
            for i, m in enumerate(pool.tail(max_messages=N)):
                if m.data_json != compact(i):
                    raise SystemExit(f"message {m.seq} is {m.data_json!r}")
            result = {
                "lang": "python",
                "append_per_s": round(append_per_s, 1),
                "read_per_s": round(read_per_s, 1),
                "n": N,
                "read_form": "plasmite.Message objects (seq/time/tags; data parsed lazily, not touched)",
            }
            if forms:
                result["read_data_per_s"] = round(bench_read(pool, "data"), 1)
                result["read_json_bytes_per_s"] = round(bench_read(pool, "json"), 1)
            print(json.dumps(result))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
