#!/usr/bin/env bash
# Installs the system programs locator needs when they are missing: Tesseract, and
# with --browser Debian's chromium (the `locate serve` page's browser test drives it
# through Playwright; no browser is downloaded). Idempotent: does nothing when they
# are already on PATH. Needs root or sudo for what is missing.
set -euo pipefail
packages=()
command -v tesseract >/dev/null 2>&1 || packages+=(tesseract-ocr tesseract-ocr-eng)
if [ "${1:-}" = "--browser" ]; then
  [ -x /usr/bin/chromium ] || packages+=(chromium)  # the path the browser test launches
fi
if [ "${#packages[@]}" -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "missing ${packages[*]} and I am not root: install these Debian packages" >&2; exit 1; }
  SUDO="sudo"
fi
echo "installing ${packages[*]} (Debian packages)..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
command -v tesseract >/dev/null && tesseract --version | head -1 >&2
