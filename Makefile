# Everything a fresh machine needs: Python 3.11 and pip. `make test` builds .venv itself.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: figures figures-quick verify test test-slow bench venv docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[test,docs]'
	touch $(STAMP)

venv: $(STAMP)

figures: $(STAMP)
	$(VENV)/bin/sde-workbench figures --out figures/gallery

figures-quick: $(STAMP)
	$(VENV)/bin/sde-workbench figures --quick --out figures/output

verify: $(STAMP)
	$(VENV)/bin/sde-workbench verify --report figures/gallery/claims.md --json figures/gallery/claims.json

# the test suite on every core (pytest-xdist; a test file stays on one worker, so its compiled
# kernels are reused), then the docs (a broken page fails CI: .ci/run runs `make test`)
test: $(STAMP)
	$(PY) -m pytest -q -n auto --dist loadfile
	$(MAKE) docs

# the docs site into docs/_build/html, warnings as errors; notebooks executed in their quick mode
docs: $(STAMP)
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow -n auto --dist loadfile

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache docs/_build docs/_generated
