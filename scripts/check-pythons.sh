#!/usr/bin/env bash
# Shows that the lock resolves for the Pythons pyproject.toml declares but this
# machine does not run (3.12, 3.13): pip resolves locator's wheel with every
# extra against requirements/constraints.txt for each, binary wheels only, as
# on an x86_64 Linux machine. Nothing is installed. Needs the package
# registry; run it after `make lock` (`make check-pythons`).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PY:-.venv/bin/python}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$py" -m pip wheel -q --no-deps . -w "$tmp/whl" >/dev/null
whl=$(ls "$tmp"/whl/locator-*.whl)
plat=""
# Every glibc tag up to Debian 12's 2.36 (a wheel names the oldest glibc it needs).
for p in $(for i in $(seq 36 -1 17); do echo manylinux_2_$i; done) manylinux2014 manylinux2010 manylinux1; do
  plat="$plat --platform ${p}_x86_64"
done
for v in ${VERSIONS:-3.12 3.13}; do
  echo "== Python $v"
  "$py" -m pip install --dry-run --ignore-installed --python-version "$v" --only-binary=:all: \
      $plat --target "$tmp/t" -c requirements/constraints.txt "$whl[all,test,dev]" 2>&1 \
      | { grep -v "WARNING: Location\|^Looking in\|^Would install\|^INFO: pip\|^Processing\|^Collecting\|^  Downloading\|━" || true; } || { echo "Python $v: does not resolve" >&2; exit 1; }
  echo "Python $v: every pinned dependency has a wheel"
done
