#!/usr/bin/env bash
# docs/planning.md matches the CLI: every --flag named in a command's section
# is one the command accepts (`ratelimit CMD --help`), and every flag the
# command accepts is documented in its section.
# Usage: docs_flags_test.sh RATELIMIT_BINARY DOCS_PLANNING_MD COMMAND...
set -euo pipefail
bin=$1 doc=$2
shift 2
status=0
for cmd in "$@"; do
  section=$(awk -v h="## ratelimit $cmd" '$0 == h {on = 1; next} /^## / {on = 0} on' "$doc")
  [ -n "$section" ] || { echo "FAIL: no '## ratelimit $cmd' section in $doc" >&2; exit 1; }
  documented=$(grep -o -- '--[a-z][a-z-]*' <<< "$section" | sort -u)
  accepted=$("$bin" "$cmd" --help | grep -o -- '--[a-z][a-z-]*' | grep -v -- '--help' | sort -u)
  for f in $documented; do
    grep -qx -- "$f" <<< "$accepted" || { echo "FAIL: $cmd: docs name $f, the CLI has no such flag" >&2; status=1; }
  done
  for f in $accepted; do
    grep -qx -- "$f" <<< "$documented" || { echo "FAIL: $cmd: $f is not documented" >&2; status=1; }
  done
done
[ $status -eq 0 ] && echo "docs_flags_test: OK ($*)"
exit $status
