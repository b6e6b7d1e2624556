#!/usr/bin/env bash
# Builds libplasmite and installs it for C (and cgo) users:
#   PREFIX/include/plasmite.h
#   PREFIX/lib/libplasmite.so, PREFIX/lib/libplasmite.a
#   PREFIX/lib/pkgconfig/plasmite.pc   (from plasmite.pc.in, with PREFIX)
# Usage: bindings/c/install.sh [--prefix DIR (default /usr/local)] [--profile P (default release)]
# Then: cc app.c $(pkg-config --cflags --libs plasmite)
#   (set PKG_CONFIG_PATH=DIR/lib/pkgconfig for a prefix pkg-config does not search).
# The release build keeps panic=unwind so the library can turn a Rust panic
# into PLSM_ERROR_INTERNAL instead of aborting the host program.
set -euo pipefail
prefix=/usr/local
profile=release
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --profile) profile="$2"; shift 2 ;;
    *) echo "usage: $0 [--prefix DIR] [--profile PROFILE]" >&2; exit 2 ;;
  esac
done
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
target="target"
extra=()
if [ "$profile" = release ]; then
  # Its own target dir, so this panic setting does not rebuild (and then
  # get rebuilt by) the workspace's ordinary release binaries.
  target="target/capi-release"
  extra=(--config 'profile.release.panic="unwind"')
fi
cargo build -q --profile "$profile" --target-dir "$target" -p plasmite-capi "${extra[@]}"
dir="$target/$profile"; [ "$profile" = dev ] && dir="$target/debug"
prefix="$(mkdir -p "$prefix" && cd "$prefix" && pwd)"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
install -d "$prefix/include" "$prefix/lib/pkgconfig"
install -m 0644 bindings/c/include/plasmite.h "$prefix/include/"
install -m 0755 "$dir/libplasmite.so" "$prefix/lib/"
install -m 0644 "$dir/libplasmite.a" "$prefix/lib/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" bindings/c/plasmite.pc.in \
  >"$prefix/lib/pkgconfig/plasmite.pc"
echo "installed libplasmite $version under $prefix"
