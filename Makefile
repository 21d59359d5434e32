# Two commands for a newcomer: `make demo` (build a bundle from the local test mirror) and
# `make test`. Both install what they need. `make check` = lint + types + shellcheck + tests.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUILD := build
MIRROR := $(BUILD)/test-mirror
WHEELHOUSE := $(BUILD)/wheelhouse
SHELL_FILES := bundler/onhost/install.sh $(wildcard scripts/*.sh) $(wildcard tests/support/standin/*/*.sh)
SUPERVISOR ?=
QUICK ?=

.PHONY: all demo test test-unit check lint deps venv mirror wheelhouse python27 java11 locks locks-check clean bench docs

all: check

# System packages the build, tests and demo use, installed only when missing
# (docs/explanation/tests-and-dependencies.md says why each is there). sshd (the Ansible test's
# hosts), systemd-analyze (the unit file's check) and tinyproxy (the proxy test's way out) only
# for the tests.
test check: TEST_DEPS = 1
deps:
	@missing=""; \
	command -v gpg >/dev/null || missing="$$missing gnupg"; \
	command -v shellcheck >/dev/null || missing="$$missing shellcheck"; \
	command -v dash >/dev/null || missing="$$missing dash"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	command -v unshare >/dev/null || missing="$$missing util-linux"; \
	command -v ip >/dev/null || missing="$$missing iproute2"; \
	command -v javac >/dev/null || missing="$$missing default-jdk-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	[ -f /usr/share/java/zookeeper.jar ] || missing="$$missing zookeeper"; \
	$(if $(TEST_DEPS),[ -x /usr/sbin/sshd ] || missing="$$missing openssh-server";) \
	$(if $(TEST_DEPS),command -v systemd-analyze >/dev/null || missing="$$missing systemd";) \
	$(if $(TEST_DEPS),command -v tinyproxy >/dev/null || missing="$$missing tinyproxy";) \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" -ne 0 ]; then echo "need root (or sudo) for apt-get install$$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(PY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(PY)

venv: $(PY)

mirror: deps $(PY)
	$(PY) -m tests.support.make_mirror --out $(MIRROR)

wheelhouse: $(PY)
	$(PY) -m tests.support.make_wheelhouse --out $(WHEELHOUSE)

# Debian 11's own Python 2.7, extracted (not installed) into build/ through a private apt
# configuration: the target-Python tests run on it, and on a machine without pyenv's 2.7 it is
# their 2.7 (tests/support/debian_python.py).
python27: $(PY)
	@$(PY) -m tests.support.debian_python --out $(BUILD)/debian11-python2.7 >/dev/null

# Debian 11's OpenJDK 11 JRE, extracted the same way, made to stand alone, and packed for
# `bundler build --jdk`: Storm 1.2.3 to 2.3 cannot run on this machine's Java 17
# (tests/support/debian_java.py).
java11: $(PY)
	@$(PY) -m tests.support.debian_java --out $(BUILD)/debian11-java11 >/dev/null

locks: $(PY)
	$(PY) scripts/lock.py $(if $(SUPERVISOR),--supervisor $(SUPERVISOR))

locks-check: $(PY)
	$(PY) scripts/lock.py --check

# The reference pages under docs/reference/ from the definitions they describe (the CLI, the
# installer's flags, the exit codes, bundle.json's schema); tests/unit/test_docs.py fails when a
# committed page is not what this writes.
docs: $(PY)
	$(PY) scripts/docs.py

demo: deps $(PY) mirror wheelhouse
	sh scripts/demo.sh

# All three tiers. The summary ends with the 25 slowest tests and each tier's time; pytest's
# JUnit report goes to build/pytest-junit.xml (CI lists its skips: tests/support/skips.py).
test: deps $(PY) mirror wheelhouse python27 java11
	$(PY) -m pytest -q --durations=25 --junitxml=$(BUILD)/pytest-junit.xml

# The fast tier alone (tests/unit): no root, network, mirror or processes; seconds.
test-unit: $(PY)
	$(PY) -m pytest -q -m unit tests/unit

lint: $(PY)
	$(PY) -m ruff check bundler scripts tests
	$(PY) -m ruff format --check bundler scripts tests
	$(PY) -m mypy
	shellcheck -s sh $(SHELL_FILES)
	shellcheck .ci/run

check: deps lint test

clean:
	rm -rf $(BUILD) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Benchmarks against the by-hand way on the local mirror: writes docs/benchmarks.md (minutes;
# builds the bench mirrors under build/ once). QUICK=1: one small run, seconds, for CI.
bench: deps $(PY) wheelhouse
	$(PY) scripts/bench $(if $(QUICK),--quick)
