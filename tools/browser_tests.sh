#!/bin/sh
# Runs the browser tests (tests/browser, node's test runner, playwright-core
# driving Debian's Chromium) against the optimised server build on SQLite.
#   tools/browser_tests.sh [test files…]
set -eu
cd "$(dirname "$0")/.."
export WG_BIN="${WG_BIN:-$PWD/build/wangge}"
export WG_STORE=sqlite
unset WG_PG_URL WG_PG_DIR WG_PG_PORT
chromium=${WG_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "browser tests: $chromium is missing (tools/deps.sh test installs it)" >&2; exit 1; }
${MAKE:-make} --no-print-directory build/wangge web/dist/index.html >/dev/null
echo "== browser tests"
if [ $# -gt 0 ]; then
	node --test --test-concurrency=1 "$@"
else
	node --test --test-concurrency=1 tests/browser/
fi
