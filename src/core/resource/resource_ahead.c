/* An import's row checked ahead: on the reading thread, each settable
 * member checked as resource_validate() would (made canonical), each
 * secret sealed, and the row flattened into one block; on the import's
 * thread, the row's object made again from the block, its checks noted by
 * field and value (resource_int.h says why a block and not the object). */
#include "core/resource/resource_int.h"
#include "core/lib/mem.h"

#include <stddef.h>
#include <string.h>

/* Appends n bytes (and a NUL) to the block's text; false when they do not fit. */
static bool flat_put(struct wg_row_flat *flat, const char *s, size_t n, uint32_t *at)
{
	if (n >= WG_FLAT_TEXT - flat->used)
		return false;
	*at = (uint32_t)flat->used;
	memcpy(flat->text + flat->used, s, n);
	flat->text[flat->used + n] = '\0';
	flat->used += n + 1;
	return true;
}

/* A tag set's entries, each ended by NUL; false for anything but texts. */
static bool flat_tags(struct wg_row_flat *flat, json_t *v, struct wg_flat_member *m)
{
	size_t i;
	json_t *e;
	m->at = (uint32_t)flat->used;
	json_array_foreach(v, i, e) {
		uint32_t at;
		if (!json_is_string(e) || memchr(json_string_value(e), '\0', json_string_length(e)) ||
		    !flat_put(flat, json_string_value(e), json_string_length(e), &at))
			return false;
	}
	m->len = (uint32_t)(flat->used - m->at);
	m->kind = FLAT_TAGS;
	return true;
}

/* The member's value into the block; false when it has no flat form. */
static bool flat_value(struct wg_row_flat *flat, json_t *v, struct wg_flat_member *m)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
		m->kind = FLAT_NULL;
		return true;
	case JSON_TRUE:
		m->kind = FLAT_TRUE;
		return true;
	case JSON_FALSE:
		m->kind = FLAT_FALSE;
		return true;
	case JSON_INTEGER:
		m->kind = FLAT_INT;
		m->integer = json_integer_value(v);
		return true;
	case JSON_STRING:
		m->kind = FLAT_TEXT;
		m->len = (uint32_t)json_string_length(v);
		return flat_put(flat, json_string_value(v), json_string_length(v), &m->at);
	case JSON_ARRAY:
		return flat_tags(flat, v, m);
	default:
		return false;
	}
}

/* A secret's ciphertext and blind index, made ahead; false leaves it to the insert. */
static bool seal_ahead(const struct wg_keys *k, const struct wg_field *f, json_t *v, struct wg_row_flat *flat)
{
	if (flat->nsealed == WG_AHEAD_SECRETS)
		return false;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	wg_buf enc = WG_BUF_INIT(WG_AHEAD_SEALED);
	bool sealed = crypt_encrypt(k, f->name, s, n, &enc) == 0 && enc.len < WG_AHEAD_SEALED;
	if (sealed) {
		memcpy(flat->sealed[flat->nsealed].enc, enc.data, enc.len);
		flat->sealed[flat->nsealed].enc[enc.len] = '\0';
		flat->sealed[flat->nsealed].enc_len = enc.len;
		crypt_blind_index(k, f->name, s, n, flat->sealed[flat->nsealed].bidx);
		flat->nsealed++;
	}
	wg_buf_release(&enc);
	return sealed;
}

struct wg_row_flat *resource_prepare_row(wg_req *scratch, const struct wg_resource *res, json_t *row)
{
	struct wg_row_flat *flat = wg_malloc(sizeof *flat);
	if (!flat)
		return NULL;
	/* the members are written as they are used */
	memset(flat, 0, offsetof(struct wg_row_flat, member));
	void *it = json_object_iter(row);
	for (; it; it = json_object_iter_next(row, it)) {
		const char *key = json_object_iter_key(it);
		json_t *v = json_object_iter_value(it);
		const struct wg_field *f = resource_field(res, key);
		if (flat->n == WG_FLAT_MEMBERS)
			goto whole;
		struct wg_flat_member *m = &flat->member[flat->n++];
		*m = (struct wg_flat_member){ .field = f, .sealed = -1, .aside = res->import_aside && !f && key[0] != '_' };
		/* A failure is left for the import to find again, in its own order. */
		if (f && !(f->flags & FF_READONLY) && !resource_validate_value(scratch, res, f, row, key, v)) {
			m->checked = true;
			v = json_object_iter_value(it);  /* canonical now */
			if ((f->flags & FF_SECRET) && json_is_string(v) && seal_ahead(&scratch->app->keys, f, v, flat))
				m->sealed = (int8_t)(flat->nsealed - 1);
		}
		if (scratch->fail.code)  /* nearly a kilobyte: cleared only when written */
			memset(&scratch->fail, 0, sizeof scratch->fail);
		size_t key_len = json_object_iter_key_len(it);
		m->key_len = (uint32_t)key_len;
		if (!flat_put(flat, key, key_len, &m->key) || !flat_value(flat, v, m))
			goto whole;
	}
	return flat;
whole:
	wg_free(flat);
	return NULL;
}

void resource_row_warm(const struct wg_row_flat *flat)
{
	/* What resource_row_from_flat reads of a usual row: the counts, the
	 * first members, the secrets and the start of the text (a few dozen
	 * lines, which would otherwise come over from the other core one by
	 * one as they are read). */
	const char *member = (const char *)flat->member, *sealed = (const char *)flat->sealed;
	__builtin_prefetch(&flat->fail.code);
	__builtin_prefetch(&flat->n);
	for (size_t at = 0; at < 16 * sizeof flat->member[0]; at += 64)
		__builtin_prefetch(member + at);
	for (size_t at = 0; at < 2 * sizeof flat->sealed[0]; at += 64)
		__builtin_prefetch(sealed + at);
	for (size_t at = 0; at < 384; at += 64)
		__builtin_prefetch(flat->text + at);
}

static json_t *flat_json(const struct wg_row_flat *flat, const struct wg_flat_member *m)
{
	switch (m->kind) {
	case FLAT_NULL:
		return json_null();
	case FLAT_TRUE:
		return json_true();
	case FLAT_FALSE:
		return json_false();
	case FLAT_INT:
		return json_integer(m->integer);
	case FLAT_TEXT:  /* the text of a string jansson took, so UTF-8 already */
		return json_stringn_nocheck(flat->text + m->at, m->len);
	default: {
		json_t *a = json_array();
		for (const char *e = flat->text + m->at; a && e < flat->text + m->at + m->len; e += strlen(e) + 1)
			if (json_array_append_new(a, json_string_nocheck(e))) {
				json_decref(a);
				a = NULL;
			}
		return a;
	}
	}
}

/* Whether the member at it of an object has this key. */
static bool key_at(void *it, const char *key, size_t key_len)
{
	return json_object_iter_key_len(it) == key_len && memcmp(json_object_iter_key(it), key, key_len) == 0;
}

/* The block member's value written into v, a value of the same kind only
 * the object holds (a text, an integer); false when it is not one. */
static bool set_in_place(const struct wg_row_flat *flat, const struct wg_flat_member *m, json_t *v)
{
	if (v->refcount != 1)
		return false;
	if (m->kind == FLAT_TEXT && json_is_string(v))
		return json_string_setn_nocheck(v, flat->text + m->at, m->len) == 0;
	return m->kind == FLAT_INT && json_is_integer(v) && json_integer_set(v, m->integer) == 0;
}

void resource_object_drop_from(json_t *o, void *it)
{
	while (it) {
		void *next = json_object_iter_next(o, it);
		json_object_deln(o, json_object_iter_key(it), json_object_iter_key_len(it));
		it = next;
	}
}

int resource_object_put(json_t *o, void **it, const char *key, size_t key_len, json_t *v)
{
	if (*it && key_at(*it, key, key_len)) {
		void *here = *it;
		*it = json_object_iter_next(o, here);
		return json_object_iter_set_new(o, here, v);
	}
	resource_object_drop_from(o, *it);
	*it = NULL;
	return json_object_setn_new_nocheck(o, key, key_len, v);
}

/* Member m of the block into o as resource_object_put puts a value, a text
 * or an integer only the object holds written in place. The value now
 * there, NULL when out of memory. */
static json_t *put_member(json_t *o, void **it, const struct wg_row_flat *flat, const struct wg_flat_member *m)
{
	const char *key = flat->text + m->key;
	if (*it && key_at(*it, key, m->key_len) && set_in_place(flat, m, json_object_iter_value(*it))) {
		json_t *v = json_object_iter_value(*it);
		*it = json_object_iter_next(o, *it);
		return v;
	}
	json_t *v = flat_json(flat, m);
	return v && !resource_object_put(o, it, key, m->key_len, v) ? v : NULL;
}

/* Whether resource_validate_given would check the member's value. */
static bool given_field(const struct wg_flat_member *m)
{
	return m->field && !(m->field->flags & (FF_READONLY | FF_CREATE_ONLY));
}

json_t *resource_row_from_flat(const struct wg_row_flat *flat, struct wg_row_ahead *ahead, json_t *reuse, json_t *aside)
{
	ahead->nchecked = ahead->nsealed = 0;
	ahead->given_checked = true;
	ahead->aside = aside;
	json_t *o = reuse ? reuse : json_object();
	void *it = reuse ? json_object_iter(reuse) : NULL, *beside = aside ? json_object_iter(aside) : NULL;
	for (size_t i = 0; o && i < flat->n; i++) {
		const struct wg_flat_member *m = &flat->member[i];
		json_t *v = m->aside && aside ? put_member(aside, &beside, flat, m) : put_member(o, &it, flat, m);
		if (!v) {
			json_decref(o);
			o = NULL;
			break;
		}
		bool noted = m->checked && ahead->nchecked < WG_AHEAD_VALUES;
		if (noted) {
			ahead->checked[ahead->nchecked].field = m->field;
			ahead->checked[ahead->nchecked++].value = json_incref(v);
		}
		if (!noted && given_field(m))
			ahead->given_checked = false;
		if (m->sealed >= 0) {
			ahead->sealed[ahead->nsealed].field = m->field;
			ahead->sealed[ahead->nsealed].value = json_incref(v);
			ahead->sealed[ahead->nsealed].enc = flat->sealed[m->sealed].enc;
			ahead->sealed[ahead->nsealed].enc_len = flat->sealed[m->sealed].enc_len;
			ahead->sealed[ahead->nsealed++].bidx = flat->sealed[m->sealed].bidx;
		}
	}
	if (aside)
		resource_object_drop_from(aside, beside);
	if (o)
		resource_object_drop_from(o, it);
	else
		resource_row_ahead_release(ahead);
	return o;
}

void resource_row_ahead_release(struct wg_row_ahead *ahead)
{
	for (size_t i = 0; i < ahead->nchecked; i++)
		json_decref(ahead->checked[i].value);
	for (size_t i = 0; i < ahead->nsealed; i++)
		json_decref(ahead->sealed[i].value);
	ahead->nchecked = ahead->nsealed = 0;
	ahead->given_checked = false;
	ahead->aside = NULL;
}
