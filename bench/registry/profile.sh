#!/bin/sh
# Where the registry import's time goes, per thread, beside the ceiling's
# (bench/registry/schema_insert.c, indexes sorted at the end): CPU seconds
# sampled by `perf record` (cpu-clock, 1000 Hz), so the figures hold on a
# shared machine where wall times do not. For each of the ceiling, the CSV
# import and the XLSX import of the same N generated rows: the CPU of each
# thread (the import's own thread, which stores the rows, and the reading
# thread, which parses, checks and encrypts ahead), then for the import's
# thread the share in SQLite's inserts, in building the deferred indexes and
# committing, and outside SQLite (the per-row work a quiet machine's wall
# time would show as the gap to the ceiling), and of that the part spent
# preparing rows the reading thread handed over as read (it does so while
# few rows wait, which on a shared machine happens whenever it is
# descheduled: compare builds on what is left).
#   bench/registry/profile.sh [N]     (default 200000; needs perf)
# WANGGE=path profiles another build of the same tree's program (an older
# commit's, for a before and after on the same machine).
set -eu
cd "$(dirname "$0")/../.."
N=${1:-200000}
out=bench/out/registry; mkdir -p "$out"
command -v perf >/dev/null || { echo "perf is not installed"; exit 1; }
make -s build/wangge
bin=${WANGGE:-build/wangge}
cc -O2 -o "$out/schema_insert" bench/registry/schema_insert.c -lsqlite3
. bench/registry/roster.sh
data=$(mktemp -d /tmp/wangge-regprof.XXXXXX)
trap 'rm -rf "$data" "$out"/profile.db* "$out"/profile.perf*' EXIT INT TERM
echo "$bin, rows: $N, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uptime | sed 's/.*load/load/')"

# samples TID-OR-EMPTY FILTER: cpu-clock samples (ms) of the thread whose stacks match FILTER
samples() {
	perf script -i "$out/profile.perf" -F tid,ip,sym 2>/dev/null | awk -v tid="$1" -v re="$2" '
		/^ *[0-9]+ *$/ { if (keep && hit) n++; keep = ($1 == tid || tid == ""); hit = (re == ""); next }
		NF && re != "" && $0 ~ re { hit = 1 }
		END { if (keep && hit) n++; print n + 0 }'
}
# threads: "SAMPLES TID" of each thread of the last record, most samples first
threads() {
	perf report -i "$out/profile.perf" --no-children -g none --sort pid -F sample,pid 2>/dev/null |
		awk '!/^#/ && NF { split($2, t, ":"); print $1, t[1] }'
}
secs() { awk -v n="$1" 'BEGIN { printf "%.2f", n / 1000 }'; }

rm -f "$out"/profile.db*
perf record -q -F 1000 -o "$out/profile.perf" "$out/schema_insert" "$out/profile.db" "$csv" sorted >/dev/null
echo "ceiling: $(secs "$(threads | awk '{ n += $1 } END { print n + 0 }')") s CPU"
for file in "$csv" "$xlsx"; do
	rm -rf "$data"
	echo "admin-password-2026" | build/wangge init --data "$data" --password-stdin >/dev/null
	build/wangge demo --data "$data" --persons 0 >/dev/null
	perf record -q --call-graph dwarf,16384 -F 1000 -o "$out/profile.perf" "$bin" import persons "$file" --as command --data "$data" >/dev/null 2>&1
	main=$(threads | sort -k2,2n | head -1 | cut -d" " -f2)  # the process's first thread
	all=$(threads | awk -v t="$main" '$2 == t { print $1 }')
	reader=$(threads | awk -v t="$main" '$2 != t { n += $1 } END { print n + 0 }')
	inserts=$(samples "$main" "store_insert")
	finish=$(samples "$main" "rebuild_indexes|store_commit")
	# rows the reading thread handed over as read, when few waited (its own
	# share of the work, done here instead: cells, checks, encryption)
	share=$(samples "$main" "row_object|canonicalise|crypt_encrypt|crypt_blind_index")
	echo "import ${file##*.}: import thread $(secs "$all") s CPU (SQLite inserts $(secs "$inserts"), indexes and commit $(secs "$finish"), outside SQLite $(secs $((all - inserts - finish))): the per-row work and start-up, of which $(secs "$share") preparing rows the reading thread left to it), reading thread $(secs "$reader") s"
done
