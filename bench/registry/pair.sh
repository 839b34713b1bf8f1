#!/bin/sh
# The SQLite ceiling and the CSV import of two builds, alternating, so a
# shared machine's load falls on all three alike: each round runs the
# ceiling (bench/registry/schema_insert.c, non-unique indexes sorted at the
# end), then OLD's `wangge import persons`, then this tree's, on the same
# generated roster of N persons; it prints each round's wall seconds and
# each import's share of the ceiling of that round, then the medians.
#   bench/registry/pair.sh OLD_WANGGE [N [ROUNDS]]     (default 1000000 3)
# OLD_WANGGE: an older commit's build (git worktree add /tmp/old COMMIT && make -C /tmp/old build/wangge)
set -eu
old=$(realpath "$1")
cd "$(dirname "$0")/../.."
N=${2:-1000000}
ROUNDS=${3:-3}
out=bench/out/registry; mkdir -p "$out"
make -s build/wangge
cc -O2 -o "$out/schema_insert" bench/registry/schema_insert.c -lsqlite3
. bench/registry/roster.sh
data=$(mktemp -d /tmp/wangge-regpair.XXXXXX)
trap 'rm -rf "$data" "$out"/pair.db*' EXIT INT TERM
# timed CMD...: wall seconds of CMD
timed() { /usr/bin/time -f "%e" -o "$out/pair.time" "$@" >/dev/null 2>&1; cat "$out/pair.time"; }
# import BIN: the import into a fresh data directory with the demo county
import() {
	rm -rf "$data/d"
	echo "admin-password-2026" | "$1" init --data "$data/d" --password-stdin >/dev/null
	"$1" demo --data "$data/d" --persons 0 >/dev/null
	timed "$1" import persons "$csv" --as command --data "$data/d"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "rows: $N, rounds: $ROUNDS, old: $old, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uptime | sed 's/.*load/load/')"
: > "$out/pair.rounds"
for i in $(seq "$ROUNDS"); do
	rm -f "$out"/pair.db*
	c=$(timed "$out/schema_insert" "$out/pair.db" "$csv" sorted)
	o=$(import "$old")
	n=$(import build/wangge)
	echo "$c $o $n" >> "$out/pair.rounds"
	awk -v c="$c" -v o="$o" -v n="$n" -v i="$i" 'BEGIN { printf "round %d: ceiling %.2f s, old %.2f s (%.0f %%), new %.2f s (%.0f %%)\n", i, c, o, 100 * c / o, n, 100 * c / n }'
done
c=$(cut -d" " -f1 "$out/pair.rounds" | median)
o=$(cut -d" " -f2 "$out/pair.rounds" | median)
n=$(cut -d" " -f3 "$out/pair.rounds" | median)
awk -v c="$c" -v o="$o" -v n="$n" 'BEGIN { printf "medians: ceiling %.2f s, old %.2f s (%.0f %%), new %.2f s (%.0f %%); new/old %.3f\n", c, o, 100 * c / o, n, 100 * c / n, n / o }'
echo "$(uptime | sed 's/.*load/load/')"
