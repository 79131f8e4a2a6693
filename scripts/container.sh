#!/usr/bin/env bash
# Containers with systemd as PID 1, started the way the Molecule base starts them, for
# the demo and the benchmarks.
#   container.sh start NAME IMAGE [docker run options, e.g. -p 127.0.0.1:8080:80]
#       starts NAME unless it runs already, then waits until systemd has booted
#   container.sh rm NAME...
set -euo pipefail

case ${1:-} in
  start)
    name=$2 image=$3
    shift 3
    if [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != true ]; then
      docker rm -f "$name" >/dev/null 2>&1 || true
      # Without --privileged (it fails here: see ../shared/TESTING-PLATFORM.md); the
      # sysctl restores the kernel's port-80 rule that Docker relaxes.
      docker run -d --name "$name" --hostname "$name" \
        --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
        --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
        --tmpfs /run --tmpfs /run/lock --tmpfs /tmp --stop-signal SIGRTMIN+3 \
        --sysctl net.ipv4.ip_unprivileged_port_start=1024 \
        "$@" "$image" /lib/systemd/systemd >/dev/null
    fi
    # systemd's bus needs a moment after the container starts; then wait for the boot.
    for _ in $(seq 1 30); do
      case $(docker exec "$name" timeout 60 systemctl is-system-running --wait 2>/dev/null) in
        running | degraded) exit 0 ;;
      esac
      sleep 1
    done
    echo "container.sh: systemd in $name did not finish booting within 30 tries" >&2
    exit 1
    ;;
  rm)
    shift
    for name in "$@"; do
      if docker rm -f "$name" >/dev/null 2>&1; then echo "removed container $name"; fi
    done
    ;;
  *)
    echo "usage: container.sh start NAME IMAGE [docker run options] | container.sh rm NAME..." >&2
    exit 2
    ;;
esac
