/* A batch's distinct pairs written out by several threads (the CLI's
 * `wangge trace batch`).
 *
 * Millions of lines of text cost more to format than the pairs cost to find.
 * The pairs are cut in pieces of PAIRS_PIECE; formatter threads take pieces
 * in order and format each into a buffer of its own, and the calling thread
 * writes the buffers to the file descriptor in order, freeing each after its
 * write. Formatters stay at most PAIRS_AHEAD pieces ahead of the writer, so
 * the memory held is bounded whatever the size of the answer. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "core/lib/mem.h"
#include "trace/trace_int.h"
#include "trace/trace_cli.h"

#define PAIRS_PIECE  (1u << 17)  /* pairs a piece */
#define PAIRS_AHEAD  8u          /* pieces formatted and not yet written */
#define PAIRS_LINE   48u         /* the longest line of a pair, any format */
#define PAIRS_MAX_THREADS 64

struct piece {
	char  *buf;
	size_t len;
	bool   ready;
};

struct pairs_out {
	const struct trace_pairs *p;
	enum cli_format fmt;
	struct piece *pieces;
	size_t npieces;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t next;      /* next piece to format */
	size_t written;   /* pieces written */
	int rc;
};

/* Two digits at a time from a table: formatting is most of what writing
 * millions of pairs costs. */
static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static size_t put_u32(char *dst, uint32_t v)
{
	char t[10];
	size_t n = sizeof(t);

	while (v >= 100) {
		uint32_t r = v % 100;
		v /= 100;
		n -= 2;
		memcpy(t + n, digit_pairs + 2 * r, 2);
	}
	if (v >= 10) {
		n -= 2;
		memcpy(t + n, digit_pairs + 2 * v, 2);
	} else {
		t[--n] = (char)('0' + v);
	}
	memcpy(dst, t + n, sizeof(t) - n);
	return sizeof(t) - n;
}

/* Formats pairs [from, to) into buf; returns the bytes written. */
static size_t format_piece(const struct pairs_out *o, size_t from, size_t to, char *buf)
{
	const struct trace_pair *pr = o->p->pairs;
	char src[16];
	size_t srclen = 0, n = 0;
	uint32_t cur = 0;
	bool have = false;

	for (size_t i = from; i < to; i++) {
		if (!have || pr[i].source != cur) { /* the case's digits, once a run */
			cur = pr[i].source;
			have = true;
			srclen = put_u32(src, cur);
		}
		if (o->fmt == CLI_JSON) {
			if (i > 0)
				buf[n++] = ',';
			buf[n++] = '[';
			memcpy(buf + n, src, srclen);
			n += srclen;
			buf[n++] = ',';
			n += put_u32(buf + n, pr[i].person);
			buf[n++] = ']';
			buf[n++] = '\n';
		} else if (o->fmt == CLI_CSV) {
			memcpy(buf + n, src, srclen);
			n += srclen;
			buf[n++] = ',';
			n += put_u32(buf + n, pr[i].person);
			buf[n++] = '\n';
		} else {
			size_t pad = srclen < 11 ? 11 - srclen : 1;
			memcpy(buf + n, src, srclen);
			memset(buf + n + srclen, ' ', pad);
			n += srclen + pad;
			n += put_u32(buf + n, pr[i].person);
			buf[n++] = '\n';
		}
	}
	return n;
}

static void *format_run(void *arg)
{
	struct pairs_out *o = arg;

	pthread_mutex_lock(&o->mu);
	for (;;) {
		size_t k, from, to;
		char *buf;
		while (!o->rc && o->next < o->npieces && o->next >= o->written + PAIRS_AHEAD)
			pthread_cond_wait(&o->cv, &o->mu);
		if (o->rc || o->next >= o->npieces)
			break;
		k = o->next++;
		pthread_mutex_unlock(&o->mu);
		from = k * (size_t)PAIRS_PIECE;
		to = from + PAIRS_PIECE < o->p->n ? from + PAIRS_PIECE : o->p->n;
		buf = wg_malloc((to - from) * PAIRS_LINE + 1);
		pthread_mutex_lock(&o->mu);
		if (!buf) {
			if (!o->rc)
				o->rc = TRACE_ERR_NOMEM;
			pthread_cond_broadcast(&o->cv);
			break;
		}
		pthread_mutex_unlock(&o->mu);
		o->pieces[k].len = format_piece(o, from, to, buf);
		pthread_mutex_lock(&o->mu);
		o->pieces[k].buf = buf;
		o->pieces[k].ready = true;
		pthread_cond_broadcast(&o->cv);
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

static int write_text(int fd, const char *s)
{
	return trace_write_all(fd, s, strlen(s));
}

/* The header, then every piece in order as the formatters finish them. */
static int write_pieces(struct pairs_out *o, int fd)
{
	char head[128];
	int rc = TRACE_OK, k;

	if (o->fmt == CLI_CSV)
		k = snprintf(head, sizeof(head), "case,person\n");
	else if (o->fmt == CLI_JSON)
		k = snprintf(head, sizeof(head), "{\"query\":\"batch\",\"count\":%zu,\"cases\":%zu,\"pairs\":[\n",
			     o->p->n, o->p->ncases);
	else
		k = snprintf(head, sizeof(head), "%-10s %s\n", "case", "person");
	if (k < 0 || (size_t)k >= sizeof(head))
		return TRACE_ERR_FORMAT;
	rc = write_text(fd, head);
	for (size_t i = 0; !rc && i < o->npieces; i++) {
		struct piece *pc = &o->pieces[i];
		bool mine = false;
		pthread_mutex_lock(&o->mu);
		if (!pc->ready && o->next == i) { /* no formatter took it yet: format it here */
			o->next++;
			mine = true;
		}
		while (!mine && !o->rc && !pc->ready)
			pthread_cond_wait(&o->cv, &o->mu);
		rc = o->rc;
		pthread_mutex_unlock(&o->mu);
		if (!rc && mine) {
			size_t from = i * (size_t)PAIRS_PIECE;
			size_t to = from + PAIRS_PIECE < o->p->n ? from + PAIRS_PIECE : o->p->n;
			pc->buf = wg_malloc((to - from) * PAIRS_LINE + 1);
			if (!pc->buf)
				rc = TRACE_ERR_NOMEM;
			else
				pc->len = format_piece(o, from, to, pc->buf);
		}
		if (rc)
			break;
		rc = trace_write_all(fd, pc->buf, pc->len);
		wg_free(pc->buf);
		pc->buf = NULL;
		pthread_mutex_lock(&o->mu);
		o->written = i + 1;
		if (rc && !o->rc)
			o->rc = rc;
		pthread_cond_broadcast(&o->cv);
		pthread_mutex_unlock(&o->mu);
	}
	if (!rc && o->fmt == CLI_JSON)
		rc = write_text(fd, "]}\n");
	else if (!rc && o->fmt == CLI_TABLE) {
		char tail[64];
		k = snprintf(tail, sizeof(tail), "%zu pairs, %zu cases\n", o->p->n, o->p->ncases);
		rc = k < 0 || (size_t)k >= sizeof(tail) ? TRACE_ERR_FORMAT : write_text(fd, tail);
	}
	return rc;
}

int cli_write_pairs(int fd, enum cli_format fmt, const struct trace_pairs *p, int threads)
{
	struct pairs_out o;
	pthread_t th[PAIRS_MAX_THREADS];
	bool started[PAIRS_MAX_THREADS];
	size_t bytes;
	int rc, nt = threads < 1 ? 1 : threads > PAIRS_MAX_THREADS ? PAIRS_MAX_THREADS : threads;

	memset(&o, 0, sizeof(o));
	memset(started, 0, sizeof(started));
	o.p = p;
	o.fmt = fmt;
	o.npieces = (p->n + PAIRS_PIECE - 1) / PAIRS_PIECE;
	if (!wg_size_mul(o.npieces ? o.npieces : 1, sizeof(*o.pieces), &bytes)
	    || !(o.pieces = wg_calloc(1, bytes)))
		return TRACE_ERR_NOMEM;
	rc = TRACE_ERR_NOMEM;
	if (pthread_mutex_init(&o.mu, NULL) != 0)
		goto out;
	if (pthread_cond_init(&o.cv, NULL) != 0) {
		pthread_mutex_destroy(&o.mu);
		goto out;
	}
	/* a formatter that cannot be started leaves its pieces to the writer */
	for (int i = 0; i < nt; i++)
		started[i] = pthread_create(&th[i], NULL, format_run, &o) == 0;
	rc = write_pieces(&o, fd);
	pthread_mutex_lock(&o.mu);
	if (rc && !o.rc)
		o.rc = rc;
	pthread_cond_broadcast(&o.cv);
	pthread_mutex_unlock(&o.mu);
	for (int i = 0; i < nt; i++)
		if (started[i])
			pthread_join(th[i], NULL);
	pthread_cond_destroy(&o.cv);
	pthread_mutex_destroy(&o.mu);
	for (size_t i = 0; i < o.npieces; i++)
		wg_free(o.pieces[i].buf);
out:
	wg_free(o.pieces);
	return rc;
}
