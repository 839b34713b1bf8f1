#!/bin/sh
# Rejects functions that have no place in this code base (unbounded copies,
# unchecked conversions, hidden global state).
set -eu
cd "$(dirname "$0")/.."
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtok|strncpy|tmpnam)\s*\('
if grep -rnE "$banned" src tests/unit tests/fuzz bench --include='*.c' --include='*.h'; then
	echo "lint: banned function used (see docs/architecture.md, 'Banned functions')" >&2
	exit 1
fi
echo "lint: ok"
