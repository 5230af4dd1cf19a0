#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build/fuzz) and runs each for
# SECONDS (default 60) on a copy of its seed corpus, so new corpus entries do
# not land in the repository. Any crash, leak, UBSan report or timeout fails.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]     TARGET: cidr path config
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(cidr path config)

CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRATELIMIT_FUZZ=ON -DRATELIMIT_BUILD_TESTS=OFF -DRATELIMIT_BUILD_BENCH=OFF -DRATELIMIT_BUILD_TOOLS=OFF
cmake --build build/fuzz -j"$(nproc)" --target "${targets[@]/%/_fuzz}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in "${targets[@]}"; do
  echo "=== fuzz $t for ${seconds}s"
  cp -r "tests/fuzz/corpus/$t" "$work/$t"
  binary=$(find build/fuzz -name "${t}_fuzz" -type f -perm -u+x | head -1)
  # -timeout: one input taking over 10 s is a hang. -rss_limit_mb bounds memory.
  "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/$t-" "$work/$t" 2>&1 | tail -12
done
echo "=== fuzzing found nothing"
