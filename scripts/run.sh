#!/usr/bin/env bash
# Sets up, builds (Release) and runs ratelimit. Until the ratelimitd service
# lands, "run" is `ratelimit demo`: the guides' token bucket examples on a
# manual clock, each decision printed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DRATELIMIT_BUILD_TESTS=OFF -DRATELIMIT_BUILD_BENCH=OFF
cmake --build build/release -j"$(nproc)" --target ratelimit_cli
exec build/release/tools/ratelimit/ratelimit demo
