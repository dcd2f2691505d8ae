#!/usr/bin/env bash
# Install Debian's chromium for the browser test (test/e2e/sso-browser.test.ts, driven
# by playwright-core) when it is missing. Playwright's own browser download cannot work
# here: only the npm and Debian registries are reachable. Safe to run when installed.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
