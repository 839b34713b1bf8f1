#!/bin/sh
# Turns schema/<dialect>/NNNN_name.sql files into a C table of migrations.
set -eu
echo '/* Generated from schema/ by tools/embed_schema.sh; do not edit. */'
echo '#include "core/migrate.h"'
echo 'const struct wg_migration wg_migrations[] = {'
for f in "$@"; do
	dialect=$(basename "$(dirname "$f")")
	base=$(basename "$f" .sql)
	version=$(echo "$base" | sed 's/_.*//' | sed 's/^0*//')
	printf '\t{ "%s", %s, "%s",\n' "$dialect" "$version" "$base"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t  "/' -e 's/$/\\n"/' "$f"
	printf '\t},\n'
done
echo '	{ 0, 0, 0, 0 }'
echo '};'
