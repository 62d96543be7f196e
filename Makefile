# The README's two commands: `make lab` (JupyterLab on the demo notebooks, embedded emulator)
# and `make test` (the whole suite). Each creates .venv and installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Jupyter refuses root unless told; containers and CI often run as root
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab studio test lint bench clean binder-link screenshots

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# No "Would you like to get notified about official Jupyter news?" pop-up over the studio and no
# update check: defaults from binder/lab-settings/overrides.json (Binder's postBuild installs the
# same file), and no news feed fetched at all.
LAB_FLAGS := --LabApp.app_settings_dir=$(CURDIR)/binder/lab-settings --LabApp.news_url=None \
  --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate

lab: $(STAMP)
	@echo "kubeez-nb demo: http://127.0.0.1:$${PORT:-8888}/lab/tree/01-quickstart.ipynb (local emulator, no key, no credits)"
	KUBEEZ_DEMO=1 $(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$${PORT:-8888} \
	  --IdentityProvider.token='' $(ALLOW_ROOT) $(LAB_FLAGS) --ServerApp.root_dir=notebooks notebooks/01-quickstart.ipynb

# The studio as an app (no code, no notebook UI): Voila on 02-studio.ipynb. Notebook 7's Lab
# extension cannot load in Voila's page (it logs a shared-module error), so Voila skips it.
VOILA_FLAGS := --VoilaConfiguration.extension_denylist=@jupyter-notebook/lab-extension

studio: $(STAMP)
	@echo "kubeez-nb studio app: http://127.0.0.1:$${PORT:-8866}/ (local emulator, no key, no credits)"
	cd notebooks && KUBEEZ_DEMO=1 ../$(BIN)/voila 02-studio.ipynb --no-browser --port=$${PORT:-8866} $(VOILA_FLAGS)

# Rewrite the README's Binder badge from [project.urls] Repository in pyproject.toml
binder-link:
	$(PY) binder/link.py

# the habits of the issue: lint, format, types, then the suite on every core (pytest-xdist: one
# worker per core, a test file stays on one worker so its servers start once; TEST_JOBS=0 runs it
# in this process)
TEST_JOBS ?= 2
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy kubeez_nb
	$(BIN)/python -m pytest -q -n $(TEST_JOBS) --dist loadfile

# Rewrite the README's screenshots in docs/ (a plain test run writes them to a temp folder)
screenshots: $(STAMP)
	KUBEEZ_UPDATE_DOCS=1 $(BIN)/python -m pytest -q tests/test_browser_studio.py \
	  tests/test_browser_studio_actions.py tests/test_browser_job_actions.py

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
