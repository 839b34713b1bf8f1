/* What both backends share about a connection: its statement cache, its
 * last error, integers from text. */
#include "core/store/store_impl.h"
#include "core/lib/mem.h"

#include <string.h>

int64_t store_parse_int(const char *t)
{
	int64_t v = 0;
	bool neg = *t == '-';
	for (t += neg; *t >= '0' && *t <= '9'; t++)
		v = v * 10 + (*t - '0');
	return neg ? -v : v;
}

uint64_t store_hash_sql(const char *sql)
{
	uint64_t h = 1469598103934665603ull;  /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

struct stmt_cache_entry *store_cache_find_origin(wg_conn *c, const char *sql)
{
	for (size_t i = 0; i < c->cache_len; i++)
		if (c->cache[i].origin == sql && strcmp(c->cache[i].sql, sql) == 0)
			return &c->cache[i];
	return NULL;
}

struct stmt_cache_entry *store_cache_find(wg_conn *c, const char *sql, uint64_t h)
{
	for (size_t i = 0; i < c->cache_len; i++)
		if (c->cache[i].hash == h && strcmp(c->cache[i].sql, sql) == 0) {
			c->cache[i].origin = sql;
			return &c->cache[i];
		}
	return NULL;
}

struct stmt_cache_entry *store_cache_add(wg_conn *c, const char *sql, uint64_t h, void *prepared)
{
	if (c->cache_len == c->cache_cap) {
		size_t cap = c->cache_cap ? c->cache_cap * 2 : 32;
		struct stmt_cache_entry *e = wg_realloc(c->cache, cap * sizeof *e);
		if (!e)
			return NULL;
		c->cache = e;
		c->cache_cap = cap;
	}
	char *copy = wg_strdup(sql);
	if (!copy)
		return NULL;
	struct stmt_cache_entry *e = &c->cache[c->cache_len++];
	*e = (struct stmt_cache_entry){ h, copy, sql, prepared };
	return e;
}

void store_set_error(wg_conn *c, const char *msg)
{
	size_t n = strlen(msg);
	if (n >= sizeof c->last_error)
		n = sizeof c->last_error - 1;
	memcpy(c->last_error, msg, n);
	c->last_error[n] = '\0';
}
