/* What an import remembers while it runs: the records it created (with
 * their file rows), lookups made once for many rows, and what hooks
 * created along the way. With no import in progress nothing is remembered. */
#include "core/resource/resource_int.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"

#include <stdint.h>
#include <string.h>

/* ---- import ---- */

int import_remember(struct wg_import *im, int64_t id, uint32_t row)
{
	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 4096;
		int64_t *ids = wg_realloc(im->ids, cap * sizeof *ids);
		if (!ids)
			return WG_ERR_NOMEM;
		im->ids = ids;
		uint32_t *rows = wg_realloc(im->rows, cap * sizeof *rows);
		if (!rows)
			return WG_ERR_NOMEM;
		im->rows = rows;
		im->cap = cap;
	}
	im->ids[im->n] = id;
	im->rows[im->n++] = row;
	return 0;
}

uint32_t import_row_of(const wg_req *r, int64_t id)
{
	const struct wg_import *im = r->import;
	if (!im)
		return 0;
	size_t lo = 0, hi = im->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (im->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < im->n && im->ids[lo] == id ? im->rows[lo] : 0;
}

/* Open addressing on (slot, key); at most half full, then emptied. */

struct wg_import_memo {
	uint64_t hash;
	char *key, *text;
	int64_t value;
	const char *slot;
};

static uint64_t memo_hash(const char *slot, const char *key)
{
	/* Slots are static strings: their address tells them apart. */
	uint64_t h = 1469598103934665603u ^ (uint64_t)(uintptr_t)slot;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211u;
	return h ? h : 1;
}

static struct wg_import_memo *memo_find(struct wg_import *im, const char *slot, const char *key, uint64_t h)
{
	for (size_t i = h % WG_IMPORT_MEMO_SIZE;; i = (i + 1) % WG_IMPORT_MEMO_SIZE) {
		struct wg_import_memo *m = &im->memo[i];
		if (!m->hash || (m->hash == h && m->slot == slot && strcmp(m->key, key) == 0))
			return m;
	}
}

/* A roster's rows come family by family and grid by grid: most lookups ask
 * what the row before asked for the same slot, answered without hashing. */
static struct wg_import_memo *recent_find(const struct wg_import *im, const char *slot, const char *key)
{
	for (size_t i = 0; i < WG_IMPORT_MEMO_RECENT; i++) {
		struct wg_import_memo *m = im->recent[i];
		if (m && m->slot == slot)
			return strcmp(m->key, key) == 0 ? m : NULL;
	}
	return NULL;
}

static void recent_keep(struct wg_import *im, struct wg_import_memo *m)
{
	size_t i = 0;
	while (i < WG_IMPORT_MEMO_RECENT && im->recent[i] && im->recent[i]->slot != m->slot)
		i++;
	if (i == WG_IMPORT_MEMO_RECENT)
		i = im->recent_next++ % WG_IMPORT_MEMO_RECENT;
	im->recent[i] = m;
}

void import_memo_forget(wg_req *r)
{
	struct wg_import *im = r->import;
	if (!im || !im->memo)
		return;
	memset(im->recent, 0, sizeof im->recent);
	for (size_t i = 0; i < WG_IMPORT_MEMO_SIZE; i++) {
		wg_free(im->memo[i].key);
		wg_free(im->memo[i].text);
	}
	memset(im->memo, 0, WG_IMPORT_MEMO_SIZE * sizeof *im->memo);
	im->memo_used = 0;
	im->memo_forgotten++;
}

bool import_memo_full(const wg_req *r, size_t n)
{
	const struct wg_import *im = r->import;
	return im && im->memo && im->memo_used + n >= WG_IMPORT_MEMO_SIZE / 2;
}

void import_memo_reserve(wg_req *r, size_t n)
{
	if (import_memo_full(r, n))
		import_memo_forget(r);
}

bool import_memo_get(wg_req *r, const char *slot, const char *key, int64_t *value, const char **text)
{
	struct wg_import *im = r->import;
	if (!im || !im->memo)
		return false;
	struct wg_import_memo *m = recent_find(im, slot, key);
	if (!m) {
		m = memo_find(im, slot, key, memo_hash(slot, key));
		if (!m->hash)
			return false;
		recent_keep(im, m);
	}
	*value = m->value;
	if (text)
		*text = m->text ? m->text : "";
	return true;
}


void import_memo_set(wg_req *r, const char *slot, const char *key, int64_t value, const char *text)
{
	struct wg_import *im = r->import;
	if (!im)
		return;
	if (!im->memo && !(im->memo = wg_calloc(WG_IMPORT_MEMO_SIZE, sizeof *im->memo)))
		return;  /* only slower */
	if (im->memo_used >= WG_IMPORT_MEMO_SIZE / 2)
		import_memo_forget(r);
	uint64_t h = memo_hash(slot, key);
	struct wg_import_memo *m = memo_find(im, slot, key, h);
	if (m->hash)
		return;
	char *k = wg_strdup(key), *t = text ? wg_strdup(text) : NULL;
	if (!k || (text && !t)) {
		wg_free(k);
		wg_free(t);
		return;
	}
	*m = (struct wg_import_memo){ h, k, t, value, slot };
	im->memo_used++;
	recent_keep(im, m);
}

void import_count_extra(wg_req *r, const char *resource)
{
	if (!r->import)
		return;
	r->import->extra_name = resource;
	r->import->extra_created++;
}

void import_release(wg_req *r, struct wg_import *im)
{
	import_memo_forget(r);
	json_decref(im->spare_row);
	json_decref(im->aside);
	wg_free(im->memo);
	wg_free(im->ids);
	wg_free(im->rows);
	for (size_t i = 0; i < WG_INSERT_SHAPES; i++) {
		wg_free(im->insert[i].sql);
		wg_free(im->insert[i].columns);
	}
	import_batch_release(im);
	arena_release(&im->row_arena);
	memset(im, 0, sizeof *im);
}

bool import_in_progress(const wg_req *r)
{
	return r->import != NULL;
}

bool import_updating(const wg_req *r)
{
	return r->import && r->import->updating;
}

void import_mark_row(wg_req *r)
{
	if (r->import)
		r->import->row_marked = true;
}

bool import_row_is_marked(const wg_req *r)
{
	return r->import && r->import->row_marked;
}
