#!/usr/bin/env python3
"""The Python runner of the conformance manifests in spec/conformance/.

Usage: conformance.py MANIFEST.json [--workdir DIR]. Exits 0 when every
step passes, 1 naming the first failing step, 2 on a bad manifest or bad
arguments. The rules are those of spec/conformance/README.md and the Rust
runner (tests/src/bin/plasmite-conformance.rs); every call goes through the
``plasmite`` Python API.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import plasmite


class StepFailed(Exception):
    """A step's outcome differs from its expectation."""


def main(argv: list[str]) -> int:
    if len(argv) == 1:
        manifest, workdir = Path(argv[0]), None
    elif len(argv) == 3 and argv[1] == "--workdir":
        manifest, workdir = Path(argv[0]), Path(argv[2])
    else:
        print("usage: conformance.py MANIFEST.json [--workdir DIR]", file=sys.stderr)
        return 2
    try:
        doc = json.loads(manifest.read_bytes())
    except (OSError, ValueError) as e:
        print(f"{manifest}: {e}", file=sys.stderr)
        return 2
    if doc.get("conformance_version") != 0 or isinstance(doc.get("conformance_version"), bool):
        print(f"{manifest}: unsupported conformance_version", file=sys.stderr)
        return 2
    name = doc.get("name", "manifest")
    if workdir is None:
        workdir = manifest.parent / f"work-{name}"
    if doc.get("fresh_workdir", True):
        try:
            fresh_dir(workdir)
        except OSError as e:
            print(f"{workdir}: cannot prepare workdir: {e}", file=sys.stderr)
            return 2
    runner = Runner(workdir)
    steps = doc.get("steps") or []
    for i, step in enumerate(steps):
        try:
            runner.step(step)
        except StepFailed as why:
            print(f"{name}: step {i} ({step.get('id', '?')}) failed: {why}", file=sys.stderr)
            return 1
    print(f"{name}: {len(steps)} steps passed")
    return 0


def fresh_dir(path: Path) -> None:
    """Deletes and recreates ``path``, first lifting immutable attributes a
    ``deny_write`` step left (root cannot delete such files otherwise)."""
    if path.exists():
        subprocess.run(["chattr", "-R", "-i", str(path)], stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(path)
    path.mkdir(parents=True)


class Runner:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.client = plasmite.Client(str(workdir))

    def step(self, step: dict[str, Any]) -> None:
        op = step.get("op", "")
        inp = step.get("input") or {}
        expect = step.get("expect") or {}
        handlers = {
            "create_pool": self.create,
            "append": self.append,
            "get": self.get,
            "tail": self.tail,
            "list_pools": lambda _i: self.list(),
            "pool_info": self.info,
            "delete_pool": self.delete,
            "list_readers": self.list_readers,
            "delete_reader": self.delete_reader,
        }
        actions = {
            "spawn_poke": self.spawn_poke,
            "corrupt_pool_header": self.corrupt,
            "deny_write": self.deny_write,
        }
        if op in actions:
            actions[op](inp)
            return
        if op not in handlers:
            raise StepFailed(f"unknown op {op!r}")
        want_error = expect.get("error")
        try:
            got = handlers[op](inp)
        except plasmite.PlasmiteError as e:
            if want_error is None:
                raise StepFailed(f"unexpected error: {e!r}") from None
            check_error(e, want_error)
            return
        if want_error is not None:
            raise StepFailed(f"expected error {want_error}, got success {got}")
        check_value(op, got, expect)

    def pool_ref(self, inp: dict[str, Any]) -> str:
        """A pool value with ``/`` is a path under the working directory."""
        pool = inp.get("pool", "")
        return str(self.workdir / pool) if "/" in pool else pool

    def open(self, inp: dict[str, Any]) -> plasmite.Pool:
        return self.client.open_pool(self.pool_ref(inp))

    def create(self, inp: dict[str, Any]) -> dict[str, Any]:
        size = inp.get("size_bytes", 1 << 20)
        self.client.create_pool(self.pool_ref(inp), size).close()
        return {}

    def append(self, inp: dict[str, Any]) -> dict[str, Any]:
        seq = 0
        with self.open(inp) as pool:
            for _ in range(inp.get("repeat", 1)):
                seq = pool.append(inp.get("data"), tags=strings(inp.get("tags"))).seq
        return {"seq": seq}

    def get(self, inp: dict[str, Any]) -> dict[str, Any]:
        with self.open(inp) as pool:
            m = pool.get(inp.get("seq", 0))
        return message_value(m)

    def tail(self, inp: dict[str, Any]) -> dict[str, Any]:
        """Reads until the stream ends. A named stream acknowledges each
        message when the next is asked for, unless ``manual_ack``; then only
        an explicit ``ack()`` once ``ack_after`` messages were read."""
        ack_after = inp.get("ack_after")
        with self.open(inp) as pool:
            stream = pool.tail(
                since_seq=inp.get("since_seq"),
                last=inp.get("last"),
                max_messages=inp.get("max"),
                timeout=inp.get("timeout_ms", 1000) / 1000.0,
                tags=strings(inp.get("tags")),
                where=strings(inp.get("where")),
                name=inp.get("name"),
                auto_ack=not inp.get("manual_ack", False),
            )
            with stream:
                out = []
                for m in stream:
                    out.append(message_value(m))
                    if ack_after == len(out):
                        stream.ack()
                return {"messages": out, "dropped": stream.dropped}

    def list_readers(self, inp: dict[str, Any]) -> dict[str, Any]:
        with self.open(inp) as pool:
            readers = pool.readers()
        return {"readers": [{"name": r.name, "next_seq": r.next_seq} for r in readers]}

    def delete_reader(self, inp: dict[str, Any]) -> dict[str, Any]:
        with self.open(inp) as pool:
            pool.delete_reader(inp.get("name", ""))
        return {}

    def list(self) -> dict[str, Any]:
        return {"names": [e.name for e in self.client.list_pools()]}

    def info(self, inp: dict[str, Any]) -> dict[str, Any]:
        info = self.client.pool_info(self.pool_ref(inp))
        return {"file_size": info.file_size, "oldest": info.oldest_seq, "newest": info.newest_seq}

    def delete(self, inp: dict[str, Any]) -> dict[str, Any]:
        self.client.delete_pool(self.pool_ref(inp))
        return {}

    def spawn_poke(self, inp: dict[str, Any]) -> None:
        binary = os.environ.get("PLASMITE_BIN", "pls")
        pool = self.pool_ref(inp)
        children = []
        for m in inp.get("messages") or []:
            cmd = [binary, "--dir", str(self.workdir), "poke", pool, json.dumps(m.get("data"))]
            for t in strings(m.get("tags")):
                cmd += ["--tag", t]
            try:
                children.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL))
            except OSError as e:
                raise StepFailed(f"cannot run {binary}: {e}") from None
        for c in children:
            if c.wait() != 0:
                raise StepFailed(f"{binary} poke exited with {c.returncode}")

    def resolve(self, inp: dict[str, Any]) -> Path:
        """The file a pool reference names (as PoolDir::resolve does)."""
        ref = self.pool_ref(inp)
        if "/" in ref:
            return Path(ref)
        return self.workdir / (ref if ref.endswith(".plasmite") else f"{ref}.plasmite")

    def corrupt(self, inp: dict[str, Any]) -> None:
        path = self.resolve(inp)
        try:
            with open(path, "r+b") as f:
                f.write(b"\xa5" * 64)
        except OSError as e:
            raise StepFailed(f"{path}: {e}") from None

    def deny_write(self, inp: dict[str, Any]) -> None:
        path = self.resolve(inp)
        try:
            os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        except OSError as e:
            raise StepFailed(f"{path}: {e}") from None
        # Root ignores mode bits: if the file still opens for writing, make
        # it immutable, which binds root too.
        try:
            with open(path, "r+b"):
                still_writable = True
        except OSError:
            still_writable = False
        if still_writable:
            r = subprocess.run(["chattr", "+i", str(path)], check=False)
            if r.returncode != 0:
                raise StepFailed("mode 0444 does not stop this user and `chattr +i` failed")


def strings(v: Any) -> list[str]:
    return [t for t in (v or []) if isinstance(t, str)]


def message_value(m: plasmite.Message) -> dict[str, Any]:
    return {"seq": m.seq, "data": m.data, "tags": m.tags}


def check_error(e: plasmite.PlasmiteError, want: dict[str, Any]) -> None:
    if want.get("kind") != e.kind.label:
        raise StepFailed(f"expected error kind {want.get('kind')}, got {e.kind.label}: {e}")
    needle = want.get("message_contains")
    if needle is not None and needle not in e.message:
        raise StepFailed(f"error message {e.message!r} lacks {needle!r}")
    for key, has in (("has_path", e.path is not None), ("has_seq", e.seq is not None)):
        if key in want and want[key] != has:
            raise StepFailed(f"{key}: expected {want[key]}, got {has} ({e!r})")


def check_value(op: str, got: Any, expect: dict[str, Any]) -> None:
    if op == "tail":
        if "dropped_min" in expect and got["dropped"] < expect["dropped_min"]:
            raise StepFailed(f"tail: dropped expected at least {expect['dropped_min']}, got {got['dropped']}")
        got = got["messages"]
        seqs = [m["seq"] for m in got]
        if any(a >= b for a, b in zip(seqs, seqs[1:])):
            raise StepFailed(f"tail: seqs not strictly rising: {seqs}")
        if "messages" in expect:
            want = expect["messages"]
            if len(want) != len(got):
                raise StepFailed(f"tail: message count expected {len(want)}, got {len(got)}")
            for w, g in zip(want, got):
                check_message(w, g)
        elif "count" in expect:
            if expect["count"] != len(got):
                raise StepFailed(f"tail: message count expected {expect['count']}, got {len(got)}")
        elif "messages_unordered" in expect:
            want = expect["messages_unordered"]
            if len(want) != len(got):
                raise StepFailed(f"tail: message count expected {len(want)}, got {len(got)}")
            for w in want:
                if not any(matches(w, g) for g in got):
                    raise StepFailed(f"tail: no message matches {w}")
        return
    if op == "get":
        check_message(expect, got)
        return
    for key in ("seq", "file_size", "oldest", "newest"):
        if key in expect and not json_eq(expect[key], got.get(key)):
            raise StepFailed(f"{op}: {key} expected {expect[key]}, got {got.get(key)}")
    if "readers" in expect:
        have = sorted(got.get("readers", []), key=lambda r: r["name"])
        if not json_eq(expect["readers"], have):
            raise StepFailed(f"readers: expected {expect['readers']}, got {have}")
    if "names" in expect:
        want = sorted(expect["names"])
        have = sorted(got.get("names", []))
        if want != have:
            raise StepFailed(f"names: expected {want}, got {have}")


def matches(want: dict[str, Any], got: dict[str, Any]) -> bool:
    try:
        check_message(want, got)
        return True
    except StepFailed:
        return False


def check_message(want: dict[str, Any], got: dict[str, Any]) -> None:
    """Compares the keys an expectation gives (seq, data, tags)."""
    if "seq" in want and not json_eq(want["seq"], got.get("seq")):
        raise StepFailed(f"seq: expected {want['seq']}, got {got.get('seq')}")
    if "data" in want and not json_eq(want["data"], got.get("data")):
        raise StepFailed(f"data: expected {want['data']}, got {got.get('data')}")
    if "tags" in want and want["tags"] != got.get("tags"):
        raise StepFailed(f"tags: expected {want['tags']}, got {got.get('tags')}")


def json_eq(a: Any, b: Any) -> bool:
    """Equality of JSON values, numbers by value; true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_eq(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_eq(v, b[k]) for k, v in a.items())
    return type(a) is type(b) and a == b


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
