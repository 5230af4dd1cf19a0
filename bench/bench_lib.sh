# Shell helpers shared by the load scripts (check_bench.sh, proxy_bench.sh;
# redis_bench.sh uses free_port). Source it after setting `dir` (a temp dir)
# and `pids=()`; servers started through these helpers are recorded in
# `pids` and ended by PID on exit.

# Installs the named Debian packages when their commands are missing.
# usage: ensure_packages CMD:PACKAGE...
ensure_packages() {
  local need=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || [ -x "/usr/sbin/${pair%%:*}" ] || need+=("${pair#*:}")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  local as_root=(); [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  echo "bench: installing ${need[*]}" >&2
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null ||
    { "${as_root[@]}" apt-get update -q >/dev/null &&
      "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; }
}

# Ends every recorded server and removes the temp dir.
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}

# A port nobody answers on (a bash /dev/tcp connect fails).
free_port() {
  # Below the kernel's ephemeral range: a port the load's own client
  # connections use (say, to the upstream) cannot be bound, and a clash made
  # a phase fail now and then.
  local low=32768 first=10000 candidate
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  [ "$low" -gt $((first + 1000)) ] || first=$((low / 2))
  for _ in $(seq 1 100); do
    candidate=$((first + RANDOM % (low - first)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then echo "$candidate"; return; fi
  done
  echo "bench: no free port" >&2; exit 1
}

# Waits (bounded: 20 s) until something answers on the port.
wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing listens on 127.0.0.1:$1" >&2; exit 1
}

# Fails the run when a server under test has died (e.g. a crash under load).
# usage: require_alive PID NAME
require_alive() {
  kill -0 "$1" 2>/dev/null || { echo "bench: $2 (pid $1) died under load" >&2; exit 1; }
}

stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# wrk latencies ("812.00us", "1.20ms", "1.01s") in ms.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000
    printf "%.3f", n }'
}

# Summarizes a wrk --latency report (on stdin) as "rps p50_ms p99_ms non2xx requests".
wrk_summary() {
  local out rps p50 p99 non2xx requests
  out=$(cat)
  rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$rps $(to_ms "$p50") $(to_ms "$p99") ${non2xx:-0} $requests"
}

# CPU time (user + system, in clock ticks) the processes have used so far.
cpu_ticks() {
  local p total=0
  for p in "$@"; do total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
  echo "$total"
}
# µs of CPU per request: TICKS clock ticks over REQUESTS requests.
per_request_us() {
  awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (n ? t * 1e6 / hz / n : 0) }'
}

share() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b ? a / b : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b ? a / b : 0) }'; }

# Writes the top of an nginx.conf (prefix DIR/nginx, WORKERS processes) whose
# http block the caller continues and closes.
nginx_conf_head() {
  local prefix=$1 workers=$2
  mkdir -p "$prefix/logs"
  cat <<CONF
user $(id -un);
worker_processes $workers;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $prefix/body;
  proxy_temp_path $prefix/proxy;
  fastcgi_temp_path $prefix/fastcgi;
  uwsgi_temp_path $prefix/uwsgi;
  scgi_temp_path $prefix/scgi;
  keepalive_requests 1000000;
CONF
}

# Starts nginx on PREFIX/nginx.conf; sets nginx_pid.
start_nginx() {
  "$(command -v nginx || echo /usr/sbin/nginx)" -p "$1" -c "$1/nginx.conf" -g 'daemon off;' &
  nginx_pid=$!
  pids+=("$nginx_pid")
}
