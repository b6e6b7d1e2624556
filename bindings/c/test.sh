#!/usr/bin/env bash
# Builds libplasmite (profile ci) and runs the C tests: the header drift
# test, then tests/capi_test.c compiled with gcc against the static library
# and run under valgrind (no leaks, no invalid accesses), and builds the C
# conformance runner. Called by scripts/test; runs alone too.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
profile="${PLASMITE_PROFILE:-ci}"
out="target/$profile/capi"
mkdir -p "$out"

if ! command -v valgrind >/dev/null 2>&1 || ! command -v pkg-config >/dev/null 2>&1; then
  echo "installing valgrind and pkg-config"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind pkg-config >/dev/null
fi

cargo build -q --profile "$profile" -p plasmite-capi
cargo test -q --profile "$profile" -p plasmite-capi --test header

lib="target/$profile/libplasmite.a"
cflags=(-std=c11 -O1 -g -Wall -Wextra -Werror -Ibindings/c/include)
libs=(-lpthread -ldl -lm)
gcc "${cflags[@]}" bindings/c/tests/capi_test.c "$lib" "${libs[@]}" -o "$out/capi_test"
gcc "${cflags[@]}" bindings/c/tests/conformance.c "$lib" "${libs[@]}" -o "$out/conformance"

# Installed as a user would get it (install.sh, pkg-config), the shared
# library links and runs too, and carries its SONAME.
bindings/c/install.sh --profile "$profile" --prefix "$out/sdk" >/dev/null
export PKG_CONFIG_PATH="$root/$out/sdk/lib/pkgconfig"
# shellcheck disable=SC2046 # word splitting of pkg-config output is intended
gcc "${cflags[@]}" bindings/c/tests/capi_test.c $(pkg-config --cflags --libs plasmite) \
  -Wl,-rpath,"$root/$out/sdk/lib" -o "$out/capi_test_shared"
readelf -d "$out/sdk/lib/libplasmite.so" | grep -q 'SONAME.*\[libplasmite.so\]'
"$out/capi_test_shared" >/dev/null
valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
  "$out/capi_test"
