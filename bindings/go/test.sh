#!/usr/bin/env bash
# Builds and tests the Go binding: gofmt, go vet, go test (against the
# libplasmite that bindings/c/install.sh stages under target/, found through
# pkg-config and an rpath), then builds the conformance runner and the
# benchmark into target/<profile>/go/. Standard library only: no module
# downloads. Called by scripts/test after bindings/c/test.sh; runs alone too.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
profile="${PLASMITE_PROFILE:-ci}"

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "installing Go"
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go pkg-config >/dev/null
  fi
fi
if ! command -v pkg-config >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pkg-config >/dev/null
fi

sdk="$root/target/$profile/capi/sdk"
bindings/c/install.sh --profile "$profile" --prefix "$sdk" >/dev/null
cargo build -q --profile "$profile" -p plasmite-cli --bin pls

export PKG_CONFIG_PATH="$sdk/lib/pkgconfig"
export CGO_ENABLED=1
export CGO_LDFLAGS="-Wl,-rpath,$sdk/lib"
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-buildvcs=false
export PLASMITE_BIN="${PLASMITE_BIN:-$root/target/$profile/pls}"
out="$root/target/$profile/go"
mkdir -p "$out"

cd bindings/go
unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
  echo "gofmt: these files need formatting:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
go test -race -count=1 ./...
go build -o "$out/conformance" ./cmd/conformance
go build -o "$out/bench" ./cmd/bench
