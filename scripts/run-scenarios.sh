#!/usr/bin/env bash
# make molecule: every scenario with `molecule test`, JOBS at a time (the scenarios use
# their own containers, so they can run side by side; most of their time is spent waiting).
#   run-scenarios.sh JOBS SCENARIO[:PLATFORM]|make:TARGET[,TARGET]...
# A make:... job runs those make targets in a lane, as a scenario would (make test puts its
# checks there: lint, unit and conformance take one core, and a lane has one to give).
# Each job's output goes to .cache/molecule-logs/<scenario>.log (make:... jobs: checks.log);
# a failed job's log is printed whole at the end. Exits non-zero when any job failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

jobs=$1
shift
logs=.cache/molecule-logs
mkdir -p "$logs"
declare -A pid_of=() started_at=() result=() seconds=()
# An interrupted make stops the scenarios it started, with every process under them: the
# background jobs of a script ignore SIGINT, and so does Molecule then.
# shellcheck disable=SC2317  # both run from the trap only
kill_tree() {
  local child
  for child in $(pgrep -P "$1"); do kill_tree "$child"; done
  kill "$1" 2>/dev/null
}
# shellcheck disable=SC2317
stop_scenarios() {
  local job
  for job in $(jobs -p); do kill_tree "$job"; done
  exit 130
}
trap stop_scenarios INT TERM

run() {
  local scenario=${1%%:*} platform=${1#*:}
  if [ "$scenario" = make ]; then
    local targets=${platform//,/ }
    echo "make $targets   (log: $logs/checks.log)"
    # shellcheck disable=SC2086  # one word per target
    make --no-print-directory $targets >"$logs/checks.log" 2>&1
    return
  fi
  local args=(test -s "$scenario")
  [ "$platform" != "$1" ] && args+=(--platform-name "$scenario-$platform")
  echo "molecule ${args[*]}   (log: $logs/$scenario.log)"
  # Molecule prints no times: each step's start and end line gets the epoch second, for the
  # per-step table at the end.
  molecule "${args[@]}" 2>&1 | while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      *"] Executing"* | *"] Executed"*) printf '%(%s)T %s\n' -1 "$line" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done >"$logs/$scenario.log"
}

steps() {  # seconds per Molecule step of one scenario's log: "converge 123 verify 456 ..."
  awk '/\] Executing$/ { match($0, /> [a-z_]+\]/); step = substr($0, RSTART + 2, RLENGTH - 3); t0 = $1 }
       /\] Executed/ && step != "" { total[step] += $1 - t0; if (!(step in seen)) { seen[step] = 1; order[++n] = step } step = "" }
       END { for (i = 1; i <= n; i++) printf "%s %d  ", order[i], total[order[i]] }' "$logs/$1.log"
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
  [ "$scenario" = make ] && scenario=checks
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
printf '%-20s %-7s %-8s %s\n' SCENARIO RESULT SECONDS STEPS
for scenario in "${order[@]}"; do
  printf '%-20s %-7s %-8s %s\n' "$scenario" "${result[$scenario]}" "${seconds[$scenario]}" "$(steps "$scenario")"
done
exit $failed
