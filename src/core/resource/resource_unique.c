/* A big import's unique values kept in memory. An import that only adds
 * records to a table small beside its file (resource_import.c) drops the
 * table's unique index on an FF_UNIQUE field with its other indexes and
 * builds it again at the end by sorting: a million random inserts into a
 * B-tree that outgrows the page cache cost more than the rest of the
 * insert. Duplicates are then found here, row by row, with the same
 * failures: every value the table holds (loaded at the start) and every
 * value a row stores, by a 64-bit hash of its stored form (the blind index
 * of a secret), with the record that holds it. A hash that matches is
 * confirmed against the record, so the answer is exact. The import holds
 * the store's write lock from the drop to the commit: no other writer
 * adds a value meanwhile. A row undone (?partial=1) takes its value back
 * out. Should a duplicate still slip through, building the index again
 * fails the import. */
#include "core/resource/resource_int.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"

#include <stdio.h>
#include <string.h>

struct unique_slot {
	uint64_t hash;
	int64_t id;               /* 0: empty; -1: a value taken back out */
};

struct import_unique {
	const struct wg_resource *res;
	const struct wg_field *field;
	char column[72];          /* the stored column: name, or name_bidx for a secret */
	struct unique_slot *slot;
	size_t cap, used;         /* cap a power of two; used counts taken-back slots too */
	size_t row_slot;          /* the slot the current row filled, cap when none */
	/* The value last hashed, with its hash: a row's value is hashed once,
	 * as the row is taken (import_unique_prefetch), though resource_unique_first
	 * and the insert ask for it and the insert then stores it. free: no slot
	 * held its hash when it was last asked for, so it is not probed again;
	 * forgotten when the slots change. */
	char hashed_value[WG_BLIND_HEX + 8];
	size_t hashed_len;        /* 0: none */
	uint64_t hashed;
	bool free;
};

/* FNV-1a over eight bytes at a time (a blind index is 32), mixed at the end. */
static uint64_t unique_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603u ^ n, w;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 1099511628211u;
		h ^= h >> 32;
	}
	for (; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211u;
	return h ^ (h >> 29);
}

/* The slot holding hash after start, or the empty slot where it would go. */
static size_t unique_probe(const struct import_unique *u, uint64_t hash, size_t start)
{
	size_t i = start & (u->cap - 1);
	while (u->slot[i].id != 0 && u->slot[i].hash != hash)
		i = (i + 1) & (u->cap - 1);
	return i;
}

static int unique_grow(struct import_unique *u)
{
	size_t cap = u->cap ? u->cap * 2 : 1024;
	struct unique_slot *slot = wg_calloc_table(cap, sizeof *slot), *old = u->slot;
	if (!slot)
		return WG_ERR_NOMEM;
	size_t old_cap = u->cap;
	u->slot = slot;
	u->cap = cap;
	u->used = 0;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].id > 0) {
			size_t k = unique_probe(u, old[i].hash, (size_t)old[i].hash);
			while (u->slot[k].id != 0)  /* the same hash held twice: the next free slot */
				k = unique_probe(u, old[i].hash, k + 1);
			u->slot[k] = old[i];
			u->used++;
		}
	wg_free(old);
	return 0;
}

static int unique_put(struct import_unique *u, uint64_t hash, int64_t id, size_t *at)
{
	int rc = (u->used + 1) * 4 > u->cap * 3 ? unique_grow(u) : 0;
	if (rc)
		return rc;
	size_t k = unique_probe(u, hash, (size_t)hash);
	while (u->slot[k].id != 0)
		k = unique_probe(u, hash, k + 1);
	u->slot[k] = (struct unique_slot){ hash, id };
	u->used++;
	if (at)
		*at = k;
	return 0;
}

int import_unique_begin(wg_req *r, const struct wg_resource *res, const struct wg_field *f, int64_t expected)
{
	struct import_unique *u = wg_calloc(1, sizeof *u);
	if (!u)
		return WG_ERR_NOMEM;
	*u = (struct import_unique){ .res = res, .field = f };
	snprintf(u->column, sizeof u->column, "%s%s", f->name, f->flags & FF_SECRET ? "_bidx" : "");
	int rc = unique_grow(u);
	while (!rc && u->cap * 3 < (size_t)expected * 4)
		rc = unique_grow(u);
	if (rc)
		goto fail;
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT id, %s FROM %s WHERE %s IS NOT NULL", u->column, res->table, u->column);
	wg_stmt *s;
	if ((rc = store_query(r->db, sql, NULL, 0, &s)))
		goto fail;
	int more = 0;
	while (!rc && (more = stmt_next(s)) == 1)
		rc = unique_put(u, unique_hash(stmt_text(s, 1), stmt_len(s, 1)), stmt_int(s, 0), NULL);
	stmt_done(s);
	if (!rc && more < 0)
		rc = -more;
	if (rc)
		goto fail;
	u->row_slot = u->cap;
	r->import->unique = u;
	return 0;
fail:
	wg_free(u->slot);
	wg_free(u);
	return rc;
}

void import_unique_end(struct wg_import *im)
{
	if (!im->unique)
		return;
	wg_free(im->unique->slot);
	wg_free(im->unique);
	im->unique = NULL;
}

const struct wg_field *import_unique_field(const wg_req *r, const struct wg_resource *res)
{
	const struct import_unique *u = r->import ? r->import->unique : NULL;
	return u && u->res == res ? u->field : NULL;
}

/* Whether record id holds exactly this stored value (a hash is only a hash). */
static int unique_confirm(wg_req *r, const struct import_unique *u, int64_t id, const char *value, size_t n, bool *same)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE id = ?", u->column, u->res->table);
	wg_stmt *s;
	wg_param p[] = { WG_PINT(id) };
	int rc = store_query(r->db, sql, p, 1, &s);
	if (rc)
		return rc;
	rc = stmt_next(s);
	*same = rc == 1 && stmt_len(s, 0) == n && memcmp(stmt_text(s, 0), value, n) == 0;
	stmt_done(s);
	return rc < 0 ? -rc : 0;
}

/* Whether value is the one hashed last. */
static bool hashed_last(const struct import_unique *u, const char *value, size_t n)
{
	return u->hashed_len && n == u->hashed_len && memcmp(u->hashed_value, value, n) == 0;
}

/* value's hash, kept for the next asking. */
static uint64_t hash_of(struct import_unique *u, const char *value, size_t n)
{
	if (hashed_last(u, value, n))
		return u->hashed;
	uint64_t hash = unique_hash(value, n);
	if (n && n <= sizeof u->hashed_value) {
		memcpy(u->hashed_value, value, n);
		u->hashed_len = n;
		u->hashed = hash;
		u->free = false;
	}
	return hash;
}

void import_unique_prefetch(struct wg_import *im, const char *value, size_t n)
{
	struct import_unique *u = im->unique;
	if (u)
		__builtin_prefetch(&u->slot[hash_of(u, value, n) & (u->cap - 1)]);
}

int import_unique_holder(wg_req *r, const char *value, size_t n, int64_t *other)
{
	struct import_unique *u = r->import->unique;
	*other = 0;
	if (u->free && hashed_last(u, value, n))
		return 0;
	uint64_t hash = hash_of(u, value, n);
	size_t k = unique_probe(u, hash, (size_t)hash);
	if (u->slot[k].id == 0)
		u->free = hashed_last(u, value, n);
	for (; u->slot[k].id != 0; k = unique_probe(u, hash, k + 1)) {
		bool same = false;
		int rc = u->slot[k].id > 0 ? unique_confirm(r, u, u->slot[k].id, value, n, &same) : 0;
		if (rc)
			return rc;
		if (same) {
			*other = u->slot[k].id;
			return 0;
		}
	}
	return 0;
}

int import_unique_stored(wg_req *r, const char *value, size_t n, int64_t id)
{
	struct import_unique *u = r->import->unique;
	uint64_t hash = hash_of(u, value, n);
	u->free = false;
	return unique_put(u, hash, id, &u->row_slot);
}

void import_unique_row_begins(struct wg_import *im)
{
	if (im->unique) {
		im->unique->row_slot = im->unique->cap;
		im->unique->free = false;
	}
}

void import_unique_row_undone(struct wg_import *im)
{
	struct import_unique *u = im->unique;
	if (u && u->row_slot < u->cap)
		u->slot[u->row_slot].id = -1;  /* still probed past: what follows it stays found */
	if (u) {
		u->row_slot = u->cap;
		u->free = false;
	}
}
