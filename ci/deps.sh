#!/usr/bin/env bash
# Installs the system packages the tests need beyond Go. Idempotent: does nothing when they
# are there. Today: headless Chromium (Debian package `chromium`, /usr/bin/chromium), which
# tiers' HTML render test drives. Run through `make deps`.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
	echo "deps: chromium present ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))"
	exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null || { echo "deps: not root and no sudo: install the Debian package chromium yourself" >&2; exit 1; }
	SUDO=(sudo)
fi
command -v apt-get >/dev/null || { echo "deps: no apt-get: install Chromium so that /usr/bin/chromium exists" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
echo "deps: apt-get update"
"${SUDO[@]}" apt-get update -q
echo "deps: apt-get install chromium (about 100 MB of packages; progress below)"
"${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium
/usr/bin/chromium --version
