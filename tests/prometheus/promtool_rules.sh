#!/usr/bin/env bash
# CTest prometheus.alerts: the shipped alert rules are valid Prometheus rules
# (promtool check rules) and fire where tests/prometheus/alerts_test.yaml says
# they do (promtool test rules). Fails, naming the package, without promtool.
# usage: promtool_rules.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: promtool_rules.sh SOURCE_DIR}
if ! command -v promtool >/dev/null 2>&1; then
  echo "FAIL: promtool not found on PATH: install the Debian package 'prometheus' (scripts/setup.sh)" >&2
  exit 1
fi
promtool check rules "$src/docs/prometheus-alerts.yaml"
promtool test rules "$src/tests/prometheus/alerts_test.yaml"
