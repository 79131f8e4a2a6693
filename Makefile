# The two commands of the README: `make demo` and `make test`. Everything they need is
# set up here, from a fresh Debian machine: the toolchain venv, a Docker engine, images.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
STAMP := $(VENV)/.installed-$(shell sha256sum requirements.txt | cut -c1-12)
COLLECTIONS := $(CURDIR)/.cache/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/djangoops/services

export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_FORCE_COLOR := false
export PY_COLORS := 0
export PYTHONDONTWRITEBYTECODE := 1
export DJANGOOPS_IMAGE_PREFIX ?= djangoops-test

SCENARIO ?= platform
# Every scenario, in the order `make molecule` starts them: the platform proof first, then
# the longest first, so that MOLECULE_JOBS lanes finish close together.
SCENARIOS := platform faults django_project releases processes systemd supervisor app_base multi_app rolling switch collection_install supervisor_http
MOLECULE_JOBS ?= 2
# Their behaviour does not depend on the image: Debian 12 only, to keep `make test` short.
# (app_base's Debian 13 side, a Python 3.13 venv, is deployed by django_project, releases
# and processes on Debian 13.)
ONE_IMAGE := supervisor_http switch multi_app collection_install faults app_base
platform_of = $(if $(filter $(1),$(ONE_IMAGE)),--platform-name $(1)-debian12)

.PHONY: help venv collection docker images lint unit molecule scenario test mutants bench build demo demo-clean clean

help:
	@echo "make demo        deploy the sample app into a local container and print how to reach it"
	@echo "make test        yamllint, ansible-lint, unit tests, then every Molecule scenario"
	@echo "make scenario SCENARIO=name   one Molecule scenario (molecule test)"
	@echo "make mutants     break one README promise at a time, show which test catches it (slow, not in make test)"
	@echo "make bench       benchmarks: converge times, kill -9 recovery, requests lost (prints figures)"
	@echo "make build       build the collection tarball"

venv: $(STAMP)

$(STAMP): requirements.txt
	@scripts/ensure-python-venv.sh
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

# The collection under test, by FQCN, straight from this checkout.
collection: $(COLLECTION_LINK)

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

docker:
	@scripts/ensure-docker.sh

images: venv docker
	@scripts/build-images.sh
	@scripts/build-wheelhouse.sh

lint: venv collection
	yamllint --strict .
	ansible-lint --profile production

unit: venv collection
	pytest -q tests/unit

molecule: venv collection images
	@scripts/run-scenarios.sh $(MOLECULE_JOBS) $(foreach s,$(SCENARIOS),$(s)$(if $(filter $(s),$(ONE_IMAGE)),:debian12))

scenario: venv collection images
	molecule test -s $(SCENARIO) $(call platform_of,$(SCENARIO))

# The wall time goes to .cache/make-test-seconds, for `make bench` to report.
test:
	@start=$$(date +%s); $(MAKE) --no-print-directory lint unit molecule; \
	  mkdir -p .cache; echo $$(( $$(date +%s) - start )) > .cache/make-test-seconds; \
	  echo "make test: passed in $$(cat .cache/make-test-seconds)s"

# Not part of make test (about 30-40 minutes): docs/TESTING.md has its last table.
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
