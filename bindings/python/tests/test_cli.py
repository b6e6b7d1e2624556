"""The `plasmite` console script runs the CLI in-process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import plasmite
from conftest import run

SCRIPT = str(Path(sys.executable).parent / "plasmite")


@pytest.fixture
def d(tmp_path: Path) -> str:
    return str(tmp_path / "pools")


def test_console_script_is_installed():
    assert os.access(SCRIPT, os.X_OK), SCRIPT


def test_round_trip_with_the_binding(d: str):
    r = run([SCRIPT, "--dir", d, "poke", "c", "--create", '{"via": "console script"}', "--tag", "cli"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["seq"] == 1
    m = plasmite.Client(d).open_pool("c").get(1)
    assert (m.data, m.tags) == ({"via": "console script"}, ["cli"])
    r = run([SCRIPT, "--dir", d, "get", "c", "1"])
    assert r.returncode == 0 and json.loads(r.stdout)["data"] == {"via": "console script"}


def test_exit_codes_mirror_the_cli(d: str):
    assert run([SCRIPT, "version"]).returncode == 0
    r = run([SCRIPT, "--dir", d, "get", "nope", "1"])
    assert r.returncode == 3
    err = json.loads(r.stderr)["error"]  # a pipe gets the JSON error
    assert err["kind"] == "NotFound"
    assert run([SCRIPT, "--no-such-flag"]).returncode == 2
    assert run([SCRIPT, "--dir", d, "pool", "create", "x"]).returncode == 0
    assert run([SCRIPT, "--dir", d, "pool", "create", "x"]).returncode == 4
    r = run([SCRIPT, "--dir", d, "peek", "x", "--timeout", "100ms"])
    assert r.returncode == 124


def test_stdin_is_read(d: str):
    r = run([SCRIPT, "--dir", d, "poke", "s", "--create"], input='{"a": 1}\n{"a": 2}\n')
    assert r.returncode == 0, r.stderr
    assert [m.data["a"] for m in plasmite.Client(d).open_pool("s").tail(timeout=0)] == [1, 2]


def test_python_dash_m(d: str):
    r = run([sys.executable, "-m", "plasmite", "--dir", d, "pool", "list", "--json"])
    assert r.returncode == 0, r.stderr


def test_main_returns_the_code_in_process(d: str, capfd):
    from plasmite.cli import main

    assert main(["--dir", d, "get", "nope", "1"]) == 3
    assert "NotFound" in capfd.readouterr().err
    # The previous SIGINT handler is back afterwards.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_ends_a_following_peek(d: str):
    assert run([SCRIPT, "--dir", d, "pool", "create", "f"]).returncode == 0
    proc = subprocess.Popen([SCRIPT, "--dir", d, "peek", "f"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        assert proc.poll() is None  # following
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=5)
        # Ended by the signal itself, as `pls` is.
        assert code == -signal.SIGINT
        assert time.monotonic() - t0 < 1
    finally:
        proc.kill()
