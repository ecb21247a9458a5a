# The two commands of the quick start: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test soak lint docs bench wheel clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: set PYTHON=python3.x"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e ".[all]" --group dev
	touch $(STAMP)

# From the repository root, so that the commands runserver suggests work as printed.
demo: $(STAMP)
	$(BIN)/python example_project/manage.py migrate --noinput
	$(BIN)/python example_project/manage.py runserver 127.0.0.1:8000

test: $(STAMP)
	rm -f .coverage .coverage.*
	PYTHONDEVMODE=1 $(BIN)/python -m coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/python -m coverage combine --quiet
	$(BIN)/python -m coverage report --fail-under=95

# The full soak (about 8 minutes): faults repeated for STABILITY_SOAK_SECONDS, figures
# printed and written to docs/reliability.md. CI runs a one-round version (.ci/run).
SOAK_SECONDS ?= 420
soak: $(STAMP)
	STABILITY_SOAK_SECONDS=$(SOAK_SECONDS) STABILITY_SOAK_REPORT=docs/reliability.md \
		$(BIN)/python -m pytest tests/system -m soak -p no:randomly $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy django_stability tests benchmarks example_project deploy/rollout.py

docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -b html -q docs docs/_build/html

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --group bench
	$(BIN)/python benchmarks/run.py

wheel: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --wheel --outdir dist .

clean:
	rm -rf $(VENV) .tox dist build docs/_build .coverage .coverage.* .mypy_cache .ruff_cache .pytest_cache
