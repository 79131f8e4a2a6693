#!/usr/bin/env bash
# The test apps' Python packages as wheels, one directory per test image's Python, shared
# read-only by every scenario's containers (/opt/djangoops-wheels): the scenarios' deploys
# install from it with PIP_NO_INDEX (molecule base config) instead of downloading the same
# wheels from the index again for each of the suite's venvs. A deploy that reaches the index
# still runs where a test asks for it (the README's quick start in django_project, the sdist
# build in app_base). Cached: rebuilt when the requirements or an image change.
#   build-wheelhouse.sh            (after build-images.sh; uses the toolchain venv's pip)
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=${DJANGOOPS_IMAGE_PREFIX:-djangoops-test}
dest=.cache/wheels
# Every requirements file of the test apps, plus what a scenario adds on top of them:
# gunicorn unpinned (app_base_gunicorn_package) and django_project's ASGI worker.
extra=(gunicorn uvicorn-worker==0.4.0)
# tests/unit's file is not an app's: it is the controller's, for `ansible-test units`.
app_reqs=() pip_reqs=()
for r in tests/*/requirements.txt; do
  [ "$r" = tests/unit/requirements.txt ] && continue
  app_reqs+=("$r")
  pip_reqs+=(-r "/opt/$r")
done
mkdir -p "$dest"

for release in ${DJANGOOPS_RELEASES:-debian12 debian13}; do
  image="$prefix/$release:latest"
  stamp="$dest/$release/.built-$( (cat "${app_reqs[@]}"; echo "${extra[*]}"; docker image inspect -f '{{ .Id }}' "$image") | sha256sum | cut -c1-12)"
  if [ -e "$stamp" ]; then
    echo "build-wheelhouse: $dest/$release is cached"
    continue
  fi
  rm -rf "${dest:?}/${release:?}"
  mkdir -p "$dest/$release"
  start=$(date +%s)
  # pip runs in the image, with the image's Python: a download for "Python 3.11" from the
  # host would miss what markers ask of the exact version (redis needs async-timeout below
  # 3.11.3, and Debian 12 has 3.11.2). The image has no pip: the toolchain's, read-only.
  docker run --rm \
    -v "$(.venv/bin/python -c 'import os, pip; print(os.path.dirname(pip.__file__))'):/opt/pip/pip:ro" \
    -v "$PWD/tests:/opt/tests:ro" -v "$PWD/$dest/$release:/opt/wheels" -e PYTHONPATH=/opt/pip \
    "$image" python3 -m pip download -q --disable-pip-version-check --no-cache-dir --dest /opt/wheels \
      --only-binary=:all: "${pip_reqs[@]}" "${extra[@]}"
  chmod -R a+rX "$dest/$release"
  touch "$stamp"
  echo "build-wheelhouse: $dest/$release: $(find "$dest/$release" -name '*.whl' | wc -l) wheels in $(( $(date +%s) - start ))s"
done
