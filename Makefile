# The two commands a new user needs (README): `make demo` and `make test`.
# Both create .venv on first use and install what they need; on a fresh Debian machine (as root)
# they first install python3 and python3-venv with apt-get.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench check clean deps lab-deps vcsim

$(BIN)/python:
	@if ! command -v $(PYTHON) >/dev/null 2>&1 || ! $(PYTHON) -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
	  echo "installing python3 and python3-venv with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip >/dev/null; \
	fi
	@rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

deps: $(STAMP)

# Debian packages for the network-namespace lab and the SSH tests (root; skipped quietly otherwise).
lab-deps:
	@sh scripts/install-lab-deps.sh

# tests/vcsim (govmomi's vCenter simulator with labkit's model) for the vSphere tests and benchmark;
# built only where Go is installed (lab-deps installs it with govmomi's source), else they skip.
vcsim:
	@if command -v go >/dev/null 2>&1; then sh scripts/build-vcsim.sh; \
	else echo "go is not installed: not building vcsim (the vSphere tests skip)"; fi

demo: $(STAMP)
	$(BIN)/labkit check inventory/seed-lab.yml playbooks/seed-bridged.yml playbooks/seed-nat.yml
	$(BIN)/labkit run playbooks/seed-bridged.yml --json reports/seed-bridged.json --junit reports/seed-bridged.xml --html reports/seed-bridged.html
	$(BIN)/labkit run playbooks/seed-nat.yml --json reports/seed-nat.json --junit reports/seed-nat.xml --html reports/seed-nat.html
	@echo "reports written to reports/ (open reports/seed-nat.html in a browser)"

# The architecture is checked before the tests: layers and backend independence (import-linter,
# contracts in pyproject.toml) and types (mypy: a Lab's optional abilities are `X | None`).
test: $(STAMP) lab-deps
	@$(MAKE) --no-print-directory vcsim
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory lab-deps && $(BIN)/python benchmarks/bench_netns.py; \
	else echo "skipping the netns benchmark: it needs root"; fi
	@$(MAKE) --no-print-directory vcsim
	@if [ -x .build/vcsim ]; then $(BIN)/python benchmarks/bench_vsphere.py; \
	else echo "skipping the vSphere benchmark: .build/vcsim is not built (make lab-deps vcsim)"; fi

clean:
	rm -rf $(VENV) reports .pytest_cache .hypothesis *.egg-info
