#!/usr/bin/env bash
# Builds the Python binding and runs its tests. Called by scripts/test;
# runs alone too.
#
# A virtualenv under target/ gets maturin, pytest and mypy from PyPI; the
# extension is built by maturin as the abi3 wheel users would install (with
# the ci profile, sharing target/ with the workspace so only PyO3 and the
# binding compile here), installed into the venv, its stubs checked against
# it with mypy's stubtest, and tested with pytest.
# The multi-process tests and the conformance runner use the real `pls`.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
profile="${PLASMITE_PROFILE:-ci}"
venv="$root/target/py-venv"

# CPython >= 3.10 (the wheel is abi3-py310): the first one found.
python="${PLASMITE_PYTHON:-}"
if [ -z "$python" ]; then
  for p in python3 python3.13 python3.12 python3.11 python3.10; do
    if command -v "$p" >/dev/null 2>&1 &&
      "$p" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      python="$p"; break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "python binding: no Python >= 3.10 found (set PLASMITE_PYTHON)" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  if ! "$python" -m venv "$venv"; then
    # Debian's system Python keeps venv (ensurepip) in a separate package.
    rm -rf "$venv"
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    "$python" -m venv "$venv"
  fi
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check "maturin>=1.9,<2" "pytest>=8" "mypy>=1.18"
export PYO3_PYTHON="$venv/bin/python"

manifest=bindings/python/Cargo.toml
# Its own workspace, so the root's fmt and clippy do not cover it.
cargo fmt --manifest-path "$manifest" -- --check
cargo clippy -q --manifest-path "$manifest" --profile "$profile" --target-dir target --all-targets -- -D warnings

wheels="target/py-wheels"
rm -rf "$wheels"
"$venv/bin/maturin" build -q --profile "$profile" -m "$manifest" --target-dir target \
  -o "$wheels" -i "$venv/bin/python"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheels"/plasmite-*.whl

# The stubs (_native.pyi) must match the extension, signature by signature.
"$venv/bin/python" -m mypy.stubtest plasmite --allowlist bindings/python/stubtest-allowlist.txt

cargo build -q --profile "$profile" -p plasmite-cli --bin pls
export PLASMITE_BIN="${PLASMITE_BIN:-$root/target/$profile/pls}"
cd bindings/python
timeout 600 "$venv/bin/python" -m pytest -q
