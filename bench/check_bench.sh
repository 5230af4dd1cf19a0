#!/usr/bin/env bash
# ratelimitd's /v1/check under HTTP load, against references measured in the
# same run (bench/README.md, "ratelimitd under load"):
#   (a) nginx with a limit_req zone keyed on the X-User header (a rate limit
#       done by the web server itself), answering 200 / 429;
#   (b) ratelimitd /v1/check on the in-memory store;
#   both under `wrk -t2 -c64 -d10s` with bench/wrk/check.lua (the same
#   requests to both: nginx keys on the header, ratelimitd on the body);
#   (c) ratelimitd /v1/check on a Redis store (--store redis://...?pool=&batch=)
#       under the same wrk load, vs (d) redis-benchmark running EVALSHA of
#       bench/reference_token_bucket.lua at the same concurrency; for both,
#       the CPU time redis-server spent per decision (what one Redis core
#       can serve, whatever the load generator costs).
# Runs (a)-(d) ROUNDS times, alternating, so a slow spell of a shared machine
# falls on both sides of a ratio. Prints requests/s, p50 and p99 latency for
# each phase of each round, the share of requests limited, each round's
# ratios ratelimitd/nginx and ratelimitd-redis/redis-benchmark, and their medians.
#
# usage: bench/check_bench.sh [RATELIMITD_BINARY] [-d SECONDS] [-r ROUNDS] [-c CONNECTIONS]
#                             [-t WRK_THREADS] [-w SERVER_THREADS] [--pool N] [--batch N]
#   RATELIMITD_BINARY defaults to build/release/server/ratelimitd. Nothing is
#   built here: build a Release ratelimitd first, e.g.
#     cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
#       -DRATELIMIT_BUILD_TESTS=OFF -DRATELIMIT_BUILD_BENCH=OFF
#     cmake --build build/release --target ratelimitd
# Installs wrk, nginx-light and redis-tools with apt-get when missing.
# Servers listen on free 127.0.0.1 ports and are ended by PID; each phase is
# bounded in time (`timeout`).
set -euo pipefail
cd "$(dirname "$0")/.."

binary=build/release/server/ratelimitd
seconds=10
rounds=3
connections=64
wrk_threads=2
server_threads=2
pool=4
batch=32
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then binary=$1; shift; fi
while [ $# -gt 0 ]; do
  case "$1" in
    -d) seconds=$2; shift 2 ;;
    -r) rounds=$2; shift 2 ;;
    -c) connections=$2; shift 2 ;;
    -t) wrk_threads=$2; shift 2 ;;
    -w) server_threads=$2; shift 2 ;;
    --pool) pool=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    *) sed -n '/^# usage/,/^#   RATELIMITD/p' "$0" >&2; exit 2 ;;
  esac
done
[ -x "$binary" ] || { echo "check_bench: no ratelimitd at $binary (build it first; see the usage)" >&2; exit 1; }

# The workload (bench/wrk/check.lua reads these): 10 % of requests on 10 hot
# keys (limited), 90 % over 100,000 cold keys (never limited); every key
# 100/s with a burst of 50.
export HOT_SHARE=0.1 HOT_KEYS=10 COLD_KEYS=100000 RATE=100 BURST=50

dir=$(mktemp -d /tmp/check-bench.XXXXXX)
chmod 755 "$dir"
pids=()
# shellcheck source=bench/bench_lib.sh
. bench/bench_lib.sh
trap bench_cleanup EXIT
ensure_packages wrk:wrk nginx:nginx-light redis-benchmark:redis-tools redis-server:redis-server

# ratelimitd with STORE; sets rl_pid and rl_port.
start_ratelimitd() {
  local log="$dir/ratelimitd.$RANDOM.log"
  "$binary" --listen 127.0.0.1:0 --threads "$server_threads" --store "$1" >"$log" 2>&1 &
  rl_pid=$!
  pids+=("$rl_pid")
  for _ in $(seq 1 200); do
    rl_port=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$log")
    [ -n "$rl_port" ] && return 0
    kill -0 "$rl_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  echo "check_bench: ratelimitd did not start" >&2; cat "$log" >&2; exit 1
}
# wrk against PORT; prints "rps p50_ms p99_ms non2xx requests".
run_wrk() {
  timeout $((seconds + 30)) wrk -t"$wrk_threads" -c"$connections" -d"${seconds}s" --latency \
    -s bench/wrk/check.lua "http://127.0.0.1:$1/v1/check" | tee "$dir/wrk.$1.txt" | wrk_summary
}
# decisions denied / all, from ratelimitd's /metrics.
denied_share() {
  local m
  m=$(exec 3<>"/dev/tcp/127.0.0.1/$1"; printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3; cat <&3)
  echo "$m" | awk '/^ratelimit_decisions_total/ {
      split($1, a, "outcome=\""); split(a[2], b, "\""); n[b[1]] += $2 }
    END { t = n["allowed"] + n["denied"]; printf "%.3f", (t ? n["denied"] / t : 0) }'
}

declare -A rps p50 p99 limited

# (a) nginx limit_req, the same shape of limit: RATE/s, burst BURST.
# `return` would run before limit_req (rewrite phase), so the request goes
# through try_files (after the limit) to a named location that answers.
nginx_port=$(free_port)
mkdir -p "$dir/nginx"
{
  nginx_conf_head "$dir/nginx" "$server_threads"
  cat <<EOF
  limit_req_zone \$http_x_user zone=users:32m rate=${RATE}r/s;
  limit_req_status 429;
  server {
    listen 127.0.0.1:$nginx_port;
    location = /v1/check {
      limit_req zone=users burst=$((BURST - 1)) nodelay;
      try_files /nonexistent @decided;
    }
    location @decided {
      default_type application/json;
      return 200 '{"allowed":true}';
    }
  }
}
EOF
} >"$dir/nginx/nginx.conf"

# Redis for (c) and (d), one for every round (each round has its own keys).
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
  >"$dir/redis.log" 2>&1 &
redis_pid=$!
pids+=("$redis_pid")
wait_port "$redis_port"
sha=$(redis-cli -p "$redis_port" SCRIPT LOAD "$(cat bench/reference_token_bucket.lua)")

printf '\n%-6s %-52s %12s %9s %9s %8s\n' round "/v1/check, $connections connections ($wrk_threads wrk threads)" \
  "requests/s" "p50 ms" "p99 ms" "limited"
row() {
  printf '%-6s %-52s %12.0f %9.3f %9.3f %8s\n' "$1" "$2" "${rps[$3]}" "${p50[$3]}" "${p99[$3]}" "${limited[$3]}"
}
memory_ratios=()
redis_ratios=()
capacity_ratios=()
declare -A redis_us
for round in $(seq 1 "$rounds"); do
  # (a) nginx, started afresh: an empty zone, as ratelimitd's store is.
  start_nginx "$dir/nginx"
  wait_port "$nginx_port"
  echo "check_bench: round $round (a) nginx limit_req, ${seconds}s ..." >&2
  read -r rps[nginx] p50[nginx] p99[nginx] non2xx requests < <(run_wrk "$nginx_port")
  limited[nginx]=$(share "$non2xx" "$requests")
  stop_pid "$nginx_pid"

  # (b) ratelimitd, in-memory store.
  start_ratelimitd memory
  echo "check_bench: round $round (b) ratelimitd memory, ${seconds}s ..." >&2
  read -r rps[memory] p50[memory] p99[memory] _ _ < <(run_wrk "$rl_port")
  require_alive "$rl_pid" ratelimitd
  limited[memory]=$(denied_share "$rl_port")
  stop_pid "$rl_pid"

  # (c) ratelimitd, Redis store (pool and batch: docs/redis.md).
  start_ratelimitd "redis://127.0.0.1:$redis_port?pool=$pool&batch=$batch&failure=none&prefix=bench$round:"
  echo "check_bench: round $round (c) ratelimitd redis (pool=$pool batch=$batch), ${seconds}s ..." >&2
  ticks=$(cpu_ticks "$redis_pid")
  read -r rps[redis] p50[redis] p99[redis] _ served < <(run_wrk "$rl_port")
  require_alive "$rl_pid" ratelimitd
  redis_us[redis]=$(per_request_us $(($(cpu_ticks "$redis_pid") - ticks)) "$served")
  limited[redis]=$(denied_share "$rl_port")
  stop_pid "$rl_pid"

  # (d) redis-benchmark: EVALSHA of the reference token bucket, same
  # concurrency, about as many requests as (c) served in its run.
  n=$(awk -v r="${rps[redis]}" -v s="$seconds" 'BEGIN { n = int(r * s); if (n < 100000) n = 100000; print n }')
  echo "check_bench: round $round (d) redis-benchmark EVALSHA, $n requests ..." >&2
  ticks=$(cpu_ticks "$redis_pid")
  ref=$(timeout $((seconds * 6 + 30)) redis-benchmark -p "$redis_port" -c "$connections" -n "$n" \
          -r "$COLD_KEYS" --csv EVALSHA "$sha" 1 "ref$round:__rand_int__" "$BURST" "$RATE" 2>/dev/null | tail -1)
  rps[reference]=$(echo "$ref" | cut -d, -f2 | tr -d '"')
  p50[reference]=$(echo "$ref" | cut -d, -f5 | tr -d '"')
  p99[reference]=$(echo "$ref" | cut -d, -f7 | tr -d '"')
  limited[reference]="-"
  redis_us[reference]=$(per_request_us $(($(cpu_ticks "$redis_pid") - ticks)) "$n")

  row "$round" "(a) nginx limit_req (header key), $server_threads workers" nginx
  row "$round" "(b) ratelimitd, memory store, $server_threads threads" memory
  row "$round" "(c) ratelimitd, redis store (pool=$pool batch=$batch)" redis
  row "$round" "(d) redis-benchmark EVALSHA reference_token_bucket" reference
  memory_ratios+=("$(ratio "${rps[memory]}" "${rps[nginx]}")")
  redis_ratios+=("$(ratio "${rps[redis]}" "${rps[reference]}")")
  capacity_ratios+=("$(ratio "${redis_us[reference]}" "${redis_us[redis]}")")
  echo "$round      Redis CPU per decision: (c) ${redis_us[redis]} us, (d) ${redis_us[reference]} us"
  echo "$round      ratios: memory/nginx ${memory_ratios[-1]}x, redis/redis-benchmark ${redis_ratios[-1]}x," \
    "decisions per Redis CPU second (c)/(d) ${capacity_ratios[-1]}x"
done

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo
echo "ratelimitd memory / nginx limit_req:        median $(median "${memory_ratios[@]}")x requests/s over $rounds rounds"
echo "ratelimitd redis / redis-benchmark EVALSHA: median $(median "${redis_ratios[@]}")x requests/s over $rounds rounds"
echo "decisions per Redis CPU second, (c) / (d):  median $(median "${capacity_ratios[@]}")x over $rounds rounds"
