# Everything a fresh machine needs: Python 3.11 and pip. `make test` builds .venv itself.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: figures figures-quick verify test test-slow bench venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

figures: $(STAMP)
	$(VENV)/bin/sde-workbench figures --out figures/gallery

figures-quick: $(STAMP)
	$(VENV)/bin/sde-workbench figures --quick --out figures/output

verify: $(STAMP)
	$(VENV)/bin/sde-workbench verify --report figures/gallery/claims.md

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
