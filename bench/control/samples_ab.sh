#!/bin/sh
# NAT samples over HTTP, two builds of wangge side by side on the same data
# (results: bench/RESULTS.md, "Control lists"). One store with the bench
# county (the demo tree, 1,000,000 residents, as run.sh makes it: a
# throw-away PostgreSQL by default), then RUNS rounds of A and B
# alternately: each serves the store, opens a new NAT round over the county
# and takes one sample per request for another resident (wrk -t2 -c64,
# keep-alive, bench/control/samples.lua) for SECONDS_EACH seconds. Printed
# per run and as medians: samples/s and the server's CPU per sample (from
# /proc: it moves much less with the neighbours' load than samples/s).
#   bench/control/samples_ab.sh OLD_BINARY NEW_BINARY [postgres|sqlite]
#   (RUNS, SECONDS_EACH, THREADS, PG_PORT, HTTP_PORT may be set)
set -eu
cd "$(dirname "$0")/../.."
A=$(realpath "$1") B=$(realpath "$2") store=${3:-postgres}
RUNS=${RUNS:-3} SECS=${SECONDS_EACH:-10} pgport=${PG_PORT:-25998} port=${HTTP_PORT:-18098}
out=bench/out/control-ab; mkdir -p "$out"
make -s build/wangge
objs=$(find build/obj/src -name '*.o' ! -name main.o | sort)
pkgs=$(sed -n 's/^PKGS *:= *//p' Makefile)
cc -std=c17 -D_GNU_SOURCE -O2 -Isrc -Ibuild/gen $(pkg-config --cflags $pkgs) -o "$out/rollup" bench/control/rollup.c \
	$objs build/obj/build/gen/schema_sql.o $(pkg-config --libs $pkgs) -lm -lpthread
pgdir="" srv="" data="$out/data"
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null || true
	[ -n "$pgdir" ] && tools/pg.sh stop "$pgdir" && rm -rf "$pgdir"
	rm -rf "$data"
}
trap cleanup EXIT INT TERM
echo "machine: $(nproc) cores, $(uname -m); $(uptime)"
rm -rf "$data"
dbopt=""
if [ "$store" = postgres ]; then
	pgdir=$(mktemp -d /tmp/wangge-benchab.XXXXXX)
	url=$(tools/pg.sh start "$pgdir" "$pgport")
	tools/pg.sh createdb "$pgdir" "$pgport" bench
	dbopt="--db $url/bench"
fi
echo "admin-password-2026" | "$B" init --data "$data" --password-stdin $dbopt >/dev/null
echo "threads = ${THREADS:-64}" >> "$data/wangge.conf"
"$B" demo --data "$data" >/dev/null
"$out/rollup" "$data" generate >/dev/null
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
one() { # label binary run
	"$2" serve --data "$data" --listen 127.0.0.1:$port >"$out/serve.log" 2>&1 & srv=$!
	for i in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:$port/api/v1/healthz && break; sleep 0.2; done
	token=$(curl -s -X POST -H 'content-type: application/json' -d '{"username":"command","password":"wangge-demo-2026"}' \
		http://127.0.0.1:$port/api/v1/session | sed 's/.*"token":"\([^"]*\)".*/\1/')
	rid=$(curl -s -X POST -H "authorization: Bearer $token" -H 'content-type: application/json' \
		-d "{\"grid_id\":1,\"name\":\"第$3轮$1\",\"date_from\":\"$(TZ=Asia/Shanghai date +%F)\",\"date_to\":\"$(TZ=Asia/Shanghai date -d tomorrow +%F)\"}" \
		http://127.0.0.1:$port/api/v1/nat-rounds | sed 's/^{"id":\([0-9]*\).*/\1/')
	c0=$(ticks "$srv")
	wrk -t2 -c64 -d"${SECS}s" --latency -s bench/control/samples.lua -H "authorization: Bearer $token" \
		-H 'content-type: application/json' "http://127.0.0.1:$port/api/v1/nat-rounds/$rid/samples" > "$out/wrk.txt"
	c1=$(ticks "$srv")
	kill "$srv"; wait "$srv" 2>/dev/null || true; srv=""
	n=$(awk '/requests in/ {print $1}' "$out/wrk.txt")
	rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")
	cpu=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
	echo "$1 $rps $cpu" >> "$out/runs.txt"
	echo "  $1 run $3: $rps samples/s, median $(awk '$1=="50%" {print $2}' "$out/wrk.txt"), p99 $(awk '$1=="99%" {print $2}' "$out/wrk.txt"), $cpu µs server CPU per sample, non-2xx: $(awk '/Non-2xx/ {print $NF}' "$out/wrk.txt"); load $(cut -d' ' -f1 /proc/loadavg)"
}
rm -f "$out/runs.txt"
echo "== $store: A = $A, B = $B; wrk -t2 -c64 ${SECS}s, $RUNS runs each, alternately"
for k in $(seq 1 "$RUNS"); do
	one A "$A" "$k"
	one B "$B" "$k"
done
med() { grep "^$1 " "$out/runs.txt" | awk -v c="$2" '{print $c}' | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
echo "medians: A $(med A 2) samples/s, $(med A 3) µs/sample; B $(med B 2) samples/s, $(med B 3) µs/sample"
