#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite, three times:
#   1. a normal build (warnings are errors): every test;
#   2. AddressSanitizer + UndefinedBehaviorSanitizer: every test;
#   3. ThreadSanitizer: the multi-threaded tests (labels "concurrency",
#      "redis", and "service": the ratelimitd binary itself).
#   4. libFuzzer (clang): each fuzz target for 30 s (scripts/fuzz.sh).
#   5. a Release (-O3) ratelimitd under a short load from each bench script
#      (bench/check_bench.sh, bench/proxy_bench.sh): they fail if it dies.
#      The tests build with -O2; a GCC 12 coroutine miscompilation once
#      crashed the proxy only at -O3, under load.
# Usage: scripts/test.sh [--quick]    (--quick: the normal build only)
# Build trees: build/test, build/asan, build/tsan. Exits non-zero on the
# first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  *) echo "usage: scripts/test.sh [--quick]" >&2; exit 2 ;;
esac

scripts/setup.sh
jobs=$(nproc)

# build DIR [cmake options...]: configures and builds one tree.
build() {
  local dir=$1; shift
  echo "=== build $dir"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRATELIMIT_WERROR=ON "$@"
  cmake --build "$dir" -j"$jobs"
}

# run_tests DIR [ctest options...]
run_tests() {
  local dir=$1; shift
  echo "=== test $dir"
  ctest --test-dir "$dir" -j"$jobs" --output-on-failure --timeout 900 "$@"
}

build build/test
run_tests build/test
[ "$quick" -eq 1 ] && exit 0

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
build build/asan -DRATELIMIT_SANITIZE=address,undefined -DRATELIMIT_BUILD_BENCH=OFF
run_tests build/asan

export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
build build/tsan -DRATELIMIT_SANITIZE=thread -DRATELIMIT_BUILD_BENCH=OFF
run_tests build/tsan -L "concurrency|redis|service"

# Coverage-guided fuzzing smoke run of each libFuzzer target (clang).
scripts/fuzz.sh 30

echo "=== release build under load"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DRATELIMIT_WERROR=ON \
  -DRATELIMIT_BUILD_TESTS=OFF -DRATELIMIT_BUILD_BENCH=OFF
cmake --build build/release -j"$jobs" --target ratelimitd
bench/check_bench.sh build/release/server/ratelimitd -d 2 -r 1
bench/proxy_bench.sh build/release/server/ratelimitd -d 2 -r 1

echo "=== all test runs passed"
