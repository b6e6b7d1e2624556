"""Durable named readers: `Pool.tail(name=...)`, `Stream.ack()`,
`Pool.readers()` and `Pool.delete_reader()`, in one process and across a
consumer process killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

import plasmite


def fill(pool: plasmite.Pool, n: int = 10) -> None:
    for i in range(1, n + 1):
        pool.append({"i": i}, tags=["even" if i % 2 == 0 else "odd"])


def seqs(stream: plasmite.Stream) -> list[int]:
    return [m.seq for m in stream]


def position(pool: plasmite.Pool, name: str) -> int:
    """The stored next_seq of the reader `name`."""
    (r,) = [r for r in pool.readers() if r.name == name]
    return r.next_seq


def test_a_named_stream_resumes_after_the_last_ack(pool: plasmite.Pool):
    fill(pool)
    with pool.tail(name="worker", auto_ack=False, max_messages=3) as s:
        assert s.name == "worker"
        assert next(s).seq == 1
        s.ack()
        assert next(s).seq == 2
    # Closed before acknowledging 2: it comes again. The start options
    # apply only when the reader is created, so since_seq is ignored now.
    with pool.tail(name="worker", auto_ack=False, since_seq=9, max_messages=3) as s:
        assert seqs(s) == [2, 3, 4]
        s.ack()
    assert position(pool, "worker") == 5
    # Filtered-out messages are passed over by the acknowledged position.
    with pool.tail(name="worker", auto_ack=False, tags=["even"], timeout=0) as s:
        assert seqs(s) == [6, 8, 10]
        s.ack()
    assert position(pool, "worker") == 11
    pool.append({"i": 11})
    assert seqs(pool.tail(name="worker", timeout=0)) == [11]


def test_auto_ack_acknowledges_a_message_when_the_next_is_asked_for(pool: plasmite.Pool):
    fill(pool)
    s = pool.tail(name="auto")  # auto_ack is the default with a name
    assert next(s).seq == 1
    assert position(pool, "auto") == 1, "1 is still being handled"
    assert next(s).seq == 2
    assert position(pool, "auto") == 2
    s.close()
    with pool.tail(name="auto", max_messages=2) as s:
        assert seqs(s) == [2, 3]
    # Running into max_messages asked for more, so 3 is acknowledged too.
    assert position(pool, "auto") == 4


def test_without_auto_ack_only_ack_stores_the_position(pool: plasmite.Pool):
    fill(pool)
    with pool.tail(name="manual", auto_ack=False, max_messages=4) as s:
        assert seqs(s) == [1, 2, 3, 4]
        assert position(pool, "manual") == 1
        s.ack()
        assert position(pool, "manual") == 5
        s.ack()  # idempotent
    assert position(pool, "manual") == 5
    with pool.tail(name="manual", auto_ack=False, max_messages=2) as s:
        assert seqs(s) == [5, 6]
    assert seqs(pool.tail(name="manual", auto_ack=False, max_messages=1)) == [5]


def test_ack_through_stores_what_the_consumer_says_up_to_what_was_delivered(
    pool: plasmite.Pool,
):
    fill(pool)
    with pool.tail(name="handoff", auto_ack=False, max_messages=5) as s:
        assert seqs(s) == [1, 2, 3, 4, 5]
        s.ack_through(3)
        assert position(pool, "handoff") == 4
        s.ack_through(1000)
        assert position(pool, "handoff") == 6
        for bad in (-1, "3", 1.5):
            with pytest.raises(plasmite.UsageError, match="seq must be an int"):
                s.ack_through(bad)
        assert position(pool, "handoff") == 6
    pool.tail(max_messages=1).ack_through(1)  # unnamed: nothing to store


def test_the_message_being_handled_when_the_stream_is_dropped_comes_again(pool: plasmite.Pool):
    fill(pool)
    # Leaving the loop (break, an exception) acknowledges nothing more.
    with pool.tail(name="w") as s:
        for m in s:
            if m.seq == 3:
                break
    assert position(pool, "w") == 3
    # A stream dropped without close(), as when its owner goes away.
    s = pool.tail(name="w")
    assert [next(s).seq, next(s).seq] == [3, 4]
    del s
    s = pool.tail(name="w", max_messages=1)
    assert seqs(s) == [4]


def test_ack_after_close_stores_what_was_delivered(pool: plasmite.Pool):
    fill(pool, 3)
    # A consumer stopped from another thread (a shutdown hook) while it
    # handles a message still acknowledges that message.
    s = pool.tail(name="w", auto_ack=False)
    handled = []
    for m in s:
        if m.seq == 2:
            threading.Thread(target=s.close).start()
            time.sleep(0.1)
        handled.append(m.seq)
        s.ack()
    assert s.closed
    assert handled == [1, 2]
    assert position(pool, "w") == 3


def test_an_unnamed_stream_ignores_ack_and_auto_ack(pool: plasmite.Pool):
    fill(pool, 3)
    with pool.tail(auto_ack=False, max_messages=2) as s:
        assert s.name is None
        assert seqs(s) == [1, 2]
        s.ack()
    assert pool.readers() == []
    s.ack()  # closed and unnamed: still nothing to do


def test_readers_lists_and_delete_reader_forgets(pool: plasmite.Pool):
    fill(pool, 5)
    before = time.time_ns()
    for name in ("alpha", "beta"):
        with pool.tail(name=name, max_messages=2) as s:
            assert seqs(s) == [1, 2]
    after = time.time_ns()
    readers = pool.readers()
    assert [(r.name, r.next_seq) for r in readers] == [("alpha", 3), ("beta", 3)]
    a = readers[0]
    assert isinstance(a, plasmite.Reader)
    assert before <= a.created_ns <= a.acked_ns <= after
    assert repr(a) == f"Reader(name='alpha', next_seq=3, acked_ns={a.acked_ns}, created_ns={a.created_ns})"
    assert pool.info().to_dict()["readers"][0]["name"] == "alpha"

    pool.delete_reader("alpha")
    assert [r.name for r in pool.readers()] == ["beta"]
    with pytest.raises(plasmite.NotFoundError) as e:
        pool.delete_reader("alpha")
    assert "alpha" in e.value.message
    assert e.value.path == pool.path
    assert e.value.kind == plasmite.ErrorKind.NOT_FOUND
    # A deleted reader starts afresh, where its options say.
    assert seqs(pool.tail(name="alpha", last=1, max_messages=1)) == [5]

    pool.close()
    with pytest.raises(plasmite.UsageError):
        pool.readers()


def test_a_lapped_named_reader_reports_what_it_missed(client: plasmite.Client):
    pool = client.create_pool("small", 65536)
    pool.append({"i": 0})
    with pool.tail(name="slow", max_messages=1) as s:
        assert seqs(s) == [1]
        assert s.dropped == 0
    for i in range(2000):
        pool.append({"i": i, "pad": "x" * 100})
    oldest = pool.info().oldest_seq
    assert oldest is not None and oldest > 2, "the ring lapped the reader"
    with pool.tail(name="slow", max_messages=1) as s:
        # Known as soon as the stream is opened, before the first message.
        assert s.dropped == oldest - 2
        assert next(s).seq == oldest
        assert s.dropped == oldest - 2


def test_bad_reader_names_are_usage_errors(pool: plasmite.Pool):
    for bad in ("no spaces", "", "x" * 33, "slash/name", "é"):
        with pytest.raises(plasmite.UsageError):
            pool.tail(name=bad)
    assert pool.readers() == []
    pool.tail(name="Ok-1.2_3" + "x" * 24, max_messages=0).close()
    with pytest.raises(TypeError):
        pool.tail(name=7)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pool.replay(name="w")  # type: ignore[call-arg]


def test_stream_repr_shows_the_name(pool: plasmite.Pool):
    s = pool.tail(name="billing", timeout=0)
    assert repr(s) == "<plasmite.Stream open name='billing' next_seq=1 delivered=0>"
    s.close()
    assert repr(s).startswith("<plasmite.Stream closed name='billing'")


# A consumer as a user would write it: handle each message (here, write its
# seq out), then ask for the next one, which acknowledges it. The padding
# makes a pipe hold only ~16 lines, so the consumer can never run far ahead
# of the test reading it: every kill lands mid-stream.
CONSUMER = """
import sys, plasmite
pool = plasmite.Client(sys.argv[1]).open_pool("jobs")
pad = "x" * 4000
for m in pool.tail(name="billing"):
    sys.stdout.write(f"{m.seq} {pad}\\n")
    sys.stdout.flush()
"""


def test_a_killed_consumer_process_resumes_without_a_gap(client: plasmite.Client, tmp_path: Path):
    pool = client.create_pool("jobs", 4 << 20)
    total = 300
    for i in range(1, total + 1):
        pool.append({"i": i})
    printed: list[list[int]] = []
    last_seen = 0
    rounds = 0
    while last_seen < total:
        rounds += 1
        assert rounds < 200, f"no progress after {rounds} rounds"
        take = rounds * 7 % 40 + 1
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(
                [sys.executable, "-c", CONSUMER, str(tmp_path / "pools")],
                stdout=subprocess.PIPE,
                stderr=err,
            )
            assert proc.stdout is not None
            watchdog = threading.Timer(60, proc.kill)
            watchdog.start()
            got: list[int] = []
            killed = False
            try:
                # Read the pipe directly: whatever the consumer wrote before
                # it died counts as delivered, however far it got.
                for line in iter(proc.stdout.readline, b""):
                    if not line.endswith(b"\n"):
                        assert killed, f"cut line from a live consumer: {line[:40]!r}"
                        break  # cut short by the kill: not delivered
                    got.append(int(line.split(b" ", 1)[0]))
                    # Without warning, after a varying number of lines, or
                    # once everything is delivered (it then waits forever).
                    if not killed and (len(got) >= take or got[-1] == total):
                        os.kill(proc.pid, signal.SIGKILL)
                        killed = True
            finally:
                watchdog.cancel()
                proc.kill()
                proc.wait()
                proc.stdout.close()
            err.seek(0)
            assert killed, f"round {rounds}: the consumer ended on its own: {err.read().decode()}"
        assert proc.returncode == -signal.SIGKILL
        assert got, f"round {rounds}: nothing delivered"
        # In order, none skipped within a round; a round resumes at the last
        # message the previous one printed (killed before asking for the
        # next, so unacknowledged) or right after it: never later.
        assert got == list(range(got[0], got[0] + len(got))), got
        assert last_seen <= got[0] <= last_seen + 1, (last_seen, got[:3])
        printed.append(got)
        last_seen = got[-1]
    union = sorted({s for r in printed for s in r})
    assert union == list(range(1, total + 1))
    assert sum(1 for r in printed if r[-1] < total) >= 3, "killed mid-stream several times"
    assert total <= position(pool, "billing") <= total + 1
