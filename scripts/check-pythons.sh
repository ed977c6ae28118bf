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
for p in manylinux_2_28 manylinux_2_27 manylinux_2_24 manylinux_2_17 manylinux2014 manylinux2010 manylinux1; do
  plat="$plat --platform ${p}_x86_64"
done
for v in ${VERSIONS:-3.12 3.13}; do
  echo "== Python $v"
  "$py" -m pip install -q --dry-run --ignore-installed --python-version "$v" --only-binary=:all: \
      $plat --target "$tmp/t" -c requirements/constraints.txt "$whl[all,test,dev]" 2>&1 \
      | { grep -v "WARNING: Location" || true; } || { echo "Python $v: does not resolve" >&2; exit 1; }
  echo "Python $v: every pinned dependency has a wheel"
done
