#!/usr/bin/env bash
# make molecule: every scenario with `molecule test`, JOBS at a time (the scenarios use
# their own containers, so they can run side by side; most of their time is spent waiting).
#   run-scenarios.sh JOBS SCENARIO[:PLATFORM]...
# Each scenario's output goes to .cache/molecule-logs/<scenario>.log; a failed scenario's
# log is printed whole at the end. Exits non-zero when any scenario failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

jobs=$1
shift
logs=.cache/molecule-logs
mkdir -p "$logs"
declare -A pid_of=() started_at=() result=() seconds=()
# An interrupted make stops the scenarios it started.
trap 'kill $(jobs -p) 2>/dev/null; exit 130' INT TERM

run() {
  local scenario=${1%%:*} platform=${1#*:}
  local args=(test -s "$scenario")
  [ "$platform" != "$1" ] && args+=(--platform-name "$scenario-$platform")
  echo "molecule ${args[*]}   (log: $logs/$scenario.log)"
  molecule "${args[@]}" >"$logs/$scenario.log" 2>&1
}

reap() {  # wait for any one job, record its result
  local done_pid scenario
  wait -n -p done_pid
  local rc=$?
  for scenario in "${!pid_of[@]}"; do
    if [ "${pid_of[$scenario]}" = "$done_pid" ]; then
      result[$scenario]=$([ $rc -eq 0 ] && echo passed || echo FAILED)
      seconds[$scenario]=$(( $(date +%s) - started_at[$scenario] ))
      echo "${result[$scenario]}: $scenario in ${seconds[$scenario]}s"
      unset "pid_of[$scenario]"
    fi
  done
}

order=()
for spec in "$@"; do
  scenario=${spec%%:*}
  order+=("$scenario")
  while [ "${#pid_of[@]}" -ge "$jobs" ]; do reap; done
  started_at[$scenario]=$(date +%s)
  run "$spec" &
  pid_of[$scenario]=$!
done
while [ "${#pid_of[@]}" -gt 0 ]; do reap; done

failed=0
for scenario in "${order[@]}"; do
  if [ "${result[$scenario]}" != passed ]; then
    failed=1
    echo "======== $scenario failed: $logs/$scenario.log ========"
    cat "$logs/$scenario.log"
  fi
done
echo
printf '%-20s %-7s %s\n' SCENARIO RESULT SECONDS
for scenario in "${order[@]}"; do printf '%-20s %-7s %s\n' "$scenario" "${result[$scenario]}" "${seconds[$scenario]}"; done
exit $failed
