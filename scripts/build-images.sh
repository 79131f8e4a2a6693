#!/usr/bin/env bash
# Build the Debian test images with systemd as PID 1 from Debian's archive: no registry is
# reachable, so debootstrap a root file system and `docker import` it. Cached by tag and
# by recipe: a second run with an unchanged recipe costs one `docker image inspect` each.
#
# Variables (defaults in brackets):
#   DJANGOOPS_IMAGE_PREFIX  [djangoops-test]          images are PREFIX/debian12, PREFIX/debian13
#   DJANGOOPS_RELEASES      [debian12 debian13]        which images to build
#   DEBIAN_MIRROR           [http://deb.debian.org/debian]
#   DJANGOOPS_CACHE_DIR     [/var/cache/djangoops]      where root file systems are built
set -euo pipefail

prefix=${DJANGOOPS_IMAGE_PREFIX:-djangoops-test}
releases=${DJANGOOPS_RELEASES:-debian12 debian13}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${DJANGOOPS_CACHE_DIR:-/var/cache/djangoops}
packages=systemd,systemd-sysv,dbus,python3,python3-apt,procps,iproute2,ca-certificates,sudo
# Part of the cache key: change it and every image is rebuilt.
recipe="v1 $packages $(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null | sha256sum | cut -c1-12)"
recipe_id=$(printf '%s' "$recipe" | sha256sum | cut -c1-16)

codename() {
  case "$1" in
    debian12) echo bookworm ;;
    debian13) echo trixie ;;
    *) echo "build-images: unknown release '$1' (known: debian12 debian13)" >&2; return 1 ;;
  esac
}

if ! command -v debootstrap >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq debootstrap >/dev/null
  else
    echo "build-images: debootstrap is missing (Debian: apt-get install debootstrap, as root)." >&2
    exit 1
  fi
fi

for rel in $releases; do
  code=$(codename "$rel")
  tag="$prefix/$rel:latest"
  have=$(docker image inspect -f '{{ index .Config.Labels "djangoops.recipe" }}' "$tag" 2>/dev/null || true)
  if [ "$have" = "$recipe_id" ]; then
    echo "build-images: $tag is cached"
    continue
  fi
  rootfs="$cache/rootfs-$rel"
  rm -rf "$rootfs"
  mkdir -p "$rootfs"
  echo "build-images: debootstrap $code into $rootfs"
  start=$(date +%s)
  debootstrap --variant=minbase --include="$packages" "$code" "$rootfs" "$mirror" >"$cache/debootstrap-$rel.log" 2>&1 || {
    echo "build-images: debootstrap failed; last lines of $cache/debootstrap-$rel.log:" >&2
    tail -n 20 "$cache/debootstrap-$rel.log" >&2
    exit 1
  }
  # Trust the build host's extra CAs (TLS-inspecting proxies), or pip in the containers fails.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
  fi
  # Each container gets its own machine id at boot; no apt caches in the image.
  : >"$rootfs/etc/machine-id"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | docker import \
    -c 'CMD ["/lib/systemd/systemd"]' \
    -c 'ENV container=docker' \
    -c "LABEL djangoops.recipe=$recipe_id" \
    - "$tag" >/dev/null
  rm -rf "$rootfs"
  echo "build-images: built $tag in $(( $(date +%s) - start ))s"
done
