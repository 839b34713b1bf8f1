#!/bin/sh
# HTTP benchmark: wrk on loopback against a minimal libmicrohttpd server
# (the ceiling), wangge's /healthz, and an authenticated, scoped, audited
# GET /api/v1/grids/{id}. Medians of RUNS runs each.
#   bench/http/run.sh [sqlite|postgres]   (RUNS, SECONDS, CONNECTIONS may be set)
# OLD=path/to/another/wangge adds the same read served by that build, on a
# demo county of its own in the same store kind, in the same run.
set -eu
cd "$(dirname "$0")/../.."
store=${1:-sqlite}
RUNS=${RUNS:-3} SECONDS_EACH=${SECONDS:-10} CONN=${CONNECTIONS:-64}
out=bench/out/http; mkdir -p "$out"
rm -f "$out"/*.txt "$out"/*.cpu  # medians are taken over every file: none may be left from a run with more RUNS
make -s build/wangge
cc -O2 -o "$out/hello" bench/http/hello.c $(pkg-config --cflags --libs libmicrohttpd)
data=$(mktemp -d /tmp/wangge-bench.XXXXXX); rm -rf "$data"
pgdir=""
cleanup() {
	[ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true
	[ -n "${hello:-}" ] && kill "$hello" 2>/dev/null || true
	[ -n "${old_srv:-}" ] && kill "$old_srv" 2>/dev/null && wait "$old_srv" 2>/dev/null || true
	[ -n "${old_data:-}" ] && rm -rf "$old_data"
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
login() { curl -s -X POST -H 'content-type: application/json' \
	-d '{"username":"gridworker","password":"wangge-demo-2026"}' "http://127.0.0.1:$1/api/v1/session" |
	sed 's/.*"token":"\([^"]*\)".*/\1/'; }
if [ -n "${OLD:-}" ]; then
	old_data=$(mktemp -d /tmp/wangge-bench-old.XXXXXX); rm -rf "$old_data"
	old_dbopt=""
	if [ "$store" = postgres ]; then tools/pg.sh createdb "$pgdir" 25999 bench_old; old_dbopt="--db $url/bench_old"; fi
	echo "admin-password-2026" | "$OLD" init --data "$old_data" --password-stdin $old_dbopt >/dev/null
	"$OLD" demo --data "$old_data" >/dev/null
	"$OLD" serve --data "$old_data" --listen 127.0.0.1:18089 >/dev/null 2>&1 & old_srv=$!
fi
sleep 1
rss_idle=$(awk '/VmRSS/ {print $2}' /proc/$srv/status)
token=$(curl -s -X POST -H 'content-type: application/json' \
	-d '{"username":"gridworker","password":"wangge-demo-2026"}' http://127.0.0.1:18088/api/v1/session |
	sed 's/.*"token":"\([^"]*\)".*/\1/')
curl -sf -H "authorization: Bearer $token" http://127.0.0.1:18088/api/v1/grids/4 >/dev/null
# keep-alive must be on, or the figures mean nothing
curl -sv -H "authorization: Bearer $token" http://127.0.0.1:18088/api/v1/grids/4 http://127.0.0.1:18088/api/v1/grids/4 2>&1 |
	grep -q "Re-using existing connection" || { echo "keep-alive is off" >&2; exit 1; }

# CPU time per request (server and wrk, microseconds) beside req/s: on a
# machine shared with other work, req/s swings with the neighbours' load,
# while the CPU each request costs does not.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
timed_wrk() { # wrk arguments…; wrk's user+sys seconds go to $out/wrk_cpu
	if [ -x /usr/bin/time ]; then /usr/bin/time -f "%U %S" -o "$out/wrk_cpu" wrk "$@"
	else echo "0 0" > "$out/wrk_cpu"; wrk "$@"; fi
}
measure() { # name server-pid url [header]
	name=$1 pid=$2 url=$3 hdr=${4:-}
	i=0
	while [ $i -lt "$RUNS" ]; do
		t0=$(ticks "$pid")
		if [ -n "$hdr" ]; then timed_wrk -t2 -c"$CONN" -d"${SECONDS_EACH}s" --latency -H "$hdr" "$url"
		else timed_wrk -t2 -c"$CONN" -d"${SECONDS_EACH}s" --latency "$url"; fi > "$out/$name.$i.txt"
		t1=$(ticks "$pid")
		awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v f="$out/$name.$i.txt" -v w="$(cat "$out/wrk_cpu")" 'BEGIN {
			while ((getline line < f) > 0) if (line ~ /requests in/) { split(line, a, " "); n = a[1] }
			split(w, c, " ")
			printf "%.1f %.1f\n", t / hz * 1e6 / n, (c[1] + c[2]) * 1e6 / n }' > "$out/$name.$i.cpu"
		i=$((i + 1))
	done
	rps=$(for f in "$out/$name".*.txt; do awk '/Requests\/sec/ {print $2}' "$f"; done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	p99=$(for f in "$out/$name".*.txt; do awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$f"; done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	errs=$(cat "$out/$name".*.txt | awk '/Non-2xx/ {s+=$NF} END {print s+0}')
	srv_us=$(cat "$out/$name".*.cpu | awk '{print $1}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	wrk_us=$(cat "$out/$name".*.cpu | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	echo "$name $rps $p99 $errs $srv_us $wrk_us"
}
{
	measure ceiling "$hello" http://127.0.0.1:18090/
	measure healthz "$srv" http://127.0.0.1:18088/healthz
	measure grid_get "$srv" http://127.0.0.1:18088/api/v1/grids/4 "authorization: Bearer $token"
	if [ -n "${OLD:-}" ]; then
		old_token=$(login 18089)
		measure grid_get_old "$old_srv" http://127.0.0.1:18089/api/v1/grids/4 "authorization: Bearer $old_token"
	fi
} > "$out/summary.txt"
rss_after=$(awk '/VmRSS/ {print $2}' /proc/$srv/status)
ceiling=$(awk '$1=="ceiling" {print $2}' "$out/summary.txt")
echo "store: $store, machine: $(nproc) cores, $(uname -m), wrk -t2 -c$CONN -d${SECONDS_EACH}s, median of $RUNS runs"
ceiling_cpu=$(awk '$1=="ceiling" {print $5 + $6}' "$out/summary.txt")
printf '| target | req/s (median) | vs ceiling | p99 ms | non-2xx | CPU µs/request: server + wrk | vs ceiling by CPU |\n|---|---|---|---|---|---|---|\n'
while read -r name rps p99 errs srv_us wrk_us; do
	printf '| %s | %s | %s%% | %s | %s | %s + %s | %s%% |\n' "$name" "$rps" "$(awk -v a="$rps" -v b="$ceiling" 'BEGIN {printf "%.0f", 100*a/b}')" \
		"$p99" "$errs" "$srv_us" "$wrk_us" "$(awk -v a="$srv_us" -v b="$wrk_us" -v c="$ceiling_cpu" 'BEGIN {printf "%.0f", 100*c/(a+b)}')"
done < "$out/summary.txt"
echo "idle RSS of wangge serve: $((rss_idle / 1024)) MB; after the run: $((rss_after / 1024)) MB"
