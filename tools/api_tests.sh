#!/bin/sh
# Runs the black-box API tests (tests/api, node's test runner) against the
# sanitizer build of the server, on SQLite or on a throw-away PostgreSQL.
#   tools/api_tests.sh sqlite|postgres [test files…]
set -eu
cd "$(dirname "$0")/.."
store=${1:-sqlite}
export WG_BIN="$PWD/build/san/wangge"
export WG_STORE="$store"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
pgdir=""
cleanup() { [ -n "$pgdir" ] && tools/pg.sh stop "$pgdir"; [ -n "$pgdir" ] && rm -rf "$pgdir"; true; }
trap cleanup EXIT INT TERM
if [ "$store" = postgres ]; then
	pgdir=$(mktemp -d /tmp/wangge-pg.XXXXXX)
	port=$((20000 + $$ % 20000))
	export WG_PG_URL=$(tools/pg.sh start "$pgdir" "$port")
	export WG_PG_DIR="$pgdir" WG_PG_PORT="$port"
fi
echo "== API tests on $store"
shift || true
if [ $# -gt 0 ]; then
	node --test --test-concurrency=1 "$@"
else
	node --test --test-concurrency=1 tests/api/
fi
