"""Tails and replays: filters, limits, idle timeouts, live delivery, stats."""

from __future__ import annotations

import json
import threading
import time

import pytest

import plasmite


def fill(pool: plasmite.Pool, n: int = 10) -> None:
    for i in range(1, n + 1):
        kind = "even" if i % 2 == 0 else "odd"
        tags = [kind] + (["big"] if i > 7 else [])
        pool.append({"i": i, "kind": kind}, tags=tags)


def seqs(stream) -> list[int]:
    return [m.seq for m in stream]


def test_reads_everything_from_the_oldest(pool: plasmite.Pool):
    fill(pool)
    assert seqs(pool.tail(max_messages=10)) == list(range(1, 11))
    assert seqs(pool.tail(timeout=0)) == list(range(1, 11))


def test_since_last_and_max(pool: plasmite.Pool):
    fill(pool)
    assert seqs(pool.tail(since_seq=8, max_messages=3)) == [8, 9, 10]
    assert seqs(pool.tail(since_seq=2, max_messages=2)) == [2, 3]
    assert seqs(pool.tail(last=3, timeout=0)) == [8, 9, 10]
    assert seqs(pool.tail(last=0, timeout=0)) == []
    assert seqs(pool.tail(max_messages=0)) == []


def test_tag_filters_and_together(pool: plasmite.Pool):
    fill(pool)
    assert seqs(pool.tail(tags=["even"], max_messages=5)) == [2, 4, 6, 8, 10]
    assert seqs(pool.tail(tags=["even", "big"], max_messages=2)) == [8, 10]
    assert seqs(pool.tail(tags=["absent"], timeout=0.05)) == []


def test_where_predicates_and_together(pool: plasmite.Pool):
    fill(pool)
    got = pool.tail(where=[".data.i >= 5", '.data.kind == "odd"'], max_messages=3)
    assert [m.data["i"] for m in got] == [5, 7, 9]
    # where sees the whole envelope, tags included.
    assert seqs(pool.tail(where=['.meta.tags | index("big") != null'], timeout=0)) == [8, 9, 10]


def test_last_counts_matches_not_messages(pool: plasmite.Pool):
    fill(pool)
    assert seqs(pool.tail(last=2, tags=["odd"], max_messages=2)) == [7, 9]
    assert seqs(pool.tail(last=2, where=['.data.kind == "even"'], timeout=0)) == [8, 10]


def test_idle_timeout_restarts_after_each_message(pool: plasmite.Pool):
    def writer():
        for i in range(3):
            time.sleep(0.15)
            pool.append({"i": i})

    t0 = time.monotonic()
    th = threading.Thread(target=writer)
    th.start()
    got = seqs(pool.tail(timeout=0.4))
    th.join()
    elapsed = time.monotonic() - t0
    # Three messages 150 ms apart never leave the stream idle for 400 ms; an
    # absolute deadline would have ended it before the third.
    assert got == [1, 2, 3]
    assert 0.8 <= elapsed < 3


def test_idle_timeout_ends_an_empty_stream(pool: plasmite.Pool):
    t0 = time.monotonic()
    assert seqs(pool.tail(timeout=0.2)) == []
    assert 0.15 <= time.monotonic() - t0 < 2


def test_live_messages_wake_a_waiting_stream(pool: plasmite.Pool):
    got = []
    stream = pool.tail(max_messages=5, timeout=5)

    def reader():
        for m in stream:
            got.append((m.seq, time.monotonic()))

    th = threading.Thread(target=reader)
    th.start()
    time.sleep(0.1)
    sent = []
    for i in range(5):
        sent.append(time.monotonic())
        pool.append({"i": i})
        time.sleep(0.1)
    th.join(5)
    assert not th.is_alive()
    assert [s for s, _ in got] == [1, 2, 3, 4, 5]
    # Woken by the futex at once, not at the end of a 50 ms wait slice.
    delays = sorted(at - s for (_, at), s in zip(got, sent))
    assert delays[2] < 0.02, delays


def test_next_json_gives_envelope_bytes(pool: plasmite.Pool):
    fill(pool, 3)
    stream = pool.tail(timeout=0)
    envs = []
    while (e := stream.next_json()) is not None:
        envs.append(e)
    assert envs == [pool.get_json(s) for s in (1, 2, 3)]
    assert json.loads(envs[0])["meta"]["tags"] == ["odd"]


def test_stream_stats_and_resume(client: plasmite.Client):
    small = client.create_pool("small", 64 << 10)
    stream = small.tail()
    for i in range(3000):
        small.append({"i": i, "pad": "x" * 50})
    first = next(stream)
    # The ring wrapped: the stream reports what it missed and goes on.
    assert stream.dropped > 0 and first.seq == stream.dropped + 1
    assert stream.delivered == 1 and stream.next_seq == first.seq + 1
    resumed = small.tail(since_seq=stream.next_seq, max_messages=1)
    assert next(resumed).seq == first.seq + 1
    assert "open" in repr(stream)


def test_exhausted_stream_keeps_stopping(pool: plasmite.Pool):
    fill(pool, 2)
    stream = pool.tail(max_messages=2)
    assert seqs(stream) == [1, 2]
    with pytest.raises(StopIteration):
        next(stream)
    assert stream.next_json() is None


def test_a_closed_stream_ends_like_a_closed_generator(pool: plasmite.Pool):
    fill(pool, 3)
    with pool.tail() as stream:
        assert next(stream).seq == 1
    assert stream.closed
    with pytest.raises(StopIteration):
        next(stream)
    assert stream.next_json() is None
    # Closed between two messages (say, by another thread), a loop just ends.
    stream = pool.tail()
    got = []
    for m in stream:
        got.append(m.seq)
        stream.close()
    assert got == [1]


def test_close_from_another_thread_ends_a_blocked_read(pool: plasmite.Pool):
    stream = pool.tail()
    threading.Timer(0.2, stream.close).start()
    t0 = time.monotonic()
    assert seqs(stream) == []
    assert time.monotonic() - t0 < 1.5


def test_one_reader_per_stream(pool: plasmite.Pool):
    stream = pool.tail(timeout=1)
    th = threading.Thread(target=lambda: list(stream))
    th.start()
    time.sleep(0.2)
    with pytest.raises(plasmite.UsageError, match="another thread"):
        next(stream)
    th.join()


def test_replay_paces_by_append_times(pool: plasmite.Pool):
    for i in range(3):
        pool.append({"i": i})
        time.sleep(0.2)
    t0 = time.monotonic()
    assert seqs(pool.replay(speed=1.0)) == [1, 2, 3]
    real = time.monotonic() - t0
    t0 = time.monotonic()
    assert seqs(pool.replay(speed=4.0)) == [1, 2, 3]
    fast = time.monotonic() - t0
    t0 = time.monotonic()
    assert seqs(pool.replay(speed=0)) == [1, 2, 3]
    instant = time.monotonic() - t0
    assert 0.35 <= real < 1.5
    assert 0.08 <= fast < real / 2
    assert instant < 0.1


def test_replay_selects_and_ends_when_caught_up(pool: plasmite.Pool):
    fill(pool)
    assert seqs(pool.replay(speed=0, last=2, tags=["odd"])) == [7, 9]
    assert seqs(pool.replay(speed=0, since_seq=9)) == [9, 10]
    assert seqs(pool.replay(speed=0, where=[".data.i == 3"])) == [3]
    assert seqs(pool.replay(speed=0, max_messages=2)) == [1, 2]
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(plasmite.UsageError, match="speed"):
            pool.replay(speed=bad)
