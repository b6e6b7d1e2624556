"""The GIL is released while streams wait; Ctrl-C stops a waiting stream."""

from __future__ import annotations

import _thread
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import plasmite


def test_other_threads_run_while_a_stream_waits(pool: plasmite.Pool):
    counter = 0
    stop = threading.Event()

    def spin():
        nonlocal counter
        while not stop.is_set():
            counter += 1

    th = threading.Thread(target=spin)
    th.start()
    try:
        t0 = time.monotonic()
        before = counter
        assert list(pool.tail(timeout=0.5)) == []  # blocks 0.5 s in the library
        during = counter - before
        waited = time.monotonic() - t0
    finally:
        stop.set()
        th.join()
    # A held GIL would freeze the spinner for the whole wait; released, it
    # counts freely (millions per second, thousands even on a loaded box).
    assert waited >= 0.45
    assert during > 10_000, during


def test_a_background_tail_does_not_block_the_main_thread(pool: plasmite.Pool):
    got = []
    th = threading.Thread(target=lambda: got.extend(m.seq for m in pool.tail(max_messages=50, timeout=5)))
    th.start()
    t0 = time.monotonic()
    for i in range(50):
        pool.append({"i": i})
    appended = time.monotonic() - t0
    th.join(5)
    assert got == list(range(1, 51))
    assert appended < 2


def test_shared_pool_concurrent_appends(pool: plasmite.Pool):
    def writer(w):
        for i in range(200):
            pool.append({"w": w, "i": i}, tags=[f"w{w}"])

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    msgs = list(pool.tail(timeout=0))
    assert [m.seq for m in msgs] == list(range(1, 801))
    for w in range(4):
        assert [m.data["i"] for m in msgs if m.tags == [f"w{w}"]] == list(range(200))


def test_interrupt_main_raises_keyboard_interrupt_in_a_waiting_stream(pool: plasmite.Pool):
    threading.Timer(0.2, _thread.interrupt_main).start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        for _ in pool.tail():
            pass
    assert time.monotonic() - t0 < 1


def test_real_sigint_stops_a_waiting_stream(pool: plasmite.Pool):
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        pool.tail().next_json()
    assert time.monotonic() - t0 < 1


def test_sigint_stops_a_replay_sleeping_between_messages(pool: plasmite.Pool):
    pool.append({"i": 1})
    time.sleep(0.3)
    pool.append({"i": 2})
    stream = pool.replay(speed=0.01)  # the second message is due in 30 s
    assert next(stream).seq == 1
    threading.Timer(0.2, _thread.interrupt_main).start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        next(stream)
    assert time.monotonic() - t0 < 1


def test_ctrl_c_in_a_python_process_tailing(tmp_path):
    """A script tailing forever gets KeyboardInterrupt from a real Ctrl-C."""
    script = textwrap.dedent(
        f"""
        import sys, plasmite
        pool = plasmite.Client({str(tmp_path)!r}).create_pool("p")
        print("ready", flush=True)
        try:
            for m in pool.tail():
                pass
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(42)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 42
        assert time.monotonic() - t0 < 1
        assert proc.stdout.read().strip() == "interrupted"
    finally:
        proc.kill()
