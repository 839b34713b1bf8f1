#!/bin/sh
# PostgreSQL's side of the tracing benchmark, on a throw-away cluster.
#   pg.sh PREFIX SQLDIR TIMEOUT_S
# Prints RESULT lines like the other engines.
set -eu
prefix=$1; sqldir=$2; timeout=$3
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PORT=${PGPORT_BENCH:-54329}
dir=$(mktemp -d /tmp/wg_pg_XXXXXX)
chown postgres "$dir"
cleanup() {
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/db" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
runuser -u postgres -- "$PGBIN/initdb" -A trust -U postgres -D "$dir/db" >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/db" -l "$dir/log" -w \
	-o "-k /tmp -c listen_addresses=127.0.0.1 -p $PORT -c shared_buffers=4GB -c work_mem=512MB \
	    -c maintenance_work_mem=2GB -c max_parallel_workers_per_gather=2 -c fsync=off \
	    -c synchronous_commit=off -c full_page_writes=off -c max_wal_size=16GB" start >/dev/null
runuser -u postgres -- psql -X -q -h /tmp -p "$PORT" -U postgres -c "CREATE ROLE root SUPERUSER LOGIN" postgres
PSQL="psql -X -q -A -t -h /tmp -p $PORT -U root postgres"

ms() { sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1; }

t=$( { printf '\\timing on\n'
	echo "CREATE UNLOGGED TABLE scans(person integer, venue integer, t_in bigint, t_out bigint);"
	printf '\\copy scans FROM %s CSV\n' "$prefix.csv"; } | $PSQL | ms)
echo "RESULT load_csv $t"
t=$( { printf '\\timing on\n'
	echo "CREATE INDEX scans_venue ON scans(venue, t_in); CREATE INDEX scans_person ON scans(person);"
	echo "CREATE TABLE cases(person integer PRIMARY KEY, onset bigint);"
	echo "CREATE TABLE cases_random(person integer PRIMARY KEY, onset bigint);"
	printf '\\copy cases FROM %s CSV HEADER\n' "$prefix.cases.csv"
	printf '\\copy cases_random FROM %s CSV HEADER\n' "$prefix.cases_random.csv"
	echo "VACUUM ANALYZE scans; ANALYZE cases; ANALYZE cases_random;"; } | $PSQL 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' \
	| awk '{s+=$1} END {printf "%.1f", s}')
echo "RESULT index $t"

for q in q1:11 q2:3 q3:3 q3r:3; do
	name=${q%%:*}; runs=${q##*:}
	times=""; res=""
	i=0
	while [ "$i" -lt "$runs" ]; do
		out=$( { echo "SET statement_timeout = '${timeout}s';"; printf '\\timing on\n'
			cat "$sqldir/$name.sql"; } | $PSQL 2>&1 || true)
		if echo "$out" | grep -q "canceling statement"; then
			res=timeout; break
		fi
		t=$(echo "$out" | ms)
		res=$(echo "$out" | grep '|' | head -1 | tr '|' ' ')
		times="$times $t"
		i=$((i + 1))
		if [ "$(echo "$t > 20000" | bc)" = 1 ]; then break; fi
	done
	if [ "$res" = timeout ] && [ -z "$times" ]; then
		echo "RESULT $name timeout $((timeout * 1000))"
	else
		med=$(echo $times | tr ' ' '\n' | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}')
		echo "RESULT $name $med $res"
	fi
done
