#!/usr/bin/env bash
# make demo: the sample app deployed with the collection's own playbook, by FQCN, under
# systemd and under Supervisor, each in a local container published on 127.0.0.1.
# make demo-clean (demo.sh clean) removes the containers.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=${DJANGOOPS_IMAGE_PREFIX:-djangoops-test}
image=${DJANGOOPS_DEMO_IMAGE:-$prefix/debian12:latest}
port_systemd=${DJANGOOPS_DEMO_PORT_SYSTEMD:-8080}
port_supervisor=${DJANGOOPS_DEMO_PORT_SUPERVISOR:-8081}
state=.cache/demo
containers=(djangoops-demo-systemd djangoops-demo-supervisor)

if [ "${1:-}" = clean ]; then
  scripts/container.sh rm "${containers[@]}"
  rm -rf "$state"
  exit 0
fi

mkdir -p "$state"
chmod 700 "$state"
# A fresh Django secret for the demo, kept in a 0600 file and never printed.
[ -s "$state/secret" ] || (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(50))' >"$state/secret")

scripts/container.sh start djangoops-demo-systemd "$image" -p "127.0.0.1:$port_systemd:80"
scripts/container.sh start djangoops-demo-supervisor "$image" -p "127.0.0.1:$port_supervisor:8000"

cat >"$state/inventory.yml" <<YAML
all:
  vars:
    ansible_connection: community.docker.docker
    ansible_python_interpreter: /usr/bin/python3
    app_base_name: demo
    app_base_src: $PWD/tests/sample_app
    app_base_env:
      DJANGO_SECRET_KEY: "{{ lookup('file', '$PWD/$state/secret') }}"
      DJANGO_ALLOWED_HOSTS: "localhost,127.0.0.1"
      DJANGO_DB_PATH: /srv/demo/var/db.sqlite3
      SAMPLE_GREETING: "hello from djangoops.services"
    app_base_django_migrate: true
  hosts:
    djangoops-demo-systemd:
      djangoops_manager: systemd
      app_base_gunicorn_bind: 0.0.0.0:80
      django_systemd_health_path: /healthz
    djangoops-demo-supervisor:
      djangoops_manager: supervisor
      app_base_gunicorn_bind: 0.0.0.0:8000
      django_supervisor_health_path: /healthz
YAML

echo "demo: ansible-playbook djangoops.services.deploy -i $state/inventory.yml"
start=$(date +%s)
ansible-playbook djangoops.services.deploy -i "$state/inventory.yml" >"$state/deploy.log" 2>&1 || {
  echo "demo: the deploy failed; last lines of $state/deploy.log:" >&2
  tail -n 40 "$state/deploy.log" >&2
  exit 1
}
echo "demo: deployed in $(( $(date +%s) - start ))s ($(grep -c 'changed:' "$state/deploy.log") changed tasks; log: $state/deploy.log)"
echo

row() { printf '%-26s %-11s %-8s %-9s %-10s %s\n' "$@"; }
row CONTAINER MANAGER PID STATE HEALTHZ URL
for c in "${containers[@]}"; do
  if [ "$c" = djangoops-demo-systemd ]; then
    manager=systemd port=$port_systemd inner=80
    pid=$(docker exec "$c" systemctl show -p MainPID --value demo)
    st=$(docker exec "$c" systemctl is-active demo || true)
  else
    manager=supervisor port=$port_supervisor inner=8000
    pid=$(docker exec "$c" supervisorctl pid demo)
    st=$(docker exec "$c" supervisorctl status demo | awk '{print $2}')
  fi
  # Checked from inside the container, on its loopback.
  health=$(docker exec "$c" python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:$inner/healthz', timeout=5).status)" 2>/dev/null || echo down)
  row "$c" "$manager" "$pid" "$st" "$health" "http://127.0.0.1:$port/"
done
echo
echo "Try: curl http://127.0.0.1:$port_systemd/env/SAMPLE_GREETING   (the gunicorn master of each is the PID above)"
echo "Remove the demo with: make demo-clean"
