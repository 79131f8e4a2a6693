#!/usr/bin/env bash
# Make sure a Docker engine answers. On a Debian host, as root, install and start one;
# anywhere else say exactly what is missing. Idempotent: a running engine costs one call.
set -euo pipefail

log=${DJANGOOPS_DOCKERD_LOG:-/var/log/djangoops-dockerd.log}
wait_s=${DJANGOOPS_DOCKERD_WAIT:-60}

answers() { docker info >/dev/null 2>&1; }

if answers; then
  exit 0
fi

if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-docker: no Docker engine answers and I cannot install one here." >&2
    echo "  Needed: the 'docker' client and a running 'dockerd' (Debian: apt-get install docker.io, as root)." >&2
    exit 1
  fi
  echo "ensure-docker: installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-docker: dockerd is not running and starting it needs root." >&2
    exit 1
  fi
  # A dockerd that was killed abruptly leaves its pid file, and the next one refuses to start.
  rm -f /var/run/docker.pid
  echo "ensure-docker: starting dockerd (log: $log)"
  setsid dockerd >"$log" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$wait_s"); do
  if answers; then
    echo "ensure-docker: engine answers ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 1
done
echo "ensure-docker: dockerd did not answer within ${wait_s}s; last lines of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
