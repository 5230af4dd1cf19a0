#!/usr/bin/env bash
# `ratelimit analyze` end to end on the shipped sample:
#  1. the sample is exactly what the documented generator command writes;
#  2. --json numbers agree with the table output and with each other;
#  3. --emit-config writes a policy that `ratelimit config check` accepts, and
#     replaying the log through it (--config) limits no more identifiers than
#     the recommendation predicted;
#  4. --charts writes well-formed SVG (xmllint) with the limit line.
# Usage: cli_analyze_test.sh RATELIMIT_BINARY EXAMPLES_LOGS_DIR OUT_DIR
set -euo pipefail
bin=$1 logs=$2 out=$3
rm -rf "$out" && mkdir -p "$out"
sample=$logs/sample-combined.log.gz

# 1. Reproducible sample (README in examples/logs gives this command).
"$bin" gen-log --seed 42 --lines 60000 --rps 0.1 --clients 2000 --format combined -o "$out/regen.log"
if ! zcat "$sample" | cmp -s - "$out/regen.log"; then
  echo "FAIL: $sample differs from gen-log --seed 42 output" >&2; exit 1
fi

# 2. JSON report.
"$bin" analyze "$sample" --api-key-field 4 --json --emit-config "$out/emitted.yaml" \
  --charts "$out/charts" --target p99 > "$out/report.json"
python3 - "$out/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["lines"] == 60000 and r["requests"] == 60000 and r["unparseable"] == 0, r["lines"]
assert r["format"] == "combined"
assert sum(r["by_hour"]) == 60000 and sum(r["by_weekday"]) == 60000
assert sum(sum(d) for d in r["weekly"]) == 60000
pi = r["per_identifier"]
assert pi["median"] <= pi["p95"] <= pi["p99"] <= pi["max"], pi
assert r["peak_rps"] >= r["average_rps"] > 0
# The generator's diurnal peak is mid-afternoon and weekends are quieter.
assert 12 <= r["peak_hour"] <= 18, r["peak_hour"]
assert r["by_weekday"][5] < r["by_weekday"][2] and r["by_weekday"][6] < r["by_weekday"][2]
# Heavy hitters: the generator's three (10.0.0.0-2) are among the five
# busiest (with the first two Zipf ranks, 10.0.0.3 and 10.0.0.4).
top = [t["id"] for t in r["top_identifiers"][:5]]
assert {"10.0.0.0", "10.0.0.1", "10.0.0.2"} <= set(top), top
recs = {x["algorithm"]: x for x in r["recommendations"]}
assert set(recs) == {"token_bucket", "gcra", "leaky_bucket", "fixed_window", "sliding_window", "sliding_log"}
for x in recs.values():
    assert x["identifiers_never_limited"] >= 0.99 * x["identifiers"], x
json.dump(recs["token_bucket"], open(sys.argv[1] + ".tb", "w"))
PY
"$bin" config check "$out/emitted.yaml"

# 3. What-if replay through the emitted config.
"$bin" analyze "$sample" --json --config "$out/emitted.yaml" > "$out/replay.json"
python3 - "$out/replay.json" "$out/report.json.tb" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); tb = json.load(open(sys.argv[2]))
rep = r["replay"]
assert rep["requests"] == 60000 and rep["invalid"] == 0, rep
predicted = tb["identifiers"] - tb["identifiers_never_limited"]
assert rep["identifiers_limited"] <= predicted, (rep["identifiers_limited"], predicted)
assert rep["limited"] > 0 or predicted == 0
PY

# 4. Charts.
for f in requests_per_second identifiers weekly_heatmap; do
  xmllint --noout "$out/charts/$f.svg"
done
grep -q 'class="limit" data-value=' "$out/charts/requests_per_second.svg"
grep -q 'class="series" data-points="1000"' "$out/charts/requests_per_second.svg"
[ "$(grep -o 'class="cell"' "$out/charts/weekly_heatmap.svg" | wc -l)" -eq 168 ]
if command -v rsvg-convert > /dev/null; then
  for f in requests_per_second identifiers weekly_heatmap; do
    [ -s "$out/charts/$f.png" ] || { echo "FAIL: no $f.png" >&2; exit 1; }
  done
fi
# 5. JSON lines on stdin, auto-detected.
"$bin" gen-log --seed 3 --lines 5000 --format json | "$bin" analyze - --by user --json > "$out/json.json"
python3 - "$out/json.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["format"] == "json" and r["requests"] == 5000 and r["unparseable"] == 0, r["requests"]
assert r["requests_without_identifier"] > 0 and r["per_identifier"]["count"] > 100
PY
# 6. A truncated gzip file is an error naming the file (exit 2), not a short report.
head -c 100000 "$sample" > "$out/truncated.log.gz"
set +e
"$bin" analyze "$out/truncated.log.gz" > /dev/null 2> "$out/truncated.err"
status=$?
set -e
[ $status -eq 2 ] || { echo "FAIL: truncated gzip exit status $status" >&2; exit 1; }
grep -q "truncated.log.gz: corrupt or truncated gzip data" "$out/truncated.err"
echo "cli_analyze_test: OK"
