/* An import's rows, one by one or in chunks (resource_import.c runs the
 * import around them).
 *
 * On PostgreSQL rows go in chunks, each a batch (store.h): what would be
 * a round trip or more per row is a few per chunk. A chunk's rows are read
 * first; the resource's import_prefetch hook looks up what they will ask
 * for, and ids are taken ahead; then each row is imported as alone, its
 * writes kept for the batch, and the batch is sent. A failed row's writes
 * are dropped while still kept (with ?partial=1; without, a failed row
 * leaves them, as one by one). A chunk the database refuses (a duplicate
 * ID number, in the file or in the store), or whose failed row's writes
 * were already sent, is rolled back and done again one row at a time from
 * a copy of each row's object as read: its rows' reports, errors and
 * messages are then exactly those of one by one.
 *
 * The server stores a chunk while the next one is made. Three chunks are
 * in hand: one sent, its last COPY still with the server; one made into
 * the open batch; and the one being read. When that one is full: the sent
 * chunk's answer is read; the full chunk's lookups are made (the made
 * chunk's batch set aside: they need none of its writes, as the grids
 * whose households it made are in the memo); the made chunk is sent
 * without waiting (store_batch_send); and the full chunk is made while the
 * server stores it. A sent chunk refused was made on: the chunk made on it
 * is dropped unsent, the refused one done again row by row, and the other
 * made again from its rows as read. Should the memo be emptied between a
 * chunk's lookups and the sending of the chunk before (it would then lack
 * the households that chunk made), it is emptied again once that chunk is
 * sent, and the rows look up for themselves. */
#include "core/resource/resource_int.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"
#include "core/sheet/sheet.h"

#include <string.h>

struct chunk_row {
	json_t *o;                    /* the row's object (NULL: fail says why) */
	struct wg_row_ahead ahead;    /* its checks made ahead (its secrets' texts kept by the reader until it releases the row) */
	size_t member, nmembers;      /* its members as read, in chunk.member */
	uint32_t number;
	struct wg_fail fail;
};

/* A member of a row's object as read: importing changes a row's members,
 * never their values, so these make the row again. Keys are the column
 * specs' own (the object's die with their members). */
struct chunk_member {
	const char *key;
	json_t *value;
};

struct chunk {
	struct chunk_row *row;        /* chunks.max */
	struct chunk_member *member;  /* chunks.max × the specs */
	size_t n, members, bytes;     /* rows and members in the chunk, their text */
	/* the import before the chunk, to start over from */
	size_t errors, reports, remembered;
	int64_t inserted, updated, unchanged, extra;
};

#define CHUNK_BUFFERS 3   /* sent, made, being read */

struct chunks {
	struct chunk buf[CHUNK_BUFFERS];
	struct chunk *sent;           /* sent, its answer not read yet (NULL: none) */
	struct chunk *built;          /* made into the open batch, not sent (NULL: none) */
	struct chunk *cur;            /* the rows being read */
	const struct sheet_column_spec *specs;
	size_t nspecs;
	size_t size, max;             /* rows a chunk takes (at most max) */
	uint32_t alone;               /* rows to import one by one before batching again */
};

static bool chunk_alloc(struct chunk *ch, size_t max, size_t nspecs)
{
	*ch = (struct chunk){ 0 };
	ch->row = wg_calloc(max, sizeof *ch->row);
	ch->member = wg_calloc(max * nspecs, sizeof *ch->member);
	return ch->row && ch->member;
}

static void chunks_free(struct chunks *cs)
{
	for (size_t i = 0; i < CHUNK_BUFFERS; i++) {
		wg_free(cs->buf[i].row);
		wg_free(cs->buf[i].member);
		cs->buf[i].row = NULL;
		cs->buf[i].member = NULL;
	}
}

static bool chunks_init(struct chunks *cs, size_t max, const struct sheet_column_spec *specs, size_t nspecs)
{
	*cs = (struct chunks){ .specs = specs, .nspecs = nspecs, .size = max, .max = max, .cur = &cs->buf[0] };
	if (max == 0)
		return false;
	bool ok = true;
	for (size_t i = 0; i < CHUNK_BUFFERS; i++)
		ok = ok && chunk_alloc(&cs->buf[i], max, nspecs);
	if (ok)
		return true;
	chunks_free(cs);
	return false;  /* only slower: rows go one by one */
}

/* The buffer that is neither sent, made nor being read. */
static struct chunk *chunk_free_buffer(struct chunks *cs)
{
	for (size_t i = 0; i < CHUNK_BUFFERS; i++)
		if (&cs->buf[i] != cs->sent && &cs->buf[i] != cs->built && &cs->buf[i] != cs->cur)
			return &cs->buf[i];
	return NULL;
}

static const char *spec_key(const struct chunks *cs, const char *key)
{
	for (size_t i = 0; i < cs->nspecs; i++)
		if (strcmp(cs->specs[i].key, key) == 0)
			return cs->specs[i].key;
	return NULL;
}

/* Keeps a row for the chunk (o and ahead: from import_take_row, r->fail
 * when o is NULL; the chunk takes ahead's references). */
static void chunk_keep(wg_req *r, struct chunks *cs, json_t *o, const struct sheet_row *row, const struct wg_row_ahead *ahead)
{
	struct chunk *ch = cs->cur;
	struct chunk_row *k = &ch->row[ch->n++];
	const char *key;
	json_t *v;
	*k = (struct chunk_row){ .o = json_incref(o), .ahead = *ahead, .member = ch->members, .number = row->number };
	json_object_foreach(o, key, v) {
		const char *stable = spec_key(cs, key);
		if (stable && k->nmembers < cs->nspecs)
			ch->member[ch->members + k->nmembers++] = (struct chunk_member){ stable, json_incref(v) };
	}
	ch->members += k->nmembers;
	if (!o) {
		k->fail = r->fail;
		memset(&r->fail, 0, sizeof r->fail);
	}
	for (size_t i = 0; i < row->n; i++)
		ch->bytes += row->cells[i].len;
}

/* The row's object as read, made again; NULL when out of memory. */
static json_t *chunk_row_again(const struct chunk *ch, const struct chunk_row *k)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < k->nmembers; i++)
		if (json_object_set(o, ch->member[k->member + i].key, ch->member[k->member + i].value)) {
			json_decref(o);
			o = NULL;
		}
	return o;
}

static void chunk_release(struct chunk *ch)
{
	for (size_t i = 0; i < ch->n; i++) {
		json_decref(ch->row[i].o);
		resource_row_ahead_release(&ch->row[i].ahead);
	}
	for (size_t i = 0; i < ch->members; i++)
		json_decref(ch->member[i].value);
	ch->n = ch->members = ch->bytes = 0;
}

/* The memo entries a chunk's lookups add: about two a row (a household's
 * two, shared by its members; a grid's four, shared by its rows). A guess:
 * the memo empties itself when full anyway. */
#define CHUNK_MEMO_ENTRIES(rows) (2 * (rows))

/* What the chunk's rows will look up and the ids they take, before them:
 * a query among them would send the batch kept so far. The caller has made
 * room in the memo (import_memo_reserve). */
static int chunk_prefetch(wg_req *r, const struct wg_resource *res, struct chunk *ch)
{
	json_t *rows[WG_IMPORT_CHUNK_MAX_ROWS];
	size_t n = 0;
	for (size_t i = 0; i < ch->n; i++)
		if (ch->row[i].o)
			rows[n++] = ch->row[i].o;
	if (res->hooks.import_prefetch && n)
		res->hooks.import_prefetch(r, res, rows, n);
	memset(&r->fail, 0, sizeof r->fail);  /* a row fails on its own, in its order */
	int rc = import_ids_reserve(r, ch->n);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

/* The import as it was before the chunk: its rows are done again. */
static void chunk_take_back(wg_req *r, struct import_state *st, const struct chunk *ch)
{
	while (json_array_size(st->errors) > ch->errors)
		json_array_remove(st->errors, json_array_size(st->errors) - 1);
	while (json_array_size(st->rows) > ch->reports)
		json_array_remove(st->rows, json_array_size(st->rows) - 1);
	st->inserted = ch->inserted;
	st->updated = ch->updated;
	st->unchanged = ch->unchanged;
	r->import->n = ch->remembered;
	r->import->extra_created = ch->extra;
	import_memo_forget(r);
	import_ids_forget(r->import);
}

/* The chunk's rows one by one, as every row on SQLite, from the import as
 * it was before the chunk (its writes were rolled back); the chunk is
 * released. 0, or the failure that ends the import. */
static int chunk_again(wg_req *r, const struct wg_resource *res, struct import_state *st, struct chunks *cs,
		       struct chunk *ch)
{
	int rc = 0;
	/* A file of duplicates would fail chunk after chunk: smaller ones, then a pause. */
	size_t least = cs->max < WG_IMPORT_CHUNK_MIN ? cs->max : WG_IMPORT_CHUNK_MIN;
	if (cs->size <= least)
		cs->alone = WG_IMPORT_CHUNK_PAUSE;
	cs->size = cs->size / 4 > least ? cs->size / 4 : least;
	chunk_take_back(r, st, ch);
	for (size_t i = 0; i < ch->n && !rc; i++) {
		struct chunk_row *k = &ch->row[i];
		json_t *o = k->o ? chunk_row_again(ch, k) : NULL;
		if (k->o && !o) {
			rc = req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
			break;
		}
		if (!o)
			r->fail = k->fail;
		rc = import_row_alone(r, res, st, o, k->number, NULL);
		json_decref(o);
	}
	chunk_release(ch);
	return rc;
}

/* The chunk's rows made again from what was read: what the import made of
 * them came after a chunk that was then refused. */
static int chunk_remake(wg_req *r, struct chunk *ch)
{
	for (size_t i = 0; i < ch->n; i++) {
		struct chunk_row *k = &ch->row[i];
		resource_row_ahead_release(&k->ahead);
		if (!k->o)
			continue;
		json_decref(k->o);
		if (!(k->o = chunk_row_again(ch, k)))
			return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
	return 0;
}

static int chunk_build(wg_req *r, const struct wg_resource *res, struct import_state *st, struct chunks *cs,
		       struct chunk *ch);
static int chunks_drain(wg_req *r, const struct wg_resource *res, struct import_state *st, struct chunks *cs);

/* A sent chunk refused: done again row by row, from the import as it was
 * before it; the chunk made on it (built, its batch dropped; or NULL) made
 * again from its rows as read, with its lookups. 0, or the failure that
 * ends the import. */
static int chunk_refused(wg_req *r, const struct wg_resource *res, struct import_state *st, struct chunks *cs,
			 struct chunk *sent, struct chunk *built)
{
	int rc = chunk_again(r, res, st, cs, sent);
	if (!built)
		return rc;
	if (!rc && !(rc = chunk_remake(r, built))) {
		import_memo_reserve(r, CHUNK_MEMO_ENTRIES(built->n));
		if (!(rc = chunk_prefetch(r, res, built)))
			return chunk_build(r, res, st, cs, built);
	}
	chunk_release(built);
	return rc;
}

/* Imports the chunk's rows into a new batch, which stays open (cs->built);
 * or, when a failed row's writes went out with it, drops the batch and
 * imports them again one by one. 0, or the failure that ends the import. */
static int chunk_build(wg_req *r, const struct wg_resource *res, struct import_state *st, struct chunks *cs,
		       struct chunk *ch)
{
	bool out_of_memory = false, again = false;
	int rc = store_batch_begin(r->db);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	r->import->batching = true;
	ch->errors = json_array_size(st->errors);
	ch->reports = json_array_size(st->rows);
	ch->remembered = r->import->n;
	ch->inserted = st->inserted;
	ch->updated = st->updated;
	ch->unchanged = st->unchanged;
	ch->extra = r->import->extra_created;
	for (size_t i = 0; i < ch->n && !out_of_memory; i++) {
		struct chunk_row *k = &ch->row[i];
		store_batch_mark(r->db);
		if (!k->o)
			r->fail = k->fail;
		if (import_row(r, res, st, k->o, k->number, &k->ahead, &out_of_memory) && st->partial && !store_batch_undo(r->db))
			again = true;
	}
	r->import->batching = false;
	if (out_of_memory) {
		store_batch_end(r->db, false);  /* the import fails: its transaction rolls back */
		chunk_release(ch);
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
	if (!again) {
		cs->built = ch;
		return 0;
	}
	store_batch_end(r->db, false);
	/* What was sent before it first: refused, this chunk was made on it too. */
	struct chunk *sent = cs->sent;
	if (sent) {
		cs->sent = NULL;
		if (store_batch_wait(r->db))
			return chunk_refused(r, res, st, cs, sent, ch);
		chunk_release(sent);
	}
	return chunk_again(r, res, st, cs, ch);
}

/* The answer to the chunk sent last: kept, or refused (chunk_refused).
 * 0, or the failure that ends the import. */
static int chunks_settle(wg_req *r, const struct wg_resource *res, struct import_state *st, struct chunks *cs)
{
	struct chunk *sent = cs->sent, *built = cs->built;
	if (!sent)
		return 0;
	cs->sent = NULL;
	if (!store_batch_wait(r->db)) {
		chunk_release(sent);
		cs->size = cs->size * 2 < cs->max ? cs->size * 2 : cs->max;
		return 0;
	}
	if (built) {
		store_batch_end(r->db, false);
		cs->built = NULL;
	}
	return chunk_refused(r, res, st, cs, sent, built);
}

/* Sends the made chunk without waiting; refused at once, it is done again
 * row by row. 0, or the failure that ends the import. */
static int chunk_send(wg_req *r, const struct wg_resource *res, struct import_state *st, struct chunks *cs)
{
	struct chunk *built = cs->built;
	if (!built)
		return 0;
	cs->built = NULL;
	if (store_batch_send(r->db))
		return chunk_again(r, res, st, cs, built);
	cs->sent = built;
	return 0;
}

/* The chunk being read is full (or the file's last): the one sent before
 * answered, this one's lookups made, the made one sent, this one made
 * meanwhile. 0, or the failure that ends the import. */
static int chunks_step(wg_req *r, const struct wg_resource *res, struct import_state *st, struct chunks *cs)
{
	struct chunk *ch = cs->cur;
	/* The memo emptied before the lookups would lose the households the
	 * made chunk made: that one is sent and answered first. */
	int rc = cs->built && import_memo_full(r, CHUNK_MEMO_ENTRIES(ch->n)) ? chunks_drain(r, res, st, cs)
									     : chunks_settle(r, res, st, cs);
	if (rc)
		return rc;
	bool unsent = cs->built != NULL;
	unsigned forgotten = r->import->memo_forgotten;
	import_memo_reserve(r, CHUNK_MEMO_ENTRIES(ch->n));
	struct store_batch *aside = store_batch_set_aside(r->db);
	rc = chunk_prefetch(r, res, ch);
	int taken = store_batch_take_up(r->db, aside);
	if (rc || taken) {
		if (!taken)
			store_batch_end(r->db, false);
		return rc ? rc : req_fail(r, taken, NULL, NULL, NULL);
	}
	if ((rc = chunk_send(r, res, st, cs)))
		return rc;
	if (unsent && r->import->memo_forgotten != forgotten)
		import_memo_forget(r);  /* the lookups may have missed what the chunk just sent made */
	cs->cur = chunk_free_buffer(cs);
	return chunk_build(r, res, st, cs, ch);
}

/* Nothing left in hand: the sent chunk answered, the made one sent and answered. */
static int chunks_drain(wg_req *r, const struct wg_resource *res, struct import_state *st, struct chunks *cs)
{
	int rc = chunks_settle(r, res, st, cs);
	struct chunk *built = cs->built;
	if (rc || !built)
		return rc;
	cs->built = NULL;
	if (store_batch_end(r->db, true))
		return chunk_again(r, res, st, cs, built);
	chunk_release(built);
	return 0;
}

static void chunks_release(struct chunks *cs)
{
	for (size_t i = 0; i < CHUNK_BUFFERS; i++)
		chunk_release(&cs->buf[i]);
	chunks_free(cs);
}

int import_rows(wg_req *r, const struct wg_resource *res, struct import_state *st, struct sheet_reader *reader,
		const struct sheet_header *h, const struct sheet_column_spec *specs, size_t nspecs, uint32_t *rows)
{
	struct sheet_row row;
	struct chunks cs = { 0 };
	int rc, fatal = 0;
	/* The chunk's rows and what the reading thread made of them stay with it. */
	bool chunks = store_batch_supported(r->db) && chunks_init(&cs, (size_t)r->app->config.import_chunk_rows, specs, nspecs) &&
		      sheet_keep_rows(reader, true);
	while (!fatal && (rc = sheet_next_row(reader, &row)) == 0 && !row.end) {
		if (++*rows > WG_MAX_IMPORT_ROWS) {
			import_add_error(st, row.number, "", "行数超过上限", "too many rows");
			break;
		}
		struct wg_row_ahead ahead;
		bool alone = !chunks || cs.alone > 0;
		json_t *o = import_take_row(r, res, &row, h, specs, nspecs, &ahead, alone);
		if (!alone) {
			chunk_keep(r, &cs, o, &row, &ahead);
			if (cs.cur->n == cs.size || cs.cur->bytes >= WG_IMPORT_CHUNK_BYTES) {
				fatal = chunks_step(r, res, st, &cs);
				sheet_release_rows(reader);  /* made: what the reading thread made of them is no longer needed */
			}
		} else {
			cs.alone -= cs.alone > 0;
			fatal = chunks ? chunks_drain(r, res, st, &cs) : 0;
			if (!fatal)
				fatal = import_row_alone(r, res, st, o, row.number, &ahead);
			resource_row_ahead_release(&ahead);
			if (chunks)  /* kept for a chunk; otherwise the next row releases it, a lock less per row */
				sheet_release_rows(reader);
		}
		import_drop_row(r, o);
		if (r->progress && *rows % 1000 == 0)
			r->progress(r, *rows);
	}
	if (!fatal && chunks && cs.cur->n)
		fatal = chunks_step(r, res, st, &cs);
	if (!fatal && chunks)
		fatal = chunks_drain(r, res, st, &cs);
	/* on a failure that ends the import, what is left rolls back with it */
	chunks_release(&cs);
	sheet_keep_rows(reader, false);
	return fatal ? 0 : rc;
}
