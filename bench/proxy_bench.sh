#!/usr/bin/env bash
# ratelimitd's proxy mode under HTTP load, against nginx doing the same job in
# the same run (bench/README.md, "Proxy mode under load"). Both sit in front
# of the same small upstream (an nginx answering `return 200` with a short
# JSON body, one worker) and limit each caller (X-User header) to RATE/s with
# a burst of BURST:
#   (a) nginx: limit_req zone keyed on $http_x_user + proxy_pass over a
#       keep-alive upstream pool;
#   (b) ratelimitd --upstream: the same limit from a policy file
#       (user_header X-User), memory store.
# Load: `wrk -t2 -c64 -d10s` with bench/wrk/proxy.lua. The two run in turn,
# ROUNDS times (a, b, a, b, ...), so a neighbour's load on a shared machine
# falls on both; each round's ratio is printed, then the median ratio.
# Prints requests/s, p50/p99 latency, the share of 429s and the proxy's CPU
# time per request (user + system, all its processes) for each: on a shared
# machine requests/s swing with the neighbours' load, CPU per request less.
# Ends with the median ratio of each.
#
# usage: bench/proxy_bench.sh [RATELIMITD_BINARY] [-d SECONDS] [-c CONNECTIONS]
#                             [-t WRK_THREADS] [-w SERVER_THREADS] [-r ROUNDS]
#   RATELIMITD_BINARY defaults to build/release/server/ratelimitd (build it
#   first: scripts/run.sh builds it, or cmake --build build/release --target ratelimitd).
# Installs wrk and nginx-light with apt-get when missing. Servers listen on
# free 127.0.0.1 ports and are ended by PID; each phase is bounded (`timeout`).
set -euo pipefail
cd "$(dirname "$0")/.."

binary=build/release/server/ratelimitd
seconds=10
connections=64
wrk_threads=2
server_threads=2
rounds=3
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then binary=$1; shift; fi
while [ $# -gt 0 ]; do
  case "$1" in
    -d) seconds=$2; shift 2 ;;
    -c) connections=$2; shift 2 ;;
    -t) wrk_threads=$2; shift 2 ;;
    -w) server_threads=$2; shift 2 ;;
    -r) rounds=$2; shift 2 ;;
    *) sed -n '/^# usage/,/^#   first/p' "$0" >&2; exit 2 ;;
  esac
done
[ -x "$binary" ] || { echo "proxy_bench: no ratelimitd at $binary (build it first; see the usage)" >&2; exit 1; }

export HOT_SHARE=0.1 HOT_KEYS=10 COLD_KEYS=100000
RATE=100
BURST=50

dir=$(mktemp -d /tmp/ratelimit-proxy-bench.XXXXXX)
chmod 755 "$dir"
pids=()
. bench/bench_lib.sh
trap bench_cleanup EXIT
mkdir -p "$dir/upstream/logs" "$dir/proxy/logs"
ensure_packages wrk:wrk nginx:nginx-light

run_wrk() {
  timeout $((seconds + 30)) wrk -t"$wrk_threads" -c"$connections" -d"${seconds}s" --latency \
    -s bench/wrk/proxy.lua "http://127.0.0.1:$1/api/items" | tee "$dir/wrk.$1.txt" | wrk_summary
}

# The upstream both proxies share: one nginx worker answering 200.
upstream_port=$(free_port)
{
  nginx_conf_head "$dir/upstream" 1
  cat <<CONF
  server {
    listen 127.0.0.1:$upstream_port;
    location / { default_type application/json; return 200 '{"items":[1,2,3]}'; }
  }
}
CONF
} >"$dir/upstream/nginx.conf"
start_nginx "$dir/upstream"
wait_port "$upstream_port"

# (a) nginx: limit_req + proxy_pass (keep-alive to the upstream).
nginx_port=$(free_port)
{
  nginx_conf_head "$dir/proxy" "$server_threads"
  cat <<CONF
  limit_req_zone \$http_x_user zone=users:32m rate=${RATE}r/s;
  limit_req_status 429;
  upstream app { server 127.0.0.1:$upstream_port; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      limit_req zone=users burst=$((BURST - 1)) nodelay;
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
} >"$dir/proxy/nginx.conf"

# (b) ratelimitd in proxy mode, the same limit (GCRA, as limit_req ... nodelay).
cat >"$dir/policy.yaml" <<CONF
limits:
  - name: per_user
    scope: [user]
    algorithm: gcra
    rate: ${RATE}/s
    burst: $BURST
proxy:
  user_header: X-User
CONF
proxy_port=$(free_port)

printf '\n%-6s %-44s %12s %9s %9s %8s %12s\n' round "proxy, $connections connections ($wrk_threads wrk threads)" \
  "requests/s" "p50 ms" "p99 ms" "limited" "cpu us/req"
ratios=()
cpu_ratios=()
for round in $(seq 1 "$rounds"); do
  start_nginx "$dir/proxy"
  wait_port "$nginx_port"
  echo "proxy_bench: round $round (a) nginx limit_req + proxy_pass, ${seconds}s ..." >&2
  workers=$(pgrep -P "$nginx_pid" | tr '\n' ' ')
  # shellcheck disable=SC2086  # one argument per worker
  ticks=$(cpu_ticks $workers)
  read -r a_rps a_p50 a_p99 non2xx requests < <(run_wrk "$nginx_port")
  # shellcheck disable=SC2086
  a_cpu=$(per_request_us $(($(cpu_ticks $workers) - ticks)) "$requests")
  printf '%-6s %-44s %12.0f %9.3f %9.3f %8s %12s\n' "$round" "(a) nginx limit_req + proxy_pass" \
    "$a_rps" "$a_p50" "$a_p99" "$(share "$non2xx" "$requests")" "$a_cpu"
  stop_pid "$nginx_pid"

  "$binary" --listen 127.0.0.1:0 --threads "$server_threads" --config "$dir/policy.yaml" \
    --upstream "http://127.0.0.1:$upstream_port" --proxy-listen "127.0.0.1:$proxy_port" \
    >"$dir/ratelimitd.log" 2>&1 &
  rl_pid=$!
  pids+=("$rl_pid")
  wait_port "$proxy_port"
  echo "proxy_bench: round $round (b) ratelimitd proxy, ${seconds}s ..." >&2
  ticks=$(cpu_ticks "$rl_pid")
  read -r b_rps b_p50 b_p99 non2xx requests < <(run_wrk "$proxy_port")
  require_alive "$rl_pid" "ratelimitd (proxy)"
  b_cpu=$(per_request_us $(($(cpu_ticks "$rl_pid") - ticks)) "$requests")
  printf '%-6s %-44s %12.0f %9.3f %9.3f %8s %12s\n' "$round" "(b) ratelimitd --upstream, memory store" \
    "$b_rps" "$b_p50" "$b_p99" "$(share "$non2xx" "$requests")" "$b_cpu"
  stop_pid "$rl_pid"
  ratios+=("$(ratio "$b_rps" "$a_rps")")
  cpu_ratios+=("$(ratio "$a_cpu" "$b_cpu")")
  echo "       ratio (b)/(a): ${ratios[-1]}x requests/s, ${cpu_ratios[-1]}x requests per CPU second"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo
echo "ratelimitd proxy / nginx limit_req + proxy_pass ($server_threads workers/threads each), medians over $rounds rounds:"
echo "  requests/s:              $(median "${ratios[@]}")x"
echo "  requests per CPU second: $(median "${cpu_ratios[@]}")x"
