#!/usr/bin/env bash
# Each custom plugin beside the builtins it replaces (plugin headers cite these figures):
#   bench-plugins.sh [TREE...]   default: the sample app and django.contrib.humanize (200 files)
# One plain container (no systemd needed), pipelining on, timings from profile_tasks.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${DJANGOOPS_BENCH_IMAGE:-${DJANGOOPS_IMAGE_PREFIX:-djangoops-test}/debian12:latest}
state=$PWD/.cache/bench
mkdir -p "$state"
name=djangoops-bench-plugins
trees=("$@")
if [ ${#trees[@]} -eq 0 ]; then
  trees=("$PWD/tests/sample_app" "$(python3 -c 'import django, os; print(os.path.dirname(django.__file__))')/contrib/humanize")
fi
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
for tree in "${trees[@]}"; do
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker run -d --name "$name" --entrypoint sleep "$image" infinity >/dev/null
  files=$(find "$tree" -type f | wc -l)
  BENCH_TREE=$tree BENCH_STATE=$state ANSIBLE_PIPELINING=true ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks \
    PROFILE_TASKS_TASK_OUTPUT_LIMIT=all ansible-playbook -i "$name," -c community.docker.docker \
    -e ansible_python_interpreter=/usr/bin/python3 scripts/bench-plugins.yml >"$state/bench-plugins.log" 2>&1 \
    || { tail -40 "$state/bench-plugins.log"; exit 1; }
  echo "tree: $tree ($files files)"
  grep -E '^Bench \| ' "$state/bench-plugins.log" | sed -E 's/ -+ / /' | awk '{t=$NF; $NF=""; printf "  %-62s %s\n", $0, t}'
done
