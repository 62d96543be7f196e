# The README's two commands: `make lab` (JupyterLab on the demo notebooks, embedded emulator)
# and `make test` (the whole suite). Each creates .venv and installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Jupyter refuses root unless told; containers and CI often run as root
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

lab: $(STAMP)
	@echo "kubeez-nb demo: http://127.0.0.1:$${PORT:-8888}/lab/tree/01-quickstart.ipynb (local emulator, no key, no credits)"
	KUBEEZ_DEMO=1 $(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$${PORT:-8888} \
	  --IdentityProvider.token='' $(ALLOW_ROOT) --ServerApp.root_dir=notebooks notebooks/01-quickstart.ipynb

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
