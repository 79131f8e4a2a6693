#!/usr/bin/env bash
# `python3 -m venv` needs ensurepip, which Debian ships separately (python3-venv).
# PYTHON: the interpreter the Makefile builds its venvs with (default python3).
set -euo pipefail
python=${PYTHON:-python3}
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
if "$python" -m venv "$probe/v" >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-python-venv: installing Debian's python3-venv"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq python3-venv >/dev/null
else
  echo "ensure-python-venv: '$python -m venv' does not work; install python3-venv (Debian) as root." >&2
  exit 1
fi
