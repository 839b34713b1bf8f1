#!/bin/sh
# The server's CPU per live scan, two builds side by side: what
# bench/http/scans.sh loads (wrk with keep-alive posting POST /api/v1/scans,
# one venue, every request a new record, signed in as the county command
# center), in many short runs, old and new alternately, each after a
# second's warm-up (connections open, the kept venue and persons filled).
# CPU per scan (the server's user + system time over the requests wrk
# counted) moves far less with the neighbours' load than scans/s does, and
# the median of many short alternating runs less again:
#   bench/http/scans_cpu.sh OLD_BINARY NEW_BINARY   (ROUNDS, SECONDS, CONNECTIONS, PERSONS,
#                                                    SERVE_ARGS such as "--threads 4" may be set)
# Prints each run (build, CPU µs a scan, scans/s, p99, non-2xx), then the
# median CPU a scan of each build and new/old. Both builds must read the
# same data directory (one is made by OLD and copied for every run).
set -eu
cd "$(dirname "$0")/../.."
OLD=$1 NEW=$2
ROUNDS=${ROUNDS:-7} SECS=${SECONDS:-4} CONN=${CONNECTIONS:-64} PERSONS=${PERSONS:-20000}
out=bench/out/scans_cpu; mkdir -p "$out"; rm -rf "$out"/*
echo "admin-password-2026" | "$OLD" init --data "$out/data" --password-stdin >/dev/null
"$OLD" demo --data "$out/data" --persons "$PERSONS" >/dev/null
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
run_one() { # label binary
	d="$out/run"; rm -rf "$d"; cp -a "$out/data" "$d"
	"$2" migrate --data "$d" >/dev/null  # a build with newer migrations brings the copy up to date
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	"$2" serve --data "$d" --listen 127.0.0.1:$port ${SERVE_ARGS:-} >/dev/null 2>&1 & srv=$!
	for try in 1 2 3 4 5 6 7 8 9 10; do curl -s -o /dev/null http://127.0.0.1:$port/healthz && break; sleep 0.2; done
	token=$(curl -s -X POST -H 'content-type: application/json' \
		-d '{"username":"command","password":"wangge-demo-2026"}' http://127.0.0.1:$port/api/v1/session |
		sed 's/.*"token":"\([^"]*\)".*/\1/')
	code=$(curl -s -X POST -H 'content-type: application/json' -H "authorization: Bearer $token" \
		-d '{"grid_id":4,"name":"压测卡口","kind":"checkpoint"}' http://127.0.0.1:$port/api/v1/venues |
		sed 's/.*"code":"\([^"]*\)".*/\1/')
	wrk -t2 -c"$CONN" -d1s -s bench/http/scan.lua http://127.0.0.1:$port -- "$PERSONS" "$code" "$token" >/dev/null 2>&1
	cpu0=$(cpu_ticks "$srv")
	wrk -t2 -c"$CONN" -d"${SECS}s" --latency -s bench/http/scan.lua http://127.0.0.1:$port -- "$PERSONS" "$code" "$token" > "$out/w.txt" 2>&1
	cpu1=$(cpu_ticks "$srv")
	kill "$srv"; wait "$srv" 2>/dev/null || true
	awk -v l="$1" -v ticks=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" '
		/Requests\/sec/ { rps = $2 } /^ +99%/ { p99 = $2 } /Non-2xx/ { bad = $NF } /requests in/ { n = $1 }
		END { printf "%s %.2f us/scan %.0f scans/s p99 %s non-2xx %d\n", l, n ? ticks * 1e6 / hz / n : 0, rps, p99, bad }' \
		"$out/w.txt" | tee -a "$out/cpu.txt"
}
uptime
i=0
while [ $i -lt "$ROUNDS" ]; do
	run_one old "$OLD"
	run_one new "$NEW"
	i=$((i + 1))
done
median() { awk -v b="$1" '$1 == b { print $2 }' "$out/cpu.txt" | sort -n |
	awk '{ x[NR] = $1 } END { if (NR) print (NR % 2 ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2); else print 0 }'; }
mo=$(median old) mn=$(median new)
echo "median server CPU a scan: old $mo us, new $mn us, new/old $(awk -v a="$mo" -v b="$mn" 'BEGIN { if (a > 0) printf "%.3f", b / a }')"
uptime
rm -rf "$out/data" "$out/run"
