"""Python and the real `pls` binary on one pool, in separate processes."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import plasmite
from conftest import run


def test_python_tails_while_pls_processes_poke(client: plasmite.Client, pls: str, tmp_path: Path):
    pool = client.create_pool("shared")
    got = []
    stream = pool.tail(max_messages=12, timeout=10)
    reader = threading.Thread(target=lambda: got.extend(stream))
    reader.start()
    time.sleep(0.1)
    pokes = [
        subprocess.Popen(
            [pls, "--dir", str(tmp_path / "pools"), "poke", "shared", json.dumps({"w": w, "n": n}), "--tag", f"w{w}"],
            stdout=subprocess.DEVNULL,
        )
        for w in range(4)
        for n in range(3)
    ]
    assert all(p.wait(timeout=30) == 0 for p in pokes)
    reader.join(10)
    assert not reader.is_alive()
    assert [m.seq for m in got] == list(range(1, 13))
    assert sorted((m.data["w"], m.data["n"]) for m in got) == [(w, n) for w in range(4) for n in range(3)]
    assert all(m.tags == [f"w{m.data['w']}"] for m in got)


def test_a_poke_from_another_process_wakes_a_waiting_stream(client: plasmite.Client, pls: str, tmp_path: Path):
    pool = client.create_pool("wake")
    stream = pool.tail(max_messages=1, timeout=10)
    done = []
    reader = threading.Thread(target=lambda: done.extend((m, time.monotonic()) for m in stream))
    reader.start()
    time.sleep(0.2)
    r = run([pls, "--dir", str(tmp_path / "pools"), "poke", "wake", '{"hello": "from pls"}'])
    finished = time.monotonic()
    assert r.returncode == 0, r.stderr
    reader.join(10)
    (m, at), = done
    assert m.data == {"hello": "from pls"}
    assert at - finished < 0.5  # woken by the writer, not by a timeout


def test_pls_reads_what_python_wrote(client: plasmite.Client, pls: str, tmp_path: Path):
    pool = client.create_pool("py")
    pool.append({"b": 2, "a": "ü"}, tags=["from-python"])
    pool.append_json(b'{"n": 1.50}')
    d = str(tmp_path / "pools")
    r = run([pls, "--dir", d, "get", "py", "1"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == json.loads(pool.get_json(1))
    r = run([pls, "--dir", d, "peek", "py", "--tail", "2", "--timeout", "100ms", "--format", "jsonl"])
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [x["seq"] for x in lines] == [1, 2]
    assert lines[0]["meta"]["tags"] == ["from-python"]
    assert r.stdout.splitlines()[1].startswith('{"data":{"n":1.50}')  # spelling kept
    r = run([pls, "--dir", d, "--color", "never", "pool", "info", "py", "--json"])
    assert json.loads(r.stdout)["bounds"] == {"oldest": 1, "newest": 2}
