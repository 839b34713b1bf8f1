#!/bin/sh
# Builds and runs the tracing benchmark:  bench/trace/run.sh [small|medium]
#   small  =   100,000 persons /  10,000 venues (about 5.6M scans)
#   medium = 1,000,000 persons /  50,000 venues (about 56M scans)
# Engines: wangge's trace engine (in process: `trace`; the batch through the
# CLI as a whole process: `cli`, after `trace`, whose store it uses), SQLite
# (C library), PostgreSQL 15 (a throw-away cluster), DuckDB
# (@duckdb/node-api). A SQL query still running after TIMEOUT seconds
# (default 600) is cancelled and reported as such.
# Output: out/SIZE/*.txt (raw RESULT lines) and out/SIZE/summary.md.
set -eu
cd "$(dirname "$0")"
size=${1:-small}
case $size in
small)  persons=100000;  venues=10000 ;;
medium) persons=1000000; venues=50000 ;;
*) echo "usage: run.sh [small|medium]" >&2; exit 2 ;;
esac
TIMEOUT=${TIMEOUT:-600}
ENGINES=${ENGINES:-"trace cli sqlite duckdb postgres"}
out=out/$size
mkdir -p "$out/sql" "$out/work"

make -s all
make -s -C ../.. build/wangge
[ -x /usr/lib/postgresql/15/bin/initdb ] || apt-get install -y postgresql >/dev/null

if [ ! -f "$out/data.meta" ] || [ ! -f "$out/data.cases_random.csv" ]; then
	echo "== generating $size data"
	out/gen "$persons" "$venues" 14 42 "$out/data"
fi
. "./$out/data.meta"
W=$((ONSET - 14 * 86400))
for q in q1 q2 q3 q3r q3copy; do
	sed -e "s/@CASE@/$CASE/g" -e "s/@W@/$W/g" "sql/$q.sql" > "$out/sql/$q.sql"
done
abs=$(cd "$out" && pwd)

for e in $ENGINES; do
	echo "== $e"
	# every engine starts with the input in the page cache, none pays the disk read
	cat "$out/data.csv" "$out/data.bin" > /dev/null
	case $e in
	trace)    rm -rf "$out/work"; mkdir -p "$out/work"
	          out/bench_trace "$abs/data" "$abs/work" | tee "$out/trace.txt" ;;
	cli)      ./cli_batch.sh "$abs/data" "$abs/work" | tee "$out/cli.txt" ;;
	sqlite)   out/bench_sqlite "$abs/data" "$abs/work/sqlite.db" "$TIMEOUT" "$abs/sql" | tee "$out/sqlite.txt"
	          rm -f "$abs/work/sqlite.db" ;;
	duckdb)   node duck.mjs "$abs/data" "$abs/sql" "$TIMEOUT" "$abs/work" | tee "$out/duckdb.txt" ;;
	postgres) ./pg.sh "$abs/data" "$abs/sql" "$TIMEOUT" | tee "$out/postgres.txt" ;;
	esac
done
node report.mjs "$out" "$size" > "$out/summary.md"
cat "$out/summary.md"
