#!/bin/sh
# Registry import benchmark: a generated roster of N persons through
# `wangge import persons` (validation, encryption, blind index, scope,
# households, audit), from CSV and from XLSX, beside the ceiling that counts:
# a C program inserting the same rows into the registry's own schema
# (persons, households, every index, the non-unique ones built by sorting at
# the end), and beside a second one that builds the unique index on the ID
# number by sorting too, as wangge now does (finding repeats in memory
# meanwhile, which the C program does not). Every import and its ceilings run RUNS times,
# alternately, in this one run; medians and the ratio are printed. Then the
# same on PostgreSQL for the first PG_N rows: the import, the import row by
# row (import_chunk_rows = 0, as before batches), and the ceiling there (the
# same rows by COPY into the PostgreSQL schema). Then the other SQLite
# ceilings once, and ID lookup and name-prefix search latency over HTTP.
#   bench/registry/run.sh [N [PG_N]]     (default 1000000 200000; RUNS=3)
set -eu
cd "$(dirname "$0")/../.."
N=${1:-1000000}
PG_N=${2:-200000}
RUNS=${RUNS:-3}
out=bench/out/registry; mkdir -p "$out"
make -s build/wangge
cc -O2 -o "$out/insert" bench/registry/insert.c -lsqlite3
cc -O2 -o "$out/schema_insert" bench/registry/schema_insert.c -lsqlite3
cc -O2 -I"$(pg_config --includedir)" -o "$out/pg_schema_insert" bench/registry/pg_schema_insert.c -lpq
. bench/registry/roster.sh
pgcsv="$out/persons-$PG_N-head.csv"
head -n $((PG_N + 1)) "$csv" > "$pgcsv"
data=$(mktemp -d /tmp/wangge-regbench.XXXXXX); rm -rf "$data"
pgdir=""
cleanup() {
	kill ${srv:-0} 2>/dev/null || true
	[ -n "$pgdir" ] && tools/pg.sh stop "$pgdir" && rm -rf "$pgdir"
	rm -rf "$data" "$data".* "$out"/*.db*
}
trap cleanup EXIT INT TERM
echo "rows: $N (CSV $(du -m "$csv" | cut -f1) MB, XLSX $(du -m "$xlsx" | cut -f1) MB), machine: $(nproc) cores, runs: $RUNS"
uptime

# timed NAME CMD...: appends "seconds peak-KB" of CMD to $out/NAME.times
timed() {
	name=$1; shift
	/usr/bin/time -f "%e %M" -o "$out/time.tmp" "$@" > "$out/$name.txt" 2>&1 || { tail -5 "$out/$name.txt"; exit 1; }
	cat "$out/time.tmp" >> "$out/$name.times"
}
# fresh DIR [--db URL] [conf line]: a data directory with the demo county's places and accounts
fresh() {
	dir=$1; shift
	db=""
	if [ "${1:-}" = --db ]; then db="--db $2"; shift 2; fi
	rm -rf "$dir"
	# shellcheck disable=SC2086
	echo "admin-password-2026" | build/wangge init --data "$dir" $db --password-stdin >/dev/null
	[ -z "${1:-}" ] || echo "$1" >> "$dir/wangge.conf"
	build/wangge demo --data "$dir" --persons 0 >/dev/null
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
secs() { cut -d" " -f1 < "$out/$1.times" | median; }
runs() { cut -d" " -f1 < "$out/$1.times" | tr '\n' ' ' | sed 's/ $//; s/ / \/ /g'; }
peak() { cut -d" " -f2 < "$out/$1.times" | sort -n | tail -1 | awk '{ printf "%d", $1 / 1024 }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
share() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100 * b / a }'; }
line() {  # LABEL NAME ROWS [CEILING-NAME [SECOND-CEILING-NAME]]
	s=$(secs "$2")
	c=${4:+$(share "$s" "$(secs "$4")")}
	d=${5:+ $(share "$s" "$(secs "$5")") |}
	printf '| %s | %s (%s) | %s | %s |%s %s MB |\n' "$1" "$s" "$(runs "$2")" "$(rate "$3" "$s")" "${c:-100 %}" "$d" "$(peak "$2")"
}

rm -f "$out"/*.times
for run in $(seq "$RUNS"); do
	rm -f "$out/sorted.db"*
	timed ceiling "$out/schema_insert" "$out/sorted.db" "$csv" sorted
	rm -f "$out/sorted.db"*
	timed ceiling_all "$out/schema_insert" "$out/sorted.db" "$csv" allsorted
	fresh "$data"
	timed import_csv build/wangge import persons "$csv" --as command --data "$data"
	fresh "$data"
	timed import_xlsx build/wangge import persons "$xlsx" --as command --data "$data"
done
echo
echo "SQLite, $N rows, median of $RUNS (each run):"
printf '| path | seconds | rows/s | of the ceiling | of the second ceiling | peak RSS |\n|---|---|---|---|---|---|\n'
line "C prepared insert into the registry schema, non-unique indexes sorted at the end (ceiling)" ceiling "$N" ceiling ceiling_all
line "the same, the unique index sorted at the end too (second ceiling)" ceiling_all "$N" ceiling ceiling_all
line "wangge import persons, CSV" import_csv "$N" ceiling ceiling_all
line "wangge import persons, XLSX" import_xlsx "$N" ceiling ceiling_all
tail -1 "$out/import_xlsx.txt"

if ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
	pgdir=$(mktemp -d /tmp/wangge-regbench-pg.XXXXXX)
	port=$((30000 + $$ % 20000))
	pgurl=$(tools/pg.sh start "$pgdir" "$port")
	for run in $(seq "$RUNS"); do
		for what in ceil chunks alone; do
			tools/pg.sh createdb "$pgdir" "$port" "${what}_$run"
		done
		timed pg_ceiling "$out/pg_schema_insert" "$pgurl/ceil_$run" "$pgcsv" copy
		fresh "$data.pg" --db "$pgurl/chunks_$run"
		timed pg_import build/wangge import persons "$pgcsv" --as command --data "$data.pg"
		fresh "$data.pg" --db "$pgurl/alone_$run" "import_chunk_rows = 0"
		timed pg_alone build/wangge import persons "$pgcsv" --as command --data "$data.pg"
	done
	echo
	echo "PostgreSQL $(basename "$(dirname "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)")") (a throw-away server on the same cores), $PG_N rows, median of $RUNS (each run):"
	printf '| path | seconds | rows/s | of the ceiling | peak RSS |\n|---|---|---|---|---|\n'
	line "COPY into the registry schema, 1,000 rows a COPY (ceiling)" pg_ceiling "$PG_N"
	line "wangge import persons, chunks of 1,000 rows (import_chunk_rows)" pg_import "$PG_N" pg_ceiling
	line "wangge import persons, row by row (import_chunk_rows = 0, as before)" pg_alone "$PG_N" pg_ceiling
	tail -1 "$out/pg_import.txt"
else
	echo "(PostgreSQL is not installed: the PostgreSQL part is skipped)"
fi

rm -f "$out/bare.db" "$out/ins.db" "$out/live.db"*
echo
echo "Other SQLite ceilings, once:"
printf '| path | seconds | rows/s |\n|---|---|---|\n'
for what in bare ins live; do
	case $what in
	bare) timed $what sqlite3 "$out/bare.db" -cmd ".mode csv" ".import $csv p"; label="sqlite3 .import, bare table" ;;
	ins) timed $what "$out/insert" "$out/ins.db" "$csv"; label="C prepared insert, unique index" ;;
	live) timed $what "$out/schema_insert" "$out/live.db" "$csv" live; label="C prepared insert into the registry schema, indexes live" ;;
	esac
	s=$(tail -1 "$out/$what.times" | cut -d" " -f1)
	printf '| %s | %s | %s |\n' "$label" "$s" "$(rate "$N" "$s")"
done

fresh "$data"
build/wangge import persons "$csv" --as command --data "$data" >/dev/null 2>&1
build/wangge serve --data "$data" --listen 127.0.0.1:18099 >/dev/null 2>&1 & srv=$!
sleep 1
token=$(curl -s -X POST -H 'content-type: application/json' \
	-d '{"username":"command","password":"wangge-demo-2026"}' http://127.0.0.1:18099/api/v1/session |
	sed 's/.*"token":"\([^"]*\)".*/\1/')
id=$(sed -n '5000p' "$csv" | cut -d, -f3)
# a surname alone, and a surname with the first character of a given name, percent-encoded
enc() { sed -n '7000p' "$csv" | cut -d, -f1 | head -c "$1" | od -An -tx1 | tr -d ' \n' | sed 's/\(..\)/%\1/g'; }
echo
for what in "id_number=$id" "q=$(enc 3)&limit=20" "q=$(enc 6)&limit=20"; do
	wrk -t1 -c4 -d10s --latency -H "authorization: Bearer $token" "http://127.0.0.1:18099/api/v1/persons?$what" > "$out/lookup.txt"
	p99=$(awk '$1=="99%" {print $2}' "$out/lookup.txt")
	rps=$(awk '/Requests\/sec/ {print $2}' "$out/lookup.txt")
	echo "GET /api/v1/persons?$what at $N persons: p99 $p99, $rps req/s (wrk -t1 -c4 -d10s)"
done
uptime
