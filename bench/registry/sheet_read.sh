#!/bin/sh
# What reading a roster costs, alone: the CPU time of reading every row of
# the generated N-person roster through the project's spreadsheet reader
# (src/core/sheet), as the import's reading thread reads it before it checks
# and encrypts: the XLSX with its worksheet read by the scanner
# (src/core/sheet/sheet_xml.c) and by expat, alternately, RUNS times each,
# and the same rows as CSV for comparison. Process CPU time, so it holds on a
# shared machine better than wall time; medians per row and their ratio.
#   bench/registry/sheet_read.sh [N]     (default 200000; RUNS=5)
set -eu
cd "$(dirname "$0")/../.."
N=${1:-200000}
RUNS=${RUNS:-5}
out=bench/out/registry; mkdir -p "$out"
make -s build/wangge
pkgs="libmicrohttpd jansson sqlite3 libpq libsodium libqrencode xlsxwriter libzip expat freexl zlib liboath"
# shellcheck disable=SC2046
cc -O2 -std=c17 -D_GNU_SOURCE -Isrc -Ibuild/gen $(pkg-config --cflags $pkgs) -o "$out/sheet_read" \
	bench/registry/sheet_read.c $(ls build/obj/src/core/sheet/*.o build/obj/src/core/lib/*.o) \
	$(pkg-config --libs $pkgs) -lm -lpthread
. bench/registry/roster.sh
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uptime | sed 's/.*load/load/')"
"$out/sheet_read" "$xlsx" "$RUNS"
"$out/sheet_read" "$csv" "$RUNS" scanner | sed '/expat/d; /scanner \/ expat/d; s/scanner /csv     /'
