# The two commands of the README: `make demo` and `make test`. Everything they need is
# set up here, from a fresh Debian machine: the toolchain venv, a Docker engine, images.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
# Debian's own Python where there is one: it is built with profile-guided optimisation, and
# Ansible's controller runs 12-20 % faster on it than on a plain build (docs/BENCHMARKS.md).
# Debian 12's is 3.11 (the README's Python; ansible-core 2.16 runs on no later one).
PYTHON ?= $(firstword $(wildcard /usr/bin/python3.11) python3)
# A venv is built again when its requirements or its interpreter change.
venv_stamp = $(1)/.installed-$(shell { cat $(2); readlink -f "$$(command -v $(PYTHON))"; } | sha256sum | cut -c1-12)
STAMP := $(call venv_stamp,$(VENV),requirements.txt)
COLLECTIONS := $(CURDIR)/.cache/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/djangoops/services
# Mitogen's strategy plugins, where the Molecule base looks for them (docs/TESTING.md).
MITOGEN_LINK := $(CURDIR)/.cache/mitogen-strategy

export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_FORCE_COLOR := false
export PY_COLORS := 0
export PYTHONDONTWRITEBYTECODE := 1
export DJANGOOPS_IMAGE_PREFIX ?= djangoops-test

SCENARIO ?= platform
# Every scenario, in the order `make molecule` starts them: the platform proof first, then
# the longest first, so that MOLECULE_JOBS lanes finish close together.
SCENARIOS := platform faults django_project releases processes systemd supervisor app_base multi_app switch collection_install supervisor_http
# Two lanes: a third makes each scenario 1.5-1.7x slower, also with Mitogen (docs/BENCHMARKS.md).
MOLECULE_JOBS ?= 2
# Scenarios on one image, to keep `make test` short; each manager still runs on each image
# (README, "The test platform"). Their behaviour does not depend on the image: Debian 12.
# (app_base's Debian 13 side, a Python 3.13 venv, is deployed by django_project, releases
# and processes on Debian 13.)
ONE_IMAGE := supervisor_http switch multi_app collection_install faults app_base
# The managers' own scenarios: on Debian 13, the current stable. Debian 12 runs each manager
# in faults, releases, multi_app and switch, Supervisor also in django_project and processes.
ON_DEBIAN13 := systemd supervisor
image_of = $(if $(filter $(1),$(ONE_IMAGE)),:debian12)$(if $(filter $(1),$(ON_DEBIAN13)),:debian13)
platform_of = $(if $(call image_of,$(1)),--platform-name $(1)-$(subst :,,$(call image_of,$(1))))

.PHONY: help venv collection docker images lint unit molecule scenario test mutants bench build demo demo-clean clean \
	conformance sanity units-layout ansible-test-tree ansible-test-pip shellcheck docs-lint docs galaxy-import ee-context

help:
	@echo "make demo        deploy the sample app into a local container and print how to reach it"
	@echo "make test        yamllint, ansible-lint, ecosystem checks (with the unit tests), every Molecule scenario"
	@echo "make scenario SCENARIO=name   one Molecule scenario (molecule test)"
	@echo "make mutants     break one README promise at a time, show which test catches it (slow, not in make test)"
	@echo "make bench       benchmarks: converge times, kill -9 recovery, requests lost (prints figures)"
	@echo "make build       build the collection tarball"
	@echo "make conformance ansible-test sanity and units (ansible-core 2.19 and 2.16), docs lint, galaxy-importer, EE context"
	@echo "make docs        the collection's HTML docs (antsibull-docs, Sphinx) in .cache/docs/build/html"

venv: $(STAMP)

# A venv at $(1) from the requirements file $(2), stamped with the checksum of that file and
# of the interpreter's path (venv_stamp). Byte-compiled by hand: pip would compile every one of
# the `ansible` package's collections (about 14,000 modules: `make venv` took 45 s, now 23 s),
# of which the suite imports three; the rest of the venv is compiled, as every process of the
# suite imports from it (PYTHONDONTWRITEBYTECODE: nothing is compiled later).
define make_venv
	@PYTHON=$(PYTHON) scripts/ensure-python-venv.sh
	$(PYTHON) -m venv --clear $(1)
	$(1)/bin/pip install -q --upgrade pip
	$(1)/bin/pip install -q --no-compile -r $(2)
	$(1)/bin/python -m compileall -q -j 0 -x '/ansible_collections/' $(1)/lib > /dev/null
	for c in ansible/posix community/docker community/general; do \
	  d=$$(echo $(1)/lib/python3*/site-packages/ansible_collections/$$c); \
	  if [ -d "$$d" ]; then $(1)/bin/python -m compileall -q -j 0 "$$d" > /dev/null; fi; \
	done
	rm -f $(1)/.installed-*
	touch $@
endef

$(STAMP): requirements.txt
	$(call make_venv,$(VENV),requirements.txt)

# The collection under test, by FQCN, straight from this checkout.
collection: $(COLLECTION_LINK) $(MITOGEN_LINK)

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

$(MITOGEN_LINK): | $(STAMP)
	mkdir -p $(dir $@)
	d=$$($(VENV)/bin/python -c 'import os, ansible_mitogen.plugins.strategy as s; print(os.path.dirname(s.__file__))') && ln -sfn "$$d" $@

docker:
	@scripts/ensure-docker.sh

# --- Ecosystem checks (docs/TESTING.md, "Ecosystem checks") ---------------------------------
# ansible-core 2.16 is tested but not claimed (meta/runtime.yml): its own venv, so that the
# toolchain keeps one ansible-core.
VENV_216 := .cache/venv-2.16
STAMP_216 := $(call venv_stamp,$(VENV_216),requirements-2.16.txt)
# ansible-test only runs inside an ansible_collections/<namespace>/<name>/ tree: a copy of the
# files git tracks (its cwd must really be there, so a symlink to this checkout will not do;
# new files need a `git add` first).
AT_TREE := $(CURDIR)/.cache/ansible-test/ansible_collections/djangoops/services
ANSIBLE_TEST_219 := $(CURDIR)/$(VENV)/bin/ansible-test
ANSIBLE_TEST_216 := $(CURDIR)/$(VENV_216)/bin/ansible-test
AT_PIP := $(CURDIR)/.cache/ansible-test-pip
# ansible-test keeps its venvs and downloads under ~/.ansible/test: a HOME of its own in .cache,
# so that the stand-in get-pip below never lands in the user's cache (nor outlives make clean).
AT_HOME := $(CURDIR)/.cache/ansible-test-home
# `--venv --python X` needs X on PATH: the toolchain venv's own Python.
AT_PY = $(shell $(VENV)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# $(call ansible_test,<its path>,<command>): ansible-test in the copy, with its own HOME.
ansible_test = cd $(AT_TREE) && HOME=$(AT_HOME) $(1) $(2) --venv --python $(AT_PY)

$(STAMP_216): requirements-2.16.txt
	$(call make_venv,$(VENV_216),requirements-2.16.txt)

ansible-test-tree:
	rm -rf $(dir $(AT_TREE))
	mkdir -p $(AT_TREE)
	git ls-files -z | tar --null -T - -cf - | tar -xf - -C $(AT_TREE)
	@# Its own git index: else ansible-test lists the files of this checkout's git, which ignores .cache.
	git -C $(AT_TREE) init -q && git -C $(AT_TREE) add -A

# `--venv` bootstraps pip in each new venv with a get-pip.py it downloads from
# ci-files.testing.ansible.com, unless ansible-test's cache already has one for that pip
# version: we put there a stand-in that runs a copy of the toolchain's pip.
ansible-test-pip: venv $(STAMP_216)
	rm -rf $(AT_PIP) && mkdir -p $(AT_PIP)
	cp -r $$($(VENV)/bin/python -c 'import os, pip; print(os.path.dirname(pip.__file__))') $(AT_PIP)/pip
	mkdir -p $(AT_HOME)/.ansible/test/cache
	for v in $$(cat $(VENV)/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py \
	    $(VENV_216)/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py \
	    | sed -n "s/^ *pip='\([0-9.]*\)'.*/\1/p" | sort -u); do \
	  sed 's|@PIP_HOME@|$(AT_PIP)|' scripts/ansible-test-get-pip.py \
	    > $(AT_HOME)/.ansible/test/cache/get_pip_$${v//./_}.py; \
	done

# ansible-test skips its shellcheck test, with a mere warning, when the program is missing.
shellcheck:
	@command -v shellcheck >/dev/null || { \
	  [ "$$(id -u)" -eq 0 ] || { echo "make sanity: install shellcheck (Debian: apt-get install shellcheck)" >&2; exit 1; }; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null; }

sanity: ansible-test-tree ansible-test-pip shellcheck
	$(call ansible_test,$(ANSIBLE_TEST_219),sanity)
	@# ansible-doc on 2.16 warns on stderr that meta/runtime.yml requires 2.19, and the test
	@# counts that as an error; ansible-lint refuses an ignore entry for it (sanity[cannot-ignore]).
	@# The docs are checked on 2.19.
	$(call ansible_test,$(ANSIBLE_TEST_216),sanity) --skip-test ansible-doc

units-layout: ansible-test-tree ansible-test-pip
	$(call ansible_test,$(ANSIBLE_TEST_219),units) --num-workers 1
	$(call ansible_test,$(ANSIBLE_TEST_216),units) --num-workers 1

TARBALL := djangoops-services-$(shell sed -n 's/^version: *//p' galaxy.yml).tar.gz

# The plugins' and roles' documentation as antsibull-docs (docs.ansible.com) reads it.
docs-lint: venv collection
	antsibull-docs lint-collection-docs --plugin-docs .

# The collection's HTML docs (plugins, roles from their argument_specs) in .cache/docs/build/html.
docs: venv collection
	rm -rf .cache/docs && mkdir -p .cache/docs
	antsibull-docs sphinx-init --use-current --squash-hierarchy --dest-dir .cache/docs djangoops.services
	@# What the build.sh it writes does, but without -W: the links to ansible.builtin's modules
	@# need docs.ansible.com's inventory, and offline they are warnings.
	mkdir -p .cache/docs/rst && chmod og-w .cache/docs/rst
	cd .cache/docs && antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything \
	  --use-current --squash-hierarchy --dest-dir rst djangoops.services
	cd .cache/docs && sphinx-build -M html rst build -c . --keep-going -q
	@echo "docs: $(CURDIR)/.cache/docs/build/html/index.html"

# Galaxy's own checks of the tarball, without containers (.config/galaxy-importer.cfg). It
# exits 0 whatever it finds: its warnings and errors are the lines it prefixes with a level.
galaxy-import: venv build
	mkdir -p .cache/galaxy-importer
	cd .cache/galaxy-importer && GALAXY_IMPORTER_CONFIG=$(CURDIR)/.config/galaxy-importer.cfg \
	  python -m galaxy_importer.main $(CURDIR)/$(TARBALL) | tee importer.log
	@! grep -E '^(WARNING|ERROR|CRITICAL):' .cache/galaxy-importer/importer.log

# The execution environment's build context (no image: there is no registry to push it to).
ee-context: venv build
	rm -rf .cache/ee-context
	ansible-builder create -f execution-environment.yml -c .cache/ee-context --output-filename Containerfile -v 2
	@# A tarball missing from the context is only a warning of ansible-builder's.
	test -f .cache/ee-context/_build/collections/$(TARBALL)
	grep -q "^COPY _build /build" .cache/ee-context/Containerfile

# Not in `make lint` or `make unit`: the ecosystem's own tools, each in its venv (first run: a
# few minutes of downloads).
conformance: sanity units-layout docs-lint galaxy-import ee-context

images: venv docker
	@scripts/build-images.sh
	@scripts/build-wheelhouse.sh

lint: venv collection
	yamllint --strict .
	ansible-lint --profile production

unit: venv collection
	pytest -q tests/unit

# The lanes' jobs: each scenario (on one image if in ONE_IMAGE or ON_DEBIAN13), and $(LANE_CHECKS)
# (make:target,...) after multi_app, where a job of its length keeps the two lanes even, or
# last when SCENARIOS has no multi_app.
lane_jobs = $(foreach s,$(SCENARIOS),$(s)$(call image_of,$(s))$(if $(filter $(s),multi_app), $(LANE_CHECKS))) \
	$(if $(filter multi_app,$(SCENARIOS)),,$(LANE_CHECKS))

molecule: venv collection images
	@scripts/run-scenarios.sh $(MOLECULE_JOBS) $(lane_jobs)

scenario: venv collection images
	molecule test -s $(SCENARIO) $(call platform_of,$(SCENARIO))

# The wall time goes to .cache/make-test-seconds, for `make bench` to report.
# The set-up first (venvs, Docker, the images: shellcheck and Docker before the images, as two
# apt-get at once would fight over dpkg's lock), then the scenarios in their two lanes, with
# the checks (lint, conformance: its ansible-test units runs make unit's tests) as one more
# job in a lane: before the scenarios they kept one core of two idle for about 3 minutes
# (docs/BENCHMARKS.md). A failed check fails make test, at the end with the scenarios' results.
test:
	@start=$$(date +%s); \
	  $(MAKE) --no-print-directory venv collection shellcheck docker images; \
	  $(MAKE) --no-print-directory molecule LANE_CHECKS=make:lint,conformance; \
	  echo $$(( $$(date +%s) - start )) > .cache/make-test-seconds; \
	  echo "make test: passed in $$(cat .cache/make-test-seconds)s"

# Not part of make test (about 16 minutes): docs/TESTING.md has its last table.
mutants: venv collection images
	python3 scripts/mutants.py

bench: venv collection images
	python3 scripts/bench.py
	scripts/bench-plugins.sh

build: venv
	rm -f djangoops-services-*.tar.gz
	ansible-galaxy collection build --force .
	@ls -l djangoops-services-*.tar.gz

demo: venv collection images
	@scripts/demo.sh

demo-clean: docker
	@scripts/demo.sh clean

clean: demo-clean
	rm -rf $(VENV) .cache djangoops-services-*.tar.gz
