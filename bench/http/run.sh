#!/bin/sh
# HTTP benchmark: wrk on loopback against a minimal libmicrohttpd server
# (the ceiling), wangge's /healthz, and an authenticated, scoped, audited
# GET /api/v1/grids/{id}. Medians of RUNS runs each.
#   bench/http/run.sh [sqlite|postgres]   (RUNS, SECONDS, CONNECTIONS may be set)
set -eu
cd "$(dirname "$0")/../.."
store=${1:-sqlite}
RUNS=${RUNS:-3} SECONDS_EACH=${SECONDS:-10} CONN=${CONNECTIONS:-64}
out=bench/out/http; mkdir -p "$out"
make -s build/wangge
cc -O2 -o "$out/hello" bench/http/hello.c $(pkg-config --cflags --libs libmicrohttpd)
data=$(mktemp -d /tmp/wangge-bench.XXXXXX); rm -rf "$data"
pgdir=""
cleanup() {
	[ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true
	[ -n "${hello:-}" ] && kill "$hello" 2>/dev/null || true
	[ -n "$pgdir" ] && tools/pg.sh stop "$pgdir" && rm -rf "$pgdir"
	rm -rf "$data"
}
trap cleanup EXIT INT TERM
dbopt=""
if [ "$store" = postgres ]; then
	pgdir=$(mktemp -d /tmp/wangge-benchpg.XXXXXX)
	url=$(tools/pg.sh start "$pgdir" 25999)
	tools/pg.sh createdb "$pgdir" 25999 bench
	dbopt="--db $url/bench"
fi
echo "admin-password-2026" | build/wangge init --data "$data" --password-stdin $dbopt >/dev/null
build/wangge demo --data "$data" >/dev/null
build/wangge serve --data "$data" --listen 127.0.0.1:18088 >/dev/null 2>&1 & srv=$!
"$out/hello" 18090 2 & hello=$!
sleep 1
rss_idle=$(awk '/VmRSS/ {print $2}' /proc/$srv/status)
token=$(curl -s -X POST -H 'content-type: application/json' \
	-d '{"username":"gridworker","password":"wangge-demo-2026"}' http://127.0.0.1:18088/api/v1/session |
	sed 's/.*"token":"\([^"]*\)".*/\1/')
curl -sf -H "authorization: Bearer $token" http://127.0.0.1:18088/api/v1/grids/4 >/dev/null
# keep-alive must be on, or the figures mean nothing
curl -sv -H "authorization: Bearer $token" http://127.0.0.1:18088/api/v1/grids/4 http://127.0.0.1:18088/api/v1/grids/4 2>&1 |
	grep -q "Re-using existing connection" || { echo "keep-alive is off" >&2; exit 1; }

measure() { # name url [header]
	name=$1 url=$2 hdr=${3:-}
	i=0
	while [ $i -lt "$RUNS" ]; do
		if [ -n "$hdr" ]; then wrk -t2 -c"$CONN" -d"${SECONDS_EACH}s" --latency -H "$hdr" "$url"
		else wrk -t2 -c"$CONN" -d"${SECONDS_EACH}s" --latency "$url"; fi > "$out/$name.$i.txt"
		i=$((i + 1))
	done
	rps=$(for f in "$out/$name".*.txt; do awk '/Requests\/sec/ {print $2}' "$f"; done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	p99=$(for f in "$out/$name".*.txt; do awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$f"; done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	errs=$(cat "$out/$name".*.txt | awk '/Non-2xx/ {s+=$NF} END {print s+0}')
	echo "$name $rps $p99 $errs"
}
{
	measure ceiling http://127.0.0.1:18090/
	measure healthz http://127.0.0.1:18088/healthz
	measure grid_get http://127.0.0.1:18088/api/v1/grids/4 "authorization: Bearer $token"
} > "$out/summary.txt"
rss_after=$(awk '/VmRSS/ {print $2}' /proc/$srv/status)
ceiling=$(awk '$1=="ceiling" {print $2}' "$out/summary.txt")
echo "store: $store, machine: $(nproc) cores, $(uname -m), wrk -t2 -c$CONN -d${SECONDS_EACH}s, median of $RUNS runs"
printf '| target | req/s (median) | vs ceiling | p99 ms | non-2xx |\n|---|---|---|---|---|\n'
while read -r name rps p99 errs; do
	printf '| %s | %s | %s%% | %s | %s |\n' "$name" "$rps" "$(awk -v a="$rps" -v b="$ceiling" 'BEGIN {printf "%.0f", 100*a/b}')" "$p99" "$errs"
done < "$out/summary.txt"
echo "idle RSS of wangge serve: $((rss_idle / 1024)) MB; after the run: $((rss_after / 1024)) MB"
