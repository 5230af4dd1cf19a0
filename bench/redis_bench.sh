#!/usr/bin/env bash
# Redis store throughput against a reference measured in the same run.
#
# Reference: redis-benchmark running EVALSHA of a typical single-key token
# bucket script (bench/reference_token_bucket.lua) at C concurrent clients:
# what Redis itself serves for one script per request at that concurrency.
# Ours: `ratelimit bench --store redis://...` with C concurrent callers through
# the full client path (argument building, pool, EVALSHA of lua/decide.lua,
# reply parsing), one check per decision:
#   unpipelined: pool=C, every caller has its own connection, one request in flight each;
#   pipelined:   pool=P (default 2), concurrent callers share connections and
#                their requests go out together (see src/store/redis/pipelined_connection.hpp).
# Also a 3-check decision (one entity, one hash tag) for scale.
#
# usage: bench/redis_bench.sh [BUILD_DIR] [-c CONCURRENCY] [-s SECONDS] [-p PIPELINED_POOL]
# Starts its own redis-server on a free loopback port and stops it (by PID) at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/rel
concurrency=50
seconds=5
pipelined_pool=2
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then build=$1; shift; fi
while [ $# -gt 0 ]; do
  case "$1" in
    -c) concurrency=$2; shift 2 ;;
    -s) seconds=$2; shift 2 ;;
    -p) pipelined_pool=$2; shift 2 ;;
    *) echo "usage: bench/redis_bench.sh [BUILD_DIR] [-c CONCURRENCY] [-s SECONDS] [-p POOL]" >&2; exit 2 ;;
  esac
done

if [ ! -x "$build/tools/ratelimit/ratelimit" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRATELIMIT_BUILD_TESTS=OFF -DRATELIMIT_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$build" --target ratelimit_cli >/dev/null
cli="$build/tools/ratelimit/ratelimit"

# A free port: one nobody answers on (bench_lib.sh's free_port).
. bench/bench_lib.sh
port=$(free_port)
dir=$(mktemp -d /tmp/ratelimit-redis-bench.XXXXXX)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" >"$dir/log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done

requests=$((seconds * 60000))
sha=$(redis-cli -p "$port" SCRIPT LOAD "$(cat bench/reference_token_bucket.lua)")
# CSV columns: test, rps, avg, min, p50, p95, p99, max (ms)
ref=$(redis-benchmark -p "$port" -c "$concurrency" -n "$requests" -r 100000 --csv \
        EVALSHA "$sha" 1 'ref:__rand_int__' 1000000000 11574 2>/dev/null | tail -1)
ref_rps=$(echo "$ref" | cut -d, -f2 | tr -d '"')
ref_p50=$(echo "$ref" | cut -d, -f5 | tr -d '"')
ref_p99=$(echo "$ref" | cut -d, -f7 | tr -d '"')

url="redis://127.0.0.1:$port"
run() {  # run POOL CHECKS -> JSON line
  "$cli" bench --store "$url?pool=$1&failure=none&prefix=bench:" --threads "$concurrency" \
    --checks "$2" --seconds "$seconds" --keys 100000 --json
}
field() { echo "$1" | sed -E "s/.*\"$2\":([0-9.eE+-]+).*/\1/"; }
unpiped=$(run "$concurrency" 1)
piped=$(run "$pipelined_pool" 1)
three=$(run "$pipelined_pool" 3)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '%-44s %12s %9s %9s %8s\n' "run ($concurrency concurrent callers)" "decisions/s" "p50 µs" "p99 µs" "vs ref"
printf '%-44s %12.0f %9.0f %9.0f %8s\n' "reference: redis-benchmark EVALSHA" "$ref_rps" \
  "$(awk -v v="$ref_p50" 'BEGIN{print v*1000}')" "$(awk -v v="$ref_p99" 'BEGIN{print v*1000}')" "1.00"
for name in unpiped piped three; do
  line=${!name}
  case $name in
    unpiped) label="ours, 1 check, unpipelined (pool=$concurrency)" ;;
    piped) label="ours, 1 check, pipelined (pool=$pipelined_pool)" ;;
    three) label="ours, 3 checks, pipelined (pool=$pipelined_pool)" ;;
  esac
  rps=$(field "$line" decisions_per_s)
  printf '%-44s %12.0f %9.0f %9.0f %8s\n' "$label" "$rps" "$(field "$line" p50_us)" "$(field "$line" p99_us)" \
    "$(ratio "$rps" "$ref_rps")"
done
