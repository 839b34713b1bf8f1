#!/bin/sh
# Audit volume: bytes of audit trail per audited request, and what a day of
# the benchmark's load leaves, for this build and (OLD=path) another one.
# The load, as in the issue's 90-second run: signed-in reads of one grid
# node as fast as wrk sends them (bench/http's grid_get), reads of one person
# (personal data), writes (grid nodes created) and an export, for SECONDS
# each; then the audit table's bytes (SQLite dbstat) and records by action.
# A day is 86400/SECONDS times the run (the load is steady). Requests the
# audit queue turned away (503 busy, when reads outrun its writer) are
# counted apart: only answered requests are audited. Then the
# records are archived (wangge audit archive --days 0) and the archive's
# size is measured.
#   bench/audit/run.sh            [SECONDS=60] [OLD=/path/to/old/wangge]
set -eu
cd "$(dirname "$0")/../.."
SECONDS_EACH=${SECONDS:-60} CONN=${CONNECTIONS:-32}
out=bench/out/audit; mkdir -p "$out"
make -s build/wangge

run_one() { # label binary
	label=$1 bin=$2
	data=$(mktemp -d /tmp/wangge-auditbench.XXXXXX); rm -rf "$data"
	echo "admin-password-2026" | "$bin" init --data "$data" --password-stdin >/dev/null
	"$bin" demo --data "$data" >/dev/null
	"$bin" serve --data "$data" --listen 127.0.0.1:18077 >"$out/$label.log" 2>&1 & srv=$!
	sleep 1
	login() { curl -s -X POST -H 'content-type: application/json' -d "{\"username\":\"$1\",\"password\":\"wangge-demo-2026\"}" \
		http://127.0.0.1:18077/api/v1/session | sed 's/.*"token":"\([^"]*\)".*/\1/'; }
	gw=$(login gridworker) cm=$(login community)
	pid=$(curl -s -X POST -H "authorization: Bearer $cm" -H 'content-type: application/json' -H 'origin: http://127.0.0.1:18077' \
		-d '{"grid_id":4,"name":"测量甲"}' http://127.0.0.1:18077/api/v1/persons | sed 's/.*"id":\([0-9]*\).*/\1/')
	bytes() { sqlite3 "$data/wangge.db" "SELECT COALESCE(SUM(pgsize),0) FROM dbstat WHERE name = 'audit'"; }
	recs() { sqlite3 "$data/wangge.db" "SELECT COUNT(*) FROM audit"; }
	phase() { # name url token → requests sent, records and bytes added
		b0=$(bytes) r0=$(recs)
		wrk -t2 -c"$CONN" -d"${SECONDS_EACH}s" -H "authorization: Bearer $3" "$2" > "$out/$label.$1.wrk"
		sleep 1   # the queue is written within 20 ms; a counted minute when it is over
		n=$(awk '/requests in/ {print $1}' "$out/$label.$1.wrk")
		busy=$(awk '/Non-2xx/ {print $NF}' "$out/$label.$1.wrk")
		echo "$1 $((n - ${busy:-0})) $(( $(recs) - r0 )) $(( $(bytes) - b0 )) ${busy:-0}"
	}
	{
		phase grid_read http://127.0.0.1:18077/api/v1/grids/4 "$gw"
		phase person_read "http://127.0.0.1:18077/api/v1/persons/$pid" "$cm"
		# Writes and an export, a few hundred: what a county's day has many of.
		b0=$(bytes) r0=$(recs) i=0
		while [ $i -lt 300 ]; do
			curl -s -o /dev/null -X POST -H "authorization: Bearer $cm" -H 'content-type: application/json' \
				-d "{\"parent_id\":4,\"kind\":\"building\",\"name\":\"量$i\"}" http://127.0.0.1:18077/api/v1/grids
			i=$((i + 1))
		done
		curl -s -o /dev/null -H "authorization: Bearer $cm" "http://127.0.0.1:18077/api/v1/persons/export"
		sleep 1
		echo "write 301 $(( $(recs) - r0 )) $(( $(bytes) - b0 )) 0"
	} > "$out/$label.phases"
	kill "$srv"; wait "$srv" 2>/dev/null || true
	sqlite3 "$data/wangge.db" "SELECT action, COUNT(*) FROM audit GROUP BY action ORDER BY 2 DESC" > "$out/$label.actions"
	total=$(bytes)
	# Counted reads are written when their minute is over (at the latest at
	# stop): the grid phase's records are the gridworker's, counted now.
	counted=$(sqlite3 "$data/wangge.db" "SELECT COUNT(*) FROM audit WHERE username = 'gridworker' AND action IN ('read', 'reads')")
	all=$(sqlite3 "$data/wangge.db" "SELECT COUNT(*) FROM audit")
	echo "grid_records $counted $(( total * counted / all ))" >> "$out/$label.phases"
	arch=0
	if "$bin" audit --help 2>&1 | grep -q "audit archive"; then
		"$bin" audit archive --days 0 --data "$data" >/dev/null
		arch=$(du -cb "$data"/audit/archive/*.tsv.gz "$data"/audit/archive/*.sig 2>/dev/null | tail -1 | cut -f1)
		t0=$(date +%s.%N)
		"$bin" audit verify --data "$data" > "$out/$label.verify"
		echo "verify_seconds $(echo "$(date +%s.%N) - $t0" | bc)" >> "$out/$label.phases"
	fi
	echo "$label total_audit_bytes $total archive_bytes $arch" >> "$out/$label.phases"
	rm -rf "$data"
}

run_one new build/wangge
[ -n "${OLD:-}" ] && run_one old "$OLD"
echo "machine: $(nproc) cores; wrk -t2 -c$CONN -d${SECONDS_EACH}s per read phase; a day = 86400/$SECONDS_EACH runs"
for label in new old; do
	[ -f "$out/$label.phases" ] || continue
	{ grep '^grid_records' "$out/$label.phases"; grep -v '^grid_records' "$out/$label.phases"; } > "$out/$label.phases.sorted"
	echo "== $label"
	awk -v s="$SECONDS_EACH" '
		$1 == "grid_records" { grid_recs = $2; grid_bytes = $3 }
		$1 == "grid_read" { $3 = grid_recs; $4 = grid_bytes }
		$1 == "grid_read" || $1 == "person_read" || $1 == "write" {
			per = $2 ? $4 / $2 : 0
			printf "%-12s answered %10d (busy %6d)  records %9d  bytes %11d  bytes/request %7.1f  per day (x%d) %9.1f MB\n",
				$1, $2, $5, $3, $4, per, 86400 / s, $4 * 86400 / s / 1e6 }
		$1 == "verify_seconds" { printf "wangge audit verify (archives and live chain): %.1f s\n", $2 }
		$2 == "total_audit_bytes" { printf "audit table %d bytes after the run; the same records archived: %d bytes (%.1f%%)\n",
			$3, $5, $3 ? 100 * $5 / $3 : 0 }' "$out/$label.phases.sorted"
done
