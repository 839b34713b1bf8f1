/* Files in, results out, for the trace CLI. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/lib/mem.h"
#include "core/lib/timefmt.h"
#include "core/lib/parse.h"
#include "trace/trace_int.h"
#include "trace/trace_cli.h"

#define READ_CHUNK (16u << 20)

void cli_progress(const char *label, uint64_t done, uint64_t total)
{
	static const char *last;
	if (!isatty(STDERR_FILENO))
		return;
	if (!label) {
		fputs("\r\033[K", stderr);
		last = NULL;
		return;
	}
	if (total) {
		int width = 40, fill = (int)(done * (uint64_t)width / total);
		fprintf(stderr, "\r%s [", label);
		for (int i = 0; i < width; i++)
			fputc(i < fill ? '#' : '.', stderr);
		fprintf(stderr, "] %3d%%", (int)(done * 100 / total));
	} else if (label != last) {
		fprintf(stderr, "\r\033[K%s …", label);
	}
	last = label;
	fflush(stderr);
}

int cli_read_file(const char *path, uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t size, got = 0;
	int fd, rc = TRACE_ERR_IO;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return TRACE_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	size = (size_t)st.st_size;
	rc = TRACE_ERR_NOMEM;
	b = wg_malloc(size ? size : 1);
	if (!b)
		goto out;
	rc = TRACE_ERR_IO;
	while (got < size) {
		size_t want = size - got < READ_CHUNK ? size - got : READ_CHUNK;
		ssize_t r = read(fd, b + got, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		got += (size_t)r;
		cli_progress("读取 / reading", got, size);
	}
	*buf = b;
	*len = size;
	b = NULL;
	rc = TRACE_OK;
out:
	wg_free(b);
	close(fd);
	return rc;
}

int cli_map_file(const char *path, uint8_t **data, size_t *len)
{
	struct stat st;
	void *p;
	int fd, rc = TRACE_ERR_IO;

	*data = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return TRACE_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	rc = TRACE_OK;
	if (st.st_size == 0)
		goto out;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		rc = TRACE_ERR_IO;
		goto out;
	}
	madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
	*data = p;
	*len = (size_t)st.st_size;
	if (isatty(STDERR_FILENO)) {
		volatile uint8_t sink = 0;
		for (size_t off = 0; off < *len; off += 4096) {
			sink ^= ((const uint8_t *)p)[off];
			if (off % (64u << 20) == 0)
				cli_progress("读取 / reading", off, *len);
		}
		cli_progress("读取 / reading", *len, *len);
		(void)sink;
	}
out:
	close(fd);
	return rc;
}

void cli_unmap_file(uint8_t *data, size_t len)
{
	if (data && len)
		munmap(data, len);
}

int cli_read_cases(const char *path, struct trace_case **cases, size_t *n, struct trace_diag *d)
{
	uint8_t *buf = NULL;
	struct trace_case *c = NULL;
	size_t len, pos = 0, k = 0, cap, bytes;
	uint64_t row = 0;
	int rc;

	*cases = NULL;
	*n = 0;
	rc = cli_read_file(path, &buf, &len);
	if (rc)
		return trace_diag_set(d, rc, 0, 0, NULL);
	cap = len / 4 + 1;
	rc = TRACE_ERR_NOMEM;
	if (!wg_size_mul(cap, sizeof(*c), &bytes) || !(c = wg_malloc(bytes)))
		goto out;
	while (pos < len) {
		const char *line = (const char *)buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		const char *comma;
		uint32_t person;
		int64_t onset;

		row++;
		pos += ll + (nl ? 1 : 0);
		if (ll && line[ll - 1] == '\r')
			ll--;
		if (ll == 0 || (row == 1 && ((line[0] | 0x20) >= 'a' && (line[0] | 0x20) <= 'z')))
			continue;
		comma = memchr(line, ',', ll);
		if (!comma || memchr(comma + 1, ',', ll - (size_t)(comma + 1 - line))) {
			rc = trace_diag_set(d, TRACE_ERR_COLUMNS, row, pos, "expected person,onset");
			goto out;
		}
		if (!wg_parse_u32(line, (size_t)(comma - line), &person)) {
			rc = trace_diag_set(d, TRACE_ERR_NUMBER, row, pos, "person");
			goto out;
		}
		if (!wg_parse_i64(comma + 1, ll - (size_t)(comma + 1 - line), &onset) || onset < 0) {
			rc = trace_diag_set(d, TRACE_ERR_NUMBER, row, pos, "onset");
			goto out;
		}
		if (k >= TRACE_MAX_CASES) {
			rc = trace_diag_set(d, TRACE_ERR_TOO_LARGE, row, pos, "cases");
			goto out;
		}
		c[k++] = (struct trace_case){ person, onset };
	}
	*cases = c;
	*n = k;
	c = NULL;
	rc = TRACE_OK;
out:
	wg_free(c);
	wg_free(buf);
	return rc;
}

/* Tables show local time, as a person reads it (core/lib/timefmt.h). */
static void put_time(FILE *f, int64_t t)
{
	char s[WG_TIME_HUMAN];
	wg_time_human(t, s);
	fputs(s, f);
}

static void put_iso(FILE *f, int64_t t)
{
	char s[WG_TIME_ISO];
	wg_time_iso(t, s);
	fputs(s, f);
}

static const char *source_name(const char *what)
{
	return strcmp(what, "secondary") == 0 ? "via" : "case";
}

static bool is_companions(const char *what)
{
	return strcmp(what, "companions") == 0;
}

/* A secondary contact is found at the first stay that meets a close
 * contact's: its encounters are not counted, so events and total are
 * shown as not known rather than as 0. */
static void print_table(FILE *f, const char *what, const struct trace_result *r)
{
	bool sec = strcmp(what, "secondary") == 0, comp = is_companions(what);
	char src_head[64], hit_head[64];
	snprintf(src_head, sizeof src_head, "source stay (%s)", wg_time_zone());
	snprintf(hit_head, sizeof hit_head, "contact stay (%s)", wg_time_zone());
	fprintf(f, "%-6s %-10s %-10s %-10s %-35s %-35s %8s %6s %8s%s\n", "rank", "person",
		sec ? "via(密接)" : "case", comp ? "cell" : "venue",
		src_head, hit_head, "overlap", "events", "total",
		comp ? "  dwell(case) dwell(contact)" : "");
	for (size_t i = 0; i < r->n; i++) {
		const struct trace_hit *h = &r->hits[i];
		fprintf(f, "%-6zu %-10u %-10u %-10u ", i + 1, h->person, h->source, h->place);
		put_time(f, h->src_in);
		fputs(" – ", f);
		put_time(f, h->src_out);
		fputs("  ", f);
		put_time(f, h->hit_in);
		fputs(" – ", f);
		put_time(f, h->hit_out);
		if (sec)
			fprintf(f, " %8u %6s %8s", h->overlap_min, "-", "-");
		else
			fprintf(f, " %8u %6u %8llu", h->overlap_min, h->events,
				(unsigned long long)h->total_overlap_min);
		if (comp)
			fprintf(f, "  %11u %14u", h->src_dwell_min, h->hit_dwell_min);
		fputc('\n', f);
	}
	fprintf(f, "%zu %s\n", r->n, r->n == 1 ? "person" : "persons");
}

/* Each time as Unix seconds and beside it in local ISO 8601 (as the API's
 * twins); events and total empty for secondary contacts (not counted). */
static void print_csv(FILE *f, const char *what, const struct trace_result *r)
{
	bool comp = is_companions(what), sec = strcmp(what, "secondary") == 0;
	fprintf(f, "rank,person,%s,%s,source_in,source_in_at,source_out,source_out_at,contact_in,contact_in_at,"
		"contact_out,contact_out_at,overlap_min,events,total_overlap_min%s\n", source_name(what),
		comp ? "cell" : "venue", comp ? ",source_dwell_min,contact_dwell_min" : "");
	for (size_t i = 0; i < r->n; i++) {
		const struct trace_hit *h = &r->hits[i];
		const int64_t t[4] = { h->src_in, h->src_out, h->hit_in, h->hit_out };
		fprintf(f, "%zu,%u,%u,%u", i + 1, h->person, h->source, h->place);
		for (int k = 0; k < 4; k++) {
			fprintf(f, ",%lld,", (long long)t[k]);
			put_iso(f, t[k]);
		}
		if (sec)
			fprintf(f, ",%u,,", h->overlap_min);
		else
			fprintf(f, ",%u,%u,%llu", h->overlap_min, h->events, (unsigned long long)h->total_overlap_min);
		if (comp)
			fprintf(f, ",%u,%u", h->src_dwell_min, h->hit_dwell_min);
		fputc('\n', f);
	}
}

static void print_json(FILE *f, const char *what, const struct trace_result *r)
{
	bool sec = strcmp(what, "secondary") == 0;
	fprintf(f, "{\"query\":\"%s\",\"count\":%zu,\"results\":[", what, r->n);
	for (size_t i = 0; i < r->n; i++) {
		const struct trace_hit *h = &r->hits[i];
		char at[4][WG_TIME_ISO];
		wg_time_iso(h->src_in, at[0]);
		wg_time_iso(h->src_out, at[1]);
		wg_time_iso(h->hit_in, at[2]);
		wg_time_iso(h->hit_out, at[3]);
		fprintf(f, "%s\n{\"rank\":%zu,\"person\":%u,\"%s\":%u,\"%s\":%u,"
			"\"source_stay\":[%lld,%lld],\"source_stay_at\":[\"%s\",\"%s\"],"
			"\"contact_stay\":[%lld,%lld],\"contact_stay_at\":[\"%s\",\"%s\"],\"overlap_min\":%u",
			i ? "," : "", i + 1, h->person, source_name(what), h->source,
			is_companions(what) ? "cell" : "venue", h->place,
			(long long)h->src_in, (long long)h->src_out, at[0], at[1], (long long)h->hit_in,
			(long long)h->hit_out, at[2], at[3], h->overlap_min);
		if (sec)
			fputs(",\"events\":null,\"total_overlap_min\":null", f);
		else
			fprintf(f, ",\"events\":%u,\"total_overlap_min\":%llu", h->events,
				(unsigned long long)h->total_overlap_min);
		if (is_companions(what))
			fprintf(f, ",\"source_dwell_min\":%u,\"contact_dwell_min\":%u", h->src_dwell_min,
				h->hit_dwell_min);
		fputc('}', f);
	}
	fputs("]}\n", f);
}

int cli_print(FILE *f, enum cli_format fmt, const char *what, const struct trace_result *r)
{
	if (fmt == CLI_TABLE)
		print_table(f, what, r);
	else if (fmt == CLI_CSV)
		print_csv(f, what, r);
	else
		print_json(f, what, r);
	if (fflush(f) != 0 || ferror(f))
		return TRACE_ERR_IO;
	return TRACE_OK;
}
