#!/usr/bin/env bash
# The HTML report opens in a real browser: `ratelimit analyze --html`, then
# headless Chromium takes a screenshot (kept as OUT_DIR/report.png). Fails
# when chromium is missing (scripts/setup.sh installs it).
# Usage: html_screenshot_test.sh RATELIMIT_BINARY SAMPLE_LOG OUT_DIR
set -euo pipefail
bin=$1 sample=$2 out=$3
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "FAIL: chromium not found (Debian package chromium; see scripts/setup.sh)" >&2
  exit 1
fi
rm -rf "$out" && mkdir -p "$out"
"$bin" analyze "$sample" --api-key-field 4 --html "$out/report.html" > /dev/null
grep -q '<svg ' "$out/report.html"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --screenshot="$out/report.png" --window-size=1280,2000 \
  "file://$out/report.html" > "$out/chromium.log" 2>&1 || { cat "$out/chromium.log" >&2; exit 1; }
# A real PNG, and not a blank page: a blank 1280x2000 screenshot compresses
# to a few KB, the report's tables and charts to far more.
head -c 8 "$out/report.png" | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'
size=$(stat -c %s "$out/report.png")
[ "$size" -gt 30000 ] || { echo "FAIL: screenshot only $size bytes" >&2; exit 1; }
echo "html_screenshot_test: OK ($out/report.png, $size bytes)"
