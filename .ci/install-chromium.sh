#!/usr/bin/env bash
# Installs Debian's chromium for the run page's browser test (tests/e2e/test_http_page.py),
# which is skipped where chromium is absent. Needs root (CI images run as root) and the Debian
# package mirror; does nothing when chromium is already there.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium
chromium --version
