#!/usr/bin/env bash
# Sets up, builds (Release) and runs ratelimitd on 127.0.0.1:8080 with the
# embedded in-memory store (no config needed for POST /v1/check). Extra
# arguments go to ratelimitd, e.g. scripts/run.sh --listen 127.0.0.1:9000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DRATELIMIT_BUILD_TESTS=OFF -DRATELIMIT_BUILD_BENCH=OFF
cmake --build build/release -j"$(nproc)" --target ratelimitd ratelimit_cli
exec build/release/server/ratelimitd "$@"
