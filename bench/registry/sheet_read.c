/* The cost of reading a spreadsheet, alone: every row of FILE read through
 * the project's reader (src/core/sheet), as the import's reading thread
 * reads it before it checks and encrypts, with the XLSX worksheet read by
 * the scanner and by expat, alternately, RUNS times each. Prints the rows,
 * the process CPU time of each run and its median per row.
 *   sheet_read FILE [RUNS [scanner|expat]]   (the last: that reader only, for a profiler)
 * (built and run by bench/registry/sheet_read.sh; a CSV file reads the same either way) */
#include "core/sheet/sheet.h"
#include "core/sheet/sheet_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Reads every row; the rows read, or -1 (the reader's message printed). */
static long read_all(const char *data, size_t len, enum sheet_xlsx_xml xml)
{
	struct sheet_reader *r;
	struct sheet_error err;
	struct sheet_row row;
	long rows = 0;
	if (sheet_open_memory_xml(data, len, xml, &r, &err) != 0)
		return fprintf(stderr, "%s\n", err.message_en), -1;
	int rc;
	while ((rc = sheet_next_row(r, &row)) == 0 && !row.end)
		rows++;
	if (rc)
		fprintf(stderr, "%s\n", sheet_last_error(r)->message_en);
	sheet_close(r);
	return rc ? -1 : rows;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *p = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return fprintf(stderr, "usage: sheet_read FILE [RUNS]\n"), 2;
	int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 3;
	if (runs < 1 || runs > 99)
		runs = 3;
	size_t len;
	char *data = slurp(argv[1], &len);
	if (!data)
		return perror(argv[1]), 1;
	static const char *const names[] = { "scanner", "expat" };
	const char *only = argc > 3 ? argv[3] : NULL;
	double t[2][99] = { { 0 } };
	long rows = 0;
	for (int i = 0; i < runs; i++)
		for (int e = 0; e < 2; e++) {
			if (only && strcmp(only, names[e]) != 0)
				continue;
			double t0 = cpu_now();
			rows = read_all(data, len, e ? SHEET_XLSX_EXPAT : SHEET_XLSX_SCANNER);
			t[e][i] = cpu_now() - t0;
			if (rows < 0)
				return 1;
		}
	printf("%s: %ld rows, CPU seconds of reading every row, %d runs each, alternating\n", argv[1], rows, runs);
	double med[2];
	for (int e = 0; e < 2; e++) {
		printf("  %-8s", names[e]);
		for (int i = 0; i < runs; i++)
			printf(" %.3f", t[e][i]);
		qsort(t[e], (size_t)runs, sizeof t[e][0], cmp_double);
		med[e] = t[e][runs / 2];
		printf("  median %.3f s, %.2f us a row\n", med[e], med[e] * 1e6 / (double)rows);
	}
	printf("  scanner / expat: %.2f\n", med[0] / med[1]);
	free(data);
	return 0;
}
