# `make demo` and `make test` are all the set-up a fresh machine needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all figures lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m experiments.atlas
	@echo "figures: results/atlas/atlas.png (and .pdf)"

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=20

# Reruns every experiment at its default size and copies its PNGs to docs/figures/<name>/
# (about 55 min on 2 quiet CPU cores; `python -m experiments figures --only NAME ...`).
figures: $(STAMP)
	$(BIN)/python -m experiments figures

test-all: $(STAMP)
	$(BIN)/python -m pytest -m ''

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) results .pytest_cache
