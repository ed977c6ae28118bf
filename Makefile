# Two commands do everything on a fresh machine:
#   make demo   install Tesseract + a virtual environment + locator, then find the
#               example catalog's codes in the scanned sample drawing
#   make test   install the same plus every engine and the test tools, then run the suite
# Both are idempotent: a second run installs nothing new. Both install exactly
# the versions pinned in requirements/constraints.txt (the lock); `make lock`
# re-resolves it on purpose (see README "Installing").

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
LOCK   := requirements/constraints.txt

.PHONY: demo test install install-test system system-test check check-pythons lock clean

demo: install
	$(VENV)/bin/locate samples/drawing-a2-scan200.pdf --patterns patterns/sample-a2.yaml \
	    --dpi 200 -o demo-hits.csv
	@echo "--- first rows of demo-hits.csv ---"
	@head -n 12 demo-hits.csv

test: install-test
	$(PY) -m pytest

system:
	bash scripts/install-system.sh

# The tests also need Debian's chromium (the browser test of `locate serve`;
# Playwright drives it and downloads no browser of its own).
system-test:
	bash scripts/install-system.sh --browser

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# The stamp files make re-runs free until pyproject.toml changes.
$(VENV)/.base: pyproject.toml $(LOCK) | $(PY)
	$(PIP) install -c $(LOCK) -e .
	touch $@

# The engines' extras bring torch and torchvision: installed together in one
# resolve so their builds match (they run on the CPU here).
$(VENV)/.test: pyproject.toml $(LOCK) | $(PY)
	$(PIP) install -c $(LOCK) -e '.[all,test,dev]'
	touch $@ $(VENV)/.base

install: system $(VENV)/.base
install-test: system-test $(VENV)/.test

# The checks CI runs besides the tests: installed packages agree with each
# other, every module the code imports is declared (and nothing unused), ruff
# finds nothing and mypy passes (settings in pyproject.toml).
check: install-test
	$(PY) -m pip check
	$(VENV)/bin/deptry locator bench samples tests
	$(VENV)/bin/ruff check locator tests bench samples scripts
	$(VENV)/bin/mypy

# The lock resolves for the declared Pythons this machine does not run.
check-pythons: install-test
	bash scripts/check-pythons.sh

# Re-resolve the lock on purpose (newest versions pyproject.toml and
# requirements/pins.in allow), then `make test` before committing it.
lock:
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip --disable-pip-version-check -q install pip-tools
	.venv-lock/bin/pip-compile -q --upgrade --strip-extras --extra all --extra test \
	    --extra dev --no-emit-index-url --no-emit-find-links --unsafe-package locator \
	    -o $(LOCK) \
	    pyproject.toml requirements/pins.in

clean:
	rm -rf $(VENV) .venv-lock demo-hits.csv
