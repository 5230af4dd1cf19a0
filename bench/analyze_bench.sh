#!/usr/bin/env bash
# Throughput and memory of `ratelimit analyze` on a large combined log:
# generates LINES lines (default 10 million, ~1.2 GB) to a temporary file
# with the seeded generator, then runs analyze under /usr/bin/time -v and
# prints lines/s (per CPU second and per wall second) and the peak RSS.
# Usage: bench/analyze_bench.sh [RATELIMIT_BINARY] [LINES]
set -euo pipefail
bin=${1:-build/release/tools/ratelimit/ratelimit}
lines=${2:-10000000}
log=$(mktemp /tmp/analyze-bench.XXXXXX.log)
timing=$(mktemp)
trap 'rm -f "$log" "$timing"' EXIT
echo "generating $lines lines to $log"
"$bin" gen-log --seed 7 --lines "$lines" --rps 200 --clients 100000 --format combined -o "$log"
echo "log: $(du -h "$log" | cut -f1)"
/usr/bin/time -v "$bin" analyze "$log" --api-key-field 4 --json --no-progress > /dev/null 2> "$timing"
user=$(awk -F': ' '/User time/ {print $2}' "$timing")
sys=$(awk -F': ' '/System time/ {print $2}' "$timing")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$timing")
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$timing")
python3 - "$lines" "$user" "$sys" "$wall" "$rss" <<'PY'
import sys
lines, user, sys_t, wall, rss = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
parts = [float(p) for p in wall.split(":")]
seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
cpu = user + sys_t
print(f"lines: {lines}")
print(f"cpu: {cpu:.2f} s  -> {lines / cpu / 1e6:.2f} M lines/s per core")
print(f"wall: {seconds:.2f} s -> {lines / seconds / 1e6:.2f} M lines/s")
print(f"peak RSS: {rss / 1024:.1f} MiB")
PY
