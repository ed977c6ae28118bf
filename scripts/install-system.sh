#!/usr/bin/env bash
# Installs the system programs locator needs (Tesseract) when they are missing.
# Idempotent: does nothing when tesseract is already on PATH. Needs root or sudo.
set -euo pipefail
if command -v tesseract >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "tesseract is missing and I am not root: install Debian's tesseract-ocr" >&2; exit 1; }
  SUDO="sudo"
fi
echo "installing tesseract-ocr (Debian package)..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends tesseract-ocr tesseract-ocr-eng >/dev/null
tesseract --version | head -1 >&2
