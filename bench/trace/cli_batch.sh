#!/bin/sh
# The batch through the CLI, as a whole process: `wangge trace batch
# --format csv` (open the store, load the index file, find the pairs, write
# them as CSV) into a file, five times; the median wall time, and the count
# and checksum of the file (csvsum.mjs).
#   cli_batch.sh PREFIX WORKDIR      (WORKDIR/store_bin: the engine's store)
set -eu
prefix=$1; work=$2
wangge=$(cd "$(dirname "$0")/../.." && pwd)/build/wangge
mkdir -p "$work/cli"
ln -sfn ../store_bin "$work/cli/trace"
out="$work/pairs_wangge.csv"
# the first query after a load builds and saves the index file: not timed
"$wangge" trace batch --cases "$prefix.cases.csv" --data "$work/cli" --format csv > "$out"
times=""
for i in 1 2 3 4 5; do
	t0=$(date +%s%N)
	"$wangge" trace batch --cases "$prefix.cases.csv" --data "$work/cli" --format csv > "$out"
	t1=$(date +%s%N)
	times="$times $(( (t1 - t0) / 1000 ))"
done
med=$(echo $times | tr ' ' '\n' | sort -n | sed -n 3p)
sum=$(node "$(dirname "$0")/csvsum.mjs" "$out")
echo "RESULT q3_csv $(echo "$med" | awk '{printf "%.1f", $1 / 1000}') $sum"
echo "RESULT q3_csv_runs $(echo $times | tr ' ' '\n' | awk '{printf "%s%.0f", (NR > 1 ? "," : ""), $1 / 1000}')"
rm -f "$out"
