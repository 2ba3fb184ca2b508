# Two commands do all set-up on a fresh machine:
#   make demo   creates .venv (inference only, no torch) and runs all three modules on generated phantoms
#   make test   creates .venv with the test and training extras and runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
DEMO_OUTPUT ?= demo-output
# Extra pip options, e.g. PIP_EXTRA="--extra-index-url https://download.pytorch.org/whl/cpu" for the CPU build of torch.
PIP_EXTRA ?=

.PHONY: demo test test-slow test-compat benchmark env clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-core: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(PIP_EXTRA) -e ".[mrml]"
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed-core
	$(BIN)/python -m pip install --quiet $(PIP_EXTRA) -e ".[mrml,test,train]"
	touch $@

env: $(VENV)/.installed-core

demo: $(VENV)/.installed-core
	$(BIN)/lesionai demo -o $(DEMO_OUTPUT)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

test-slow: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m slow

# The inference, DICOM, CLI and logic tests in the Python and package versions of Slicer 5.8 and 5.12
# (fresh environments under .venv-compat/; a job whose Python is missing is skipped).
test-compat:
	.ci/compat

# End to end through the command line (start-up and every output file included; best and median of
# 3 runs, as other programs make single timings noisy) and the pipeline alone, for every task; then
# SeverityScoring's stages and an 8000 x 8000 16-bit radiograph.
benchmark: $(VENV)/.installed-core
	$(BIN)/python benchmarks/benchmark_cli.py severity --count 20 --repeats 3 --pipeline
	$(BIN)/python benchmarks/benchmark_cli.py spine --count 5 --shape 20,320,320 --spacing 0.5,0.5,5 --repeats 3 --pipeline
	$(BIN)/python benchmarks/benchmark_cli.py spine --count 5 --shape 52,225,384 --spacing 1,1,1 --repeats 3 --pipeline
	$(BIN)/python benchmarks/benchmark_cli.py nodule --count 20 --repeats 3 --pipeline
	$(BIN)/python benchmarks/benchmark_severity.py
	$(BIN)/python benchmarks/benchmark_large_input.py --repeats 3

clean:
	rm -rf $(VENV) .venv-compat $(DEMO_OUTPUT) .pytest_cache
