"""Shared fixtures: a pool directory per test, and the real `pls` binary."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import plasmite

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def client(tmp_path: Path):
    """A client on an empty pool directory of its own."""
    with plasmite.Client(tmp_path / "pools") as c:
        yield c


@pytest.fixture
def pool(client: plasmite.Client):
    """A fresh 1 MiB pool named ``p``."""
    with client.create_pool("p") as p:
        yield p


@pytest.fixture(scope="session")
def pls() -> str:
    """The `pls` binary (PLASMITE_BIN, else target/ci/pls): tests with a
    second process spawn the real CLI."""
    binary = os.environ.get("PLASMITE_BIN") or str(ROOT / "target" / "ci" / "pls")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"pls binary not found at {binary}: build it (cargo build --profile ci -p plasmite-cli) or set PLASMITE_BIN")
    return binary


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """Runs a command, capturing text output, failing after 30 s."""
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, **kw)
