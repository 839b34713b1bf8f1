#!/bin/sh
# Live scans over HTTP: wrk with keep-alive posting POST /api/v1/scans, one
# venue, each request a different registered person or minute (so every
# scan is a new record to make durable, none a repeat), signed in as the
# county command center (every person in its scope). Each scan is answered
# only once it is durable (the scan log's group commit). Two builds side by
# side in one run, alternately (e.g. main and a branch):
#   bench/http/scans.sh OLD_BINARY NEW_BINARY   (RUNS, SECONDS, CONNECTIONS, PERSONS,
#                                                SERVE_ARGS such as "--threads 4" may be set)
# Prints per run and build: scans/s, p50, p99, non-2xx, the requests wrk
# counted, the scans counted back from the store and the files left in
# data/trace and the server's CPU per scan; then the median scans/s of each build and their ratio.
set -eu
cd "$(dirname "$0")/../.."
OLD=$1 NEW=$2
RUNS=${RUNS:-3} SECS=${SECONDS:-10} CONN=${CONNECTIONS:-64} PERSONS=${PERSONS:-20000}
out=bench/out/scans; mkdir -p "$out"; rm -f "$out"/*.txt
# The server's user + system CPU so far, in clock ticks: the CPU a scan
# costs moves far less with the neighbours' load than scans/s does.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
run_one() { # label binary round
	label=$1 bin=$2 round=$3
	d=$(mktemp -d /tmp/wangge-scans.XXXXXX); rm -rf "$d"
	echo "admin-password-2026" | "$bin" init --data "$d" --password-stdin >/dev/null
	"$bin" demo --data "$d" --persons "$PERSONS" >/dev/null
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	"$bin" serve --data "$d" --listen 127.0.0.1:$port ${SERVE_ARGS:-} >/dev/null 2>&1 & srv=$!
	sleep 1
	cmd=$(curl -s -X POST -H 'content-type: application/json' \
		-d '{"username":"command","password":"wangge-demo-2026"}' http://127.0.0.1:$port/api/v1/session |
		sed 's/.*"token":"\([^"]*\)".*/\1/')
	venue=$(curl -s -X POST -H 'content-type: application/json' -H "authorization: Bearer $cmd" \
		-d '{"grid_id":4,"name":"压测卡口","kind":"checkpoint"}' http://127.0.0.1:$port/api/v1/venues)
	code=$(echo "$venue" | sed 's/.*"code":"\([^"]*\)".*/\1/')
	vid=$(echo "$venue" | sed 's/.*"id":\([0-9]*\).*/\1/')
	token=$(curl -s -X POST -H 'content-type: application/json' \
		-d '{"username":"command","password":"wangge-demo-2026"}' http://127.0.0.1:$port/api/v1/session |
		sed 's/.*"token":"\([^"]*\)".*/\1/')
	cpu0=$(cpu_ticks "$srv")
	wrk -t2 -c"$CONN" -d"${SECS}s" --latency -s bench/http/scan.lua http://127.0.0.1:$port -- "$PERSONS" "$code" "$token" > "$out/w.txt" 2>&1
	cpu1=$(cpu_ticks "$srv")
	counted=$(curl -s -H "authorization: Bearer $cmd" "http://127.0.0.1:$port/api/v1/venues/$vid/scans?days=14" |
		sed 's/.*"scans":\([0-9]*\).*/\1/')
	kill "$srv"; wait "$srv" 2>/dev/null || true
	files=$(ls "$d/trace" | wc -l)
	rm -rf "$d"
	awk -v l="$label" -v f="$files" -v c="$counted" -v ticks=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" '
		/Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 } /Non-2xx/ { bad = $NF }
		/requests in/ { n = $1 }
		END { printf "%s %.0f scans/s p50 %s p99 %s non-2xx %d requests %d counted %s files %s server-cpu %.1f us/scan\n",
			l, rps, p50, p99, bad, n, c, f, n ? ticks * 1e6 / hz / n : 0 }' \
		"$out/w.txt" | tee -a "$out/scans.txt"
}
uptime
i=0
while [ $i -lt "$RUNS" ]; do
	run_one old "$OLD" $i
	run_one new "$NEW" $i
	i=$((i + 1))
done
median() { awk -v b="$1" '$1 == b { print $2 }' "$out/scans.txt" | sort -n |
	awk '{ x[NR] = $1 } END { if (NR) print (NR % 2 ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2); else print 0 }'; }
mo=$(median old) mn=$(median new)
echo "median scans/s: old $mo, new $mn, new/old $(awk -v a="$mo" -v b="$mn" 'BEGIN { if (a > 0) printf "%.2f", b / a }')"
uptime
