/* Deterministic scan generator for the tracing benchmark.
 *
 *   gen PERSONS VENUES DAYS SEED OUT
 *
 * Writes OUT.csv (person,venue,t_in,t_out in Unix seconds, generation order),
 * OUT.bin (the engine's binary format, sorted), OUT.cases.csv (1,000 distinct
 * cases, person,onset, every onset at the end of the data: each case looks
 * back the whole window), OUT.cases_random.csv (1,000 distinct cases with
 * onsets spread over the days, from a generator of their own so the other
 * files do not change) and OUT.meta (the Q1 case and the onset).
 * Venues have Zipf(0.7) popularity; every person has 2 regular venues that
 * take 40 % of the scans, 2-6 scans a day, stays of 5-120 minutes between
 * 06:00 and 22:00 UTC, from 2022-04-01 for DAYS days. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lib/mem.h"
#include "core/lib/parse.h"
#include "trace/trace.h"
#include "trace/trace_int.h"

#define START 1648771200LL /* 2022-04-01 00:00 UTC */
#define NCASES 1000u

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

static uint32_t below(uint32_t n) { return (uint32_t)((next() >> 32) * n >> 32); }
static double unit(void) { return (double)(next() >> 11) / 9007199254740992.0; }

static uint32_t zipf(const double *cdf, uint32_t v)
{
	double u = unit();
	uint32_t lo = 0, hi = v - 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo + 1;
}

static char *put_u64(char *p, uint64_t v)
{
	char t[24];
	int n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = t[--n];
	return p;
}

static int arg_u32(const char *s, uint32_t *v)
{
	return wg_parse_u32(s, strlen(s), v) ? 0 : -1;
}

int main(int argc, char **argv)
{
	uint32_t persons, venues, days, seed;
	char path[4096];
	double *cdf;
	struct trace_rec *recs;
	size_t n = 0, cap;
	FILE *csv, *bin, *cases, *meta;
	static char line[1 << 20];
	size_t lp = 0;

	if (argc != 6 || arg_u32(argv[1], &persons) || arg_u32(argv[2], &venues) || arg_u32(argv[3], &days)
	    || arg_u32(argv[4], &seed) || persons < NCASES || venues < 2) {
		fputs("usage: gen PERSONS VENUES DAYS SEED OUT\n", stderr);
		return 2;
	}
	rng ^= (uint64_t)seed * 0xD1B54A32D192ED03ull;
	cdf = wg_malloc(venues * sizeof(double));
	cap = (size_t)persons * days * 6;
	recs = wg_malloc(cap * sizeof(*recs));
	if (!cdf || !recs)
		return 1;
	{
		double sum = 0, acc = 0;
		for (uint32_t i = 0; i < venues; i++)
			sum += pow(i + 1.0, -0.7);
		for (uint32_t i = 0; i < venues; i++) {
			acc += pow(i + 1.0, -0.7) / sum;
			cdf[i] = acc;
		}
		cdf[venues - 1] = 1.0;
	}
	snprintf(path, sizeof(path), "%s.csv", argv[5]);
	csv = fopen(path, "w");
	if (!csv)
		return 1;
	for (uint32_t p = 1; p <= persons; p++) {
		uint32_t reg[2] = { 1 + below(venues), 1 + below(venues) };
		for (uint32_t d = 0; d < days; d++) {
			uint32_t k = 2 + below(5);
			for (uint32_t i = 0; i < k; i++) {
				uint32_t v = below(100) < 40 ? reg[below(2)] : zipf(cdf, venues);
				int64_t in = START + (int64_t)d * 86400 + (6 * 60 + (int64_t)below(16 * 60)) * 60;
				int64_t out = in + (5 + (int64_t)below(116)) * 60;
				recs[n].person = p;
				recs[n].place = v;
				recs[n].t_min = (uint32_t)(in / 60);
				recs[n].dur = (uint16_t)((out - in) / 60);
				recs[n].zero = 0;
				n++;
				char *q = line + lp;
				q = put_u64(q, p);
				*q++ = ',';
				q = put_u64(q, v);
				*q++ = ',';
				q = put_u64(q, (uint64_t)in);
				*q++ = ',';
				q = put_u64(q, (uint64_t)out);
				*q++ = '\n';
				lp = (size_t)(q - line);
				if (lp > sizeof(line) - 128) {
					fwrite(line, 1, lp, csv);
					lp = 0;
				}
			}
		}
	}
	fwrite(line, 1, lp, csv);
	fclose(csv);
	size_t generated = n;
	trace_recs_sort(recs, n);
	n = trace_recs_unique(recs, n);
	{
		uint8_t hdr[TRACE_BIN_HEADER];
		snprintf(path, sizeof(path), "%s.bin", argv[5]);
		bin = fopen(path, "wb");
		if (!bin)
			return 1;
		trace_bin_header(hdr, TRACE_SCAN, recs, n, true);
		fwrite(hdr, 1, sizeof(hdr), bin);
		fwrite(recs, sizeof(*recs), n, bin);
		fclose(bin);
	}
	{
		uint8_t *taken = calloc(persons + 1, 1);
		int64_t onset = START + (int64_t)days * 86400;
		uint32_t k = 0;
		snprintf(path, sizeof(path), "%s.cases.csv", argv[5]);
		cases = fopen(path, "w");
		if (!cases || !taken)
			return 1;
		fputs("person,onset\n", cases);
		while (k < NCASES) {
			uint32_t p = 1 + below(persons);
			if (taken[p])
				continue;
			taken[p] = 1;
			fprintf(cases, "%u,%lld\n", p, (long long)onset);
			k++;
		}
		fclose(cases);
		free(taken);
		snprintf(path, sizeof(path), "%s.meta", argv[5]);
		meta = fopen(path, "w");
		if (!meta)
			return 1;
		fprintf(meta, "CASE=%u\nONSET=%lld\nSCANS=%zu\nPERSONS=%u\nVENUES=%u\n",
			1 + below(persons), (long long)onset, n, persons, venues);
		fclose(meta);
	}
	{
		/* random onsets, on a generator of their own */
		uint8_t *taken = calloc(persons + 1, 1);
		uint32_t k = 0;
		rng = 0x2545F4914F6CDD1Dull ^ (uint64_t)seed * 0xD1B54A32D192ED03ull;
		snprintf(path, sizeof(path), "%s.cases_random.csv", argv[5]);
		cases = fopen(path, "w");
		if (!cases || !taken)
			return 1;
		fputs("person,onset\n", cases);
		while (k < NCASES) {
			uint32_t p = 1 + below(persons);
			int64_t onset = START + 86400 + (int64_t)below((days - 1) * 86400);
			if (taken[p])
				continue;
			taken[p] = 1;
			fprintf(cases, "%u,%lld\n", p, (long long)onset);
			k++;
		}
		fclose(cases);
		free(taken);
	}
	fprintf(stderr, "gen: %zu rows in the CSV, %zu distinct scans in the binary file\n", generated, n);
	wg_free(recs);
	wg_free(cdf);
	return 0;
}
