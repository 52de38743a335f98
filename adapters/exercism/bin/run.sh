#!/usr/bin/env bash
# Exercism's test-runner interface: bin/run.sh <slug> <solution-dir> <output-dir> [netkata grade options...]
#
# Grades the solution with netkata's hidden suite for <slug> and writes <output-dir>/results.json
# (version 3: stages as task_id, each hidden test described in test_code). Exit 0 whenever the
# runner ran, whatever the tests did; non-zero only when netkata itself could not write results,
# and then results.json still says what went wrong (status error).
# Exercism's runners have no container engine, so the local runtime runs the solution (the report
# says so); NETKATA_RUNTIME=docker where the runner can reach an engine.
set -u
if [ "$#" -lt 3 ]; then
  echo "usage: bin/run.sh <exercise-slug> <solution-dir> <output-dir> [netkata grade options...]" >&2
  exit 2
fi
slug=$1
solution=${2%/}
output=${3%/}
shift 3
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
mkdir -p "$output"
results="$output/results.json"
rm -f "$results"
log=$(mktemp)
node "$root/bin/netkata.js" grade "$slug" --submission "$solution" --runtime "${NETKATA_RUNTIME:-local}" --reporter "exercism=$results" "$@" >"$log" 2>&1
code=$?
if [ -s "$results" ]; then
  rm -f "$log"
  exit 0
fi
# No results: netkata stopped before writing them (an unknown slug, a broken install). The
# learner still gets a message, the last lines netkata printed.
node -e '
  const [log, code, file] = process.argv.slice(1);
  const tail = require("node:fs").readFileSync(log, "utf8").split("\n").slice(-40).join("\n");
  const message = `netkata could not grade this solution (exit ${code}):\n${tail}`.slice(0, 65000);
  require("node:fs").writeFileSync(file, JSON.stringify({ version: 3, status: "error", message }, null, 2) + "\n");
' "$log" "$code" "$results"
rm -f "$log"
exit 1
