#!/usr/bin/env bash
# Installs what building and testing ratelimit needs on Debian 12 (bookworm).
# Idempotent: apt-get skips what is already there. Runs apt-get as root
# (directly, or through sudo when called by another user).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev        # Boost.JSON (conformance runner)
  libcli11-dev                                  # CLI parsing
  libgtest-dev libgmock-dev librapidcheck-dev   # unit and property tests
  libbenchmark-dev                              # Google Benchmark
  libhiredis-dev                                # Redis store: protocol and client
  redis-server redis-sentinel redis-tools       # Redis tests start their own servers (and redis-benchmark)
  libyaml-cpp-dev                               # policy config files
  libssl-dev                                    # SHA-256 for API-key hashing
  prometheus-cpp-dev                            # ratelimitd /metrics (registry, text format)
  prometheus                                    # promtool + a real server: alert-rule and scrape tests
  wrk nginx-light                               # bench/check_bench.sh (load generator, nginx limit_req reference)
  clang libclang-rt-14-dev                      # libFuzzer builds (scripts/fuzz.sh)
  zlib1g-dev                                    # ratelimit analyze: gzip access logs
  librsvg2-bin libxml2-utils chromium           # analyze charts: PNG (rsvg-convert), SVG check (xmllint), HTML report test
  nodejs                                        # drives chromium in the dashboard test (tests/dashboard)
)

as_root=()
if [ "$(id -u)" -ne 0 ]; then as_root=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: every package is installed"
fi
