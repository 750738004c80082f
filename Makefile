# The commands the README names. `make dev` installs only what the local stack needs; `make test` adds the
# test and infrastructure packages, Debian's chromium and the pinned CDK CLI, then runs lint and the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: dev test lint format synth deploy destroy bench clean

dev: $(VENV)/.dev
	@$(PY) -m devstack --port $(PORT)

test: $(VENV)/.test /usr/bin/chromium node_modules/.bin/cdk lint
	scripts/loopback-only $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

synth: $(VENV)/.infra node_modules/.bin/cdk
	npx cdk synth --quiet

deploy: $(VENV)/.infra node_modules/.bin/cdk
	npx cdk deploy --require-approval broadening $(CDK_ARGS)

destroy: $(VENV)/.infra node_modules/.bin/cdk
	npx cdk destroy $(CDK_ARGS)

bench: $(VENV)/.test /usr/bin/chromium
	scripts/loopback-only $(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.dev: pyproject.toml | $(PY)
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.infra: pyproject.toml | $(PY)
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet -e '.[infra]'
	@touch $@ $(VENV)/.dev

$(VENV)/.test: pyproject.toml | $(PY)
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet -e '.[infra,test]'
	@touch $@ $(VENV)/.infra $(VENV)/.dev

/usr/bin/chromium:
	$(SUDO) apt-get update -qq
	$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-liberation iproute2 util-linux >/dev/null

node_modules/.bin/cdk: package.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $@
