# The two commands: `make lab` and `make test` (`make check`: its fast lane). All build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := data/demo/parcels.csv data/demo/events.csv

.PHONY: lab test check lint format demo bench clean report

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(DEMO): | $(STAMP)
	$(BIN)/python -m toolkit.demo --parcels 2000 --seed 7 --out data/demo

demo: $(STAMP)
	$(BIN)/python -m toolkit.demo --parcels 2000 --seed 7 --out data/demo

# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# jupyter/jupyter_server_config.py: every save writes notebooks without outputs (clean in git).
lab: $(STAMP) $(DEMO)
	$(BIN)/jupyter lab --notebook-dir=notebooks --config=jupyter/jupyter_server_config.py $(ROOT_FLAG) $(LAB_ARGS)

test: $(STAMP) $(DEMO)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The fast lane: the suite without the tests marked slow (those that start a Jupyter kernel,
# a browser, JupyterLab, a server or a subprocess; tests/slow_guard.py keeps it so).
# One worker per core (pytest-xdist), each test file in one worker.
check: $(STAMP) $(DEMO)
	$(BIN)/python -m pytest -m "not slow" -n auto --dist loadfile $(PYTEST_ARGS)

# The carrier partner report over the demo set, as one offline HTML file in out/.
report: $(STAMP) $(DEMO)
	$(BIN)/python -m toolkit report --out out/

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
