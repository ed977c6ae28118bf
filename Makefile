# Two commands do everything on a fresh machine:
#   make demo   install Tesseract + a virtual environment + locator, then find the
#               example catalog's codes in the scanned sample drawing
#   make test   install the same plus every engine and the test tools, then run the suite
# Both are idempotent: a second run installs nothing new.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test install install-test system clean

demo: install
	$(VENV)/bin/locate samples/drawing-a2-scan200.pdf --patterns patterns/sample-a2.yaml \
	    --dpi 200 -o demo-hits.csv
	@echo "--- first rows of demo-hits.csv ---"
	@head -n 12 demo-hits.csv

test: install-test
	$(PY) -m pytest

system:
	bash scripts/install-system.sh

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# The stamp files make re-runs free until pyproject.toml changes.
$(VENV)/.base: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

# The engines' extras bring torch and torchvision: installed together in one
# resolve so their builds match (they run on the CPU here).
$(VENV)/.test: pyproject.toml | $(PY)
	$(PIP) install -e '.[all,test]'
	touch $@ $(VENV)/.base

install: system $(VENV)/.base
install-test: system $(VENV)/.test

clean:
	rm -rf $(VENV) demo-hits.csv
